/**
 * Mock vendor APIs for the real agent CLIs (claude, codex, gemini) and, later, for graft's model
 * gateway: one HTTP server per vendor on 127.0.0.1 that plays a two-step conversation (a tool
 * call that writes a file in the CLI's working directory, then a final text), records every
 * request without its secrets, and sums the usage it reported. Behaviour: the `*.md` specs beside
 * this file.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { anthropicVendor } from './anthropic.js';
import { geminiVendor } from './gemini.js';
import { openaiVendor } from './openai.js';

export type VendorKind = 'anthropic' | 'openai' | 'gemini';
export type Answer = 'tool-call' | 'final' | 'text' | 'other' | 'error';

/** One request as the mock saw it; credentials only as a digest (see `keyDigest`). */
export interface RecordedRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  /** Query parameters, `key` removed. */
  query: Record<string, string>;
  /** Headers, credential headers removed. */
  headers: Record<string, string>;
  /** The model the request names (body `model`, or Gemini's path), if any. */
  model?: string;
  /** sha256 of the API key the request carried (x-api-key, Bearer, x-goog-api-key or ?key=), if any. */
  keyDigest?: string;
  /** The parsed JSON body, if it was JSON. */
  body?: unknown;
  /**
   * What the mock answered: `tool-call` (turn 1), `final` (the text after the tool's result),
   * `text` (a model request that is neither, e.g. a title or a router's question: text, with
   * usage), `other` (no model output, no usage: probes, token counts, model lists), `error`.
   */
  answer: Answer;
  /** Usage the answer reported, normalised (absent when it reported none). */
  usage?: Usage;
}

/**
 * Token counts, normalised across vendors: `inputTokens` are input tokens neither read from nor
 * written to a cache; `cacheReadTokens` and `cacheWriteTokens` are kept apart.
 */
export interface Usage {
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
}

/** What the tool call of the first turn writes, relative to the CLI's working directory. */
export interface FileToWrite {
  path: string;
  content: string;
}

export interface MockVendorOptions {
  /** Default: `MOCK-<kind>.md` with a line naming the vendor. */
  file?: FileToWrite;
  /** The final turn's text. */
  finalText?: string;
}

export interface MockVendor {
  kind: VendorKind;
  /** The server's root, `http://127.0.0.1:PORT`. */
  url: string;
  /**
   * The API base URL as the vendor's clients write it: the root for Anthropic and Gemini
   * (`https://api.anthropic.com`), with `/v1` for OpenAI (`https://api.openai.com/v1`). What a CLI,
   * or a gateway's upstream, is pointed at.
   */
  baseUrl: string;
  file: FileToWrite;
  requests: RecordedRequest[];
  /** Sums over every answer that reported usage, and how many did. */
  usage(): Usage & { requests: number };
  close(): Promise<void>;
}

/** The conversation a vendor module plays; it sees each request and answers it. */
export interface VendorHandler {
  handle(request: ParsedRequest, reply: Reply): void;
}

export interface ParsedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: unknown;
}

/** How a handler answers; it records the answer kind and usage with the request. */
export interface Reply {
  json(status: number, body: unknown, answer: Answer, usage?: Usage): void;
  /** Server-sent events, written one by one as the real APIs stream them. */
  sse(events: { event?: string; data: unknown }[], answer: Answer, usage: Usage): void;
  empty(status: number): void;
}

/** The script every vendor plays, in its own wire format. */
export interface Script {
  file: FileToWrite;
  finalText: string;
  /** The shell command the tool call runs: writes the file, relative to the CLI's cwd. */
  command: string;
}

/** sha256 hex of an API key, as recorded in `RecordedRequest.keyDigest`. */
export function keyDigest(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

const credentialHeaders = new Set(['x-api-key', 'authorization', 'x-goog-api-key', 'cookie']);

/** Starts the mock of one vendor on 127.0.0.1 and a free port. */
export async function startMockVendor(kind: VendorKind, options: MockVendorOptions = {}): Promise<MockVendor> {
  const file = options.file ?? { path: `MOCK-${kind}.md`, content: `written by the ${kind} mock's tool call` };
  const script: Script = { file, finalText: options.finalText ?? `Done: wrote ${file.path}.`, command: writeCommand(file) };
  const handler = { anthropic: anthropicVendor, openai: openaiVendor, gemini: geminiVendor }[kind](script);
  const requests: RecordedRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://mock');
      const body = parseBody(Buffer.concat(chunks), req.headers['content-encoding']);
      const record: RecordedRequest = {
        method: req.method ?? '',
        path: url.pathname,
        query: withoutKey(url.searchParams),
        headers: withoutCredentials(req.headers),
        answer: 'error',
      };
      const key = apiKeyOf(req, url.searchParams);
      if (key) record.keyDigest = keyDigest(key);
      if (body !== undefined) record.body = body;
      const model = modelOf(url.pathname, body);
      if (model) record.model = model;
      requests.push(record);
      handler.handle({ method: record.method, path: url.pathname, query: url.searchParams, headers: req.headers, body }, replier(res, record));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    kind,
    url: `http://127.0.0.1:${port}`,
    baseUrl: `http://127.0.0.1:${port}${kind === 'openai' ? '/v1' : ''}`,
    file,
    requests,
    usage: () => sumUsage(requests),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A POSIX sh command that writes the file; single quotes keep its content literal. */
function writeCommand(file: FileToWrite): string {
  const quote = (text: string) => `'${text.replaceAll("'", `'\\''`)}'`;
  return `printf '%s\\n' ${quote(file.content)} > ${quote(file.path)}`;
}

function replier(res: ServerResponse, record: RecordedRequest): Reply {
  return {
    json(status, body, answer, usage) {
      record.answer = answer;
      if (usage) record.usage = usage;
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    },
    sse(events, answer, usage) {
      record.answer = answer;
      record.usage = usage;
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
      for (const e of events) res.write(`${e.event ? `event: ${e.event}\n` : ''}data: ${JSON.stringify(e.data)}\n\n`);
      res.end();
    },
    empty(status) {
      record.answer = 'other';
      res.writeHead(status);
      res.end();
    },
  };
}

function parseBody(raw: Buffer, encoding: string | undefined): unknown {
  if (raw.length === 0) return undefined;
  // The CLIs send plain or gzip bodies (Node 20 has no zstd); anything else is kept as text.
  const text = (encoding === 'gzip' ? gunzipSync(raw) : raw).toString('utf8');
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function apiKeyOf(req: IncomingMessage, query: URLSearchParams): string | undefined {
  const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
  const header = req.headers['x-api-key'] ?? req.headers['x-goog-api-key'];
  return (typeof header === 'string' && header) || bearer || query.get('key') || undefined;
}

function withoutCredentials(headers: IncomingMessage['headers']): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers))
    if (!credentialHeaders.has(name) && value !== undefined) kept[name] = Array.isArray(value) ? value.join(', ') : value;
  return kept;
}

function withoutKey(query: URLSearchParams): Record<string, string> {
  return Object.fromEntries([...query].filter(([name]) => name !== 'key'));
}

function modelOf(path: string, body: unknown): string | undefined {
  const fromPath = /\/models\/([^/:]+):/.exec(path)?.[1];
  if (fromPath) return decodeURIComponent(fromPath);
  const model = (body as { model?: unknown } | undefined)?.model;
  return typeof model === 'string' ? model : undefined;
}

function sumUsage(requests: RecordedRequest[]): Usage & { requests: number } {
  const total = { requests: 0, inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0 };
  for (const { usage } of requests) {
    if (!usage) continue;
    total.requests += 1;
    total.inputTokens += usage.inputTokens;
    total.outputTokens += usage.outputTokens;
    total.cacheReadTokens += usage.cacheReadTokens;
    total.cacheWriteTokens += usage.cacheWriteTokens;
  }
  return total;
}

/** Whether a request's tool list declares `name` (each vendor lists tools in its own shape). */
export function declaresTool(tools: unknown, name: string): boolean {
  return JSON.stringify(tools ?? []).includes(`"name":"${name}"`);
}
