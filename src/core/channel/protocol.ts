/**
 * The agent channel's wire format, version 1 (docs/channel.md): one zod schema per route's
 * JSON body, and the plain-text renderings `graft-agent` prints.
 */
import { z } from 'zod';
import type { StoredMessage } from '../state/message-store.js';
import { ChannelRefusal } from './http-exchange.js';

/**
 * Fields any body may carry to say who it is from. They are never believed: when present they
 * must name the caller's own task or agent, as its certificate says, or the request is refused.
 */
const claimedSender = { from: z.string().optional(), sender: z.string().optional() };
/** Makes a retried post land once (the helper sends one per invocation). */
const clientKey = z.string().optional();

export const requestSchemas = {
  status: z.strictObject({ text: z.string(), ...claimedSender }),
  message: z.strictObject({ to: z.string(), text: z.string(), key: clientKey, ...claimedSender }),
  inbox: z.strictObject({ limit: z.number().int().min(1).max(100).optional(), ...claimedSender }),
  question: z.strictObject({ text: z.string(), key: clientKey, ...claimedSender }),
  finish: z.strictObject({ summary: z.string(), ...claimedSender }),
};

/** Parses a body with a route's schema; every problem is reported at once (400). */
export function parseRequest<T extends z.ZodType>(schema: T, body: unknown): z.infer<T> {
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(body)'}: ${issue.message}`);
  throw new ChannelRefusal(400, 'BAD_REQUEST', `invalid request: ${problems.join('; ')}`);
}

/**
 * Agents' text as stored and shown to humans: C0 and C1 control characters other than newline
 * and tab become U+FFFD, so an agent cannot drive the terminal of whoever reads its messages.
 */
export function inertText(text: string): string {
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, '\ufffd');
}

/** One message as graft-agent prints it: a header line, then the body. */
function renderMessage(message: StoredMessage): string {
  const what = message.kind === 'answer' ? `answer ${message.id} to question ${message.replyTo}` : `message ${message.id}`;
  const to = message.recipient === 'all' ? ' to all' : '';
  return `--- ${what} from ${message.sender}${to} ---\n${message.body}\n`;
}

/** An inbox as graft-agent prints it; empty when there is nothing new. */
export function renderInbox(messages: StoredMessage[], remaining: number): string {
  const more = remaining > 0 ? `(${remaining} more unread: run graft-agent inbox again)\n` : '';
  return messages.map(renderMessage).join('') + more;
}
