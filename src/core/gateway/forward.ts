/**
 * One request forwarded upstream and its answer streamed back as it arrives: every chunk is
 * written to the caller the moment it comes, and a copy goes through the usage meter. Nothing
 * is held back; only a non-streamed JSON body is also kept whole (bounded) to read its usage.
 */
import { request as httpRequest, Agent as HttpAgent, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import { request as httpsRequest, Agent as HttpsAgent } from 'node:https';
import { usageTap, UsageMeter } from './usage.js';
import { type TokenUsage } from '../model/usage.js';
import type { Vendor } from './vendors.js';

/** Headers that belong to one connection, not to the message (RFC 9110 7.6.1), plus what the gateway sets itself. */
const notForwarded = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authorization',
  'proxy-authenticate',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
  'content-length',
  'accept-encoding',
  'x-api-key',
  'authorization',
  'x-goog-api-key',
]);
const notReturned = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

/** Connections to upstreams are kept and reused: a new TLS handshake per request would cost tens of ms. */
export const upstreamAgents = { http: new HttpAgent({ keepAlive: true, maxSockets: 64 }), https: new HttpsAgent({ keepAlive: true, maxSockets: 64 }) };

export interface ForwardRequest {
  vendor: Vendor;
  /** The upstream URL (base, the path after the vendor prefix, the query). */
  url: URL;
  method: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** The vendor's real key. */
  key: string;
}

export interface ForwardOutcome {
  status: number;
  usage: TokenUsage;
  /** Whether the response reported usage at all. */
  metered: boolean;
  /** The stream broke (caller gone, upstream reset) before it ended. */
  broken: boolean;
}

/**
 * Sends the request upstream with the real key and streams the answer to `response`. Resolves
 * when the answer ended or broke, with what it used. Rejects only when no answer started
 * (upstream unreachable): the caller then sends its own error.
 */
export function forward(request: ForwardRequest, response: ServerResponse, onStarted: () => void): Promise<ForwardOutcome> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value === undefined || notForwarded.has(name)) continue;
    headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  request.vendor.authenticate(headers, request.url, request.key);
  // The meter reads the bytes as they pass; a compressed stream would have to be inflated twice.
  headers['accept-encoding'] = 'identity';
  headers['content-length'] = String(request.body.length);
  const secure = request.url.protocol === 'https:';
  const send = secure ? httpsRequest : httpRequest;

  return new Promise<ForwardOutcome>((resolve, reject) => {
    let answered = false;
    let ended = false;
    const upstream = send(request.url, { method: request.method, headers, agent: secure ? upstreamAgents.https : upstreamAgents.http });
    upstream.on('socket', (socket) => socket.setNoDelay(true));
    upstream.on('error', (error) => {
      if (!answered) reject(error);
    });
    // The caller went away (the CLI was killed): the upstream request is cancelled too.
    response.once('close', () => {
      if (!ended) upstream.destroy();
    });
    upstream.on('response', (answer) => {
      answered = true;
      const status = answer.statusCode ?? 502;
      const returned: Record<string, string | string[]> = {};
      for (const [name, value] of Object.entries(answer.headers)) if (value !== undefined && !notReturned.has(name)) returned[name] = value;
      response.writeHead(status, returned);
      response.flushHeaders();
      const meter = new UsageMeter(request.vendor.name);
      const tap = usageTap(meter, String(answer.headers['content-type'] ?? ''));
      const settle = (broken: boolean) => {
        tap.end();
        resolve({ status, usage: meter.usage, metered: meter.seen, broken });
      };
      answer.on('data', (chunk: Buffer) => {
        response.write(chunk);
        tap.push(chunk);
      });
      answer.on('end', () => {
        ended = true;
        response.end();
        settle(false);
      });
      answer.on('error', () => undefined);
      answer.on('close', () => {
        if (ended) return;
        response.destroy();
        settle(true);
      });
    });
    upstream.end(request.body);
    onStarted();
  });
}
