/** Where notifications go and which ones: from a graph's `notify:` or `--notify URL`. */
import { z } from 'zod';

export const notifyEvents = ['run.finished', 'run.failed', 'gate.waiting', 'question.asked', 'budget.warning', 'budget.exceeded'] as const;
export type NotifyEvent = (typeof notifyEvents)[number];

export interface NotifyTarget {
  url: string;
  /** Only these (default: every event). */
  events?: NotifyEvent[];
  /** Body format; `auto` is `slack` for Slack incoming-webhook URLs, else `json`. */
  format?: 'auto' | 'json' | 'slack';
}

const webhookUrl = z.url({ protocol: /^https?$/, error: 'expected an http(s) URL of a webhook' });

/** One entry of a graph's `notify:` list: a URL, or { url, events, format }. */
export const notifyTargetSchema = z.union([
  webhookUrl.transform((url): NotifyTarget => ({ url })),
  z.strictObject({
    url: webhookUrl,
    events: z.array(z.enum(notifyEvents, { error: `expected events among ${notifyEvents.join(', ')}` })).optional(),
    format: z.enum(['auto', 'json', 'slack']).optional(),
  }),
]);

/** Slack's incoming webhooks take `{ text }`, with links as `<url|label>`. */
export function isSlackWebhook(target: NotifyTarget): boolean {
  if (target.format === 'slack') return true;
  if (target.format === 'json') return false;
  return new URL(target.url).hostname === 'hooks.slack.com';
}

/** A URL as it may appear in logs: a webhook's path is its secret (Slack's is), so only its origin. */
export function shownUrl(url: string): string {
  return `${new URL(url).origin}/…`;
}
