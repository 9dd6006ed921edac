/**
 * One request of the agent channel: reading its JSON body within a size limit, and answering
 * in JSON or, for `graft-agent` (which sends `Accept: text/plain` because a POSIX shell cannot
 * parse JSON), in plain text. Errors become statuses by type, never by message text.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ConfigError, GraftError, NotFoundError, SecurityError, UsageError } from '../errors.js';

/** The largest request body accepted, in bytes: a maximal message JSON-escaped fits comfortably. */
export const maxRequestBytes = 128 * 1024;

/** A refusal with its HTTP status; `code` is stable for JSON clients. */
export class ChannelRefusal extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** The HTTP status and code for anything a route throws. Unknown errors are 500: the caller logs them. */
export function refusalOf(error: unknown): ChannelRefusal | undefined {
  if (error instanceof ChannelRefusal) return error;
  if (error instanceof UsageError || error instanceof ConfigError) return new ChannelRefusal(400, error.code, error.message);
  if (error instanceof NotFoundError) return new ChannelRefusal(404, error.code, error.message);
  if (error instanceof SecurityError) return new ChannelRefusal(403, error.code, error.message);
  // Any other refusal from graft (a task not in a state to finish, say) is a conflict with the state.
  if (error instanceof GraftError) return new ChannelRefusal(409, error.code, error.message);
  return undefined;
}

/** Reads the whole body, refusing (413) past `maxRequestBytes` and (415) anything but JSON. Empty is `{}`. */
export async function readJsonBody(request: IncomingMessage): Promise<unknown> {
  const declared = Number(request.headers['content-length'] ?? 0);
  if (declared > maxRequestBytes) throw new ChannelRefusal(413, 'TOO_LARGE', `the request body is ${declared} bytes; the limit is ${maxRequestBytes}`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxRequestBytes) throw new ChannelRefusal(413, 'TOO_LARGE', `the request body is over the limit of ${maxRequestBytes} bytes`);
    chunks.push(chunk);
  }
  if (size === 0) return {};
  const type = String(request.headers['content-type'] ?? '')
    .split(';')[0]!
    .trim()
    .toLowerCase();
  if (type !== 'application/json') throw new ChannelRefusal(415, 'NOT_JSON', `send the body as application/json, not ${type || 'an untyped body'}`);
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new ChannelRefusal(400, 'BAD_JSON', 'the request body is not valid JSON');
  }
}

/** Whether the client asked for plain text (graft-agent does). */
export function wantsText(request: IncomingMessage): boolean {
  return String(request.headers.accept ?? '').includes('text/plain');
}

/** Sends a reply: `json` to JSON clients, `text` (a line or more) to plain-text ones. 204 sends nothing. */
export function reply(response: ServerResponse, text: boolean, status: number, json?: unknown, plain?: string): void {
  if (response.headersSent) return;
  if (status === 204 || json === undefined) {
    response.writeHead(status).end();
    return;
  }
  const body = text ? (plain ?? '') : `${JSON.stringify(json)}\n`;
  response
    .writeHead(status, {
      'content-type': text ? 'text/plain; charset=utf-8' : 'application/json',
      'content-length': Buffer.byteLength(body),
      'cache-control': 'no-store',
    })
    .end(body);
}

/** Sends a refusal: `{ error: { code, message } }`, or the message as a line of text. */
export function replyRefusal(response: ServerResponse, text: boolean, refusal: ChannelRefusal): void {
  reply(response, text, refusal.status, { error: { code: refusal.code, message: refusal.message } }, `${refusal.message}\n`);
}
