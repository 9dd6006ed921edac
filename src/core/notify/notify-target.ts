/** Where notifications go and which ones: from a graph's `notify:` or `--notify URL`. */
import { z } from 'zod';
import { notifyEvents, type NotifyTarget } from '../model/notify.js';

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
