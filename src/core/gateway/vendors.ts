/**
 * The three vendor APIs the gateway speaks, and what differs between them: where a request
 * names its model, which header carries the caller's key, how the real key is sent upstream,
 * which requests are metered, and how an error looks to that vendor's CLI.
 */
import type { HarnessName } from '../model/graph.js';
import type { VendorName } from '../model/usage.js';

export const vendorNames: readonly VendorName[] = ['anthropic', 'openai', 'gemini'];

/** Why the gateway refused a request; each becomes a vendor-shaped error. */
export type RefusalKind = 'unauthenticated' | 'forbidden-model' | 'budget-exceeded' | 'no-vendor-key' | 'bad-request' | 'upstream-unreachable';

export interface Vendor {
  name: VendorName;
  /** The public API, in the form its SDKs take as a base URL. */
  defaultUpstream: string;
  /** The environment variable that replaces `defaultUpstream`. */
  upstreamEnv: string;
  /** Secret names that hold this vendor's key, in order of preference. */
  keyNames: readonly string[];
  /** The key or token the caller sent (its gateway token), or undefined. */
  callerKey(headers: Record<string, string | string[] | undefined>, url: URL): string | undefined;
  /** Headers (and query changes) that authenticate the forwarded request with the real key. */
  authenticate(headers: Record<string, string>, url: URL, key: string): void;
  /** The model a request asks for: from its JSON body, or (Gemini) its path. */
  model(path: string, body: unknown): string | undefined;
  /** Whether a request generates tokens (and so is metered and counted against budgets). */
  metered(method: string, path: string): boolean;
  /** A JSON error body and status as this vendor would send it, so its CLI shows the message. */
  error(kind: RefusalKind, message: string): { status: number; body: unknown };
}

const header = (headers: Record<string, string | string[] | undefined>, name: string): string | undefined => {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
};
const bearer = (headers: Record<string, string | string[] | undefined>) => /^Bearer\s+(\S+)$/i.exec(header(headers, 'authorization') ?? '')?.[1];
const bodyModel = (body: unknown) => {
  const model = body && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>).model : undefined;
  return typeof model === 'string' ? model : undefined;
};

const statusOf: Record<RefusalKind, number> = {
  unauthenticated: 401,
  'forbidden-model': 403,
  // 403, not 429: the CLIs retry a 429 with backoff, and a spent budget does not come back.
  'budget-exceeded': 403,
  'no-vendor-key': 403,
  'bad-request': 400,
  'upstream-unreachable': 502,
};

const anthropic: Vendor = {
  name: 'anthropic',
  defaultUpstream: 'https://api.anthropic.com',
  upstreamEnv: 'GRAFT_ANTHROPIC_BASE_URL',
  keyNames: ['ANTHROPIC_API_KEY'],
  callerKey: (headers) => header(headers, 'x-api-key') ?? bearer(headers),
  authenticate: (headers, _url, key) => {
    headers['x-api-key'] = key;
  },
  model: (_path, body) => bodyModel(body),
  metered: (method, path) => method === 'POST' && /^\/v1\/messages\/?$/.test(path),
  error: (kind, message) => {
    const type =
      { unauthenticated: 'authentication_error', 'bad-request': 'invalid_request_error', 'upstream-unreachable': 'api_error' }[kind as string] ??
      'permission_error';
    return { status: statusOf[kind], body: { type: 'error', error: { type, message } } };
  },
};

const openai: Vendor = {
  name: 'openai',
  defaultUpstream: 'https://api.openai.com/v1',
  upstreamEnv: 'GRAFT_OPENAI_BASE_URL',
  keyNames: ['OPENAI_API_KEY', 'CODEX_API_KEY'],
  callerKey: (headers) => bearer(headers),
  authenticate: (headers, _url, key) => {
    headers.authorization = `Bearer ${key}`;
  },
  model: (_path, body) => bodyModel(body),
  metered: (method, path) => method === 'POST' && /^\/(responses|chat\/completions)\/?$/.test(path),
  error: (kind, message) => ({
    status: statusOf[kind],
    body: {
      error: {
        message,
        type: kind === 'unauthenticated' ? 'invalid_request_error' : kind === 'upstream-unreachable' ? 'server_error' : 'invalid_request_error',
        param: null,
        code: kind.replaceAll('-', '_'),
      },
    },
  }),
};

const geminiStatus: Record<number, string> = { 400: 'INVALID_ARGUMENT', 401: 'UNAUTHENTICATED', 403: 'PERMISSION_DENIED', 502: 'UNAVAILABLE' };
const gemini: Vendor = {
  name: 'gemini',
  defaultUpstream: 'https://generativelanguage.googleapis.com',
  upstreamEnv: 'GRAFT_GEMINI_BASE_URL',
  keyNames: ['GEMINI_API_KEY', 'GOOGLE_API_KEY'],
  callerKey: (headers, url) => header(headers, 'x-goog-api-key') ?? url.searchParams.get('key') ?? bearer(headers),
  authenticate: (headers, url, key) => {
    url.searchParams.delete('key');
    headers['x-goog-api-key'] = key;
  },
  // /v1beta/models/gemini-2.5-pro:streamGenerateContent (also tunedModels/...).
  model: (path) => /^\/v1[a-z0-9]*\/(?:models|tunedModels)\/([^/:]+):/.exec(path)?.[1],
  metered: (method, path) => method === 'POST' && /:(generateContent|streamGenerateContent)$/.test(path),
  error: (kind, message) => {
    const status = statusOf[kind];
    return { status, body: { error: { code: status, message, status: geminiStatus[status] ?? 'FAILED_PRECONDITION' } } };
  },
};

export const vendors: Record<VendorName, Vendor> = { anthropic, openai, gemini };

/** Which vendor an LLM harness's CLI calls; undefined for `shell`. */
export function vendorOfHarness(harness: HarnessName): VendorName | undefined {
  return harness === 'claude' ? 'anthropic' : harness === 'codex' ? 'openai' : harness === 'gemini' ? 'gemini' : undefined;
}
