/**
 * Delivers notifications to webhooks without ever holding the run up: each is posted in the
 * background with a timeout per try and a few retries with growing pauses; one that still fails
 * is reported as a `notify.failed` warning and dropped. `flush` lets a finishing run give the
 * last ones (run finished) a bounded moment to go out before the process exits.
 */
import type { EventSink } from '../events.js';
import { isSlackWebhook, shownUrl } from './notify-target.js';
import { type NotifyEvent, type NotifyTarget } from '../model/notify.js';

/** What a webhook receives (as JSON; Slack webhooks get `{ text }` made from it). */
export interface Notification {
  event: NotifyEvent;
  session: string;
  /** One line for people. */
  text: string;
  task?: string;
  question?: number;
  /** The dashboard item, when a dashboard serves the session. */
  link?: string;
  time: string;
  data?: Record<string, unknown>;
}

export interface DeliveryOptions {
  timeoutMs?: number;
  /** Tries after the first. */
  retries?: number;
  backoffMs?: number;
}

export class WebhookSender {
  private readonly inflight = new Set<Promise<void>>();
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly backoffMs: number;

  constructor(
    private readonly events: EventSink,
    options: DeliveryOptions = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? 5_000;
    this.retries = options.retries ?? 3;
    this.backoffMs = options.backoffMs ?? 1_000;
  }

  /** Queues `notification` for every target that wants its event; returns at once. */
  send(targets: NotifyTarget[], notification: Notification): void {
    for (const target of targets) {
      if (target.events && !target.events.includes(notification.event)) continue;
      const delivery = this.deliver(target, notification).finally(() => this.inflight.delete(delivery));
      this.inflight.add(delivery);
    }
  }

  /** Waits for deliveries under way, at most `ms`. */
  async flush(ms: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled([...this.inflight]), new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
    clearTimeout(timer);
  }

  private async deliver(target: NotifyTarget, notification: Notification): Promise<void> {
    const body = JSON.stringify(isSlackWebhook(target) ? slackBody(notification) : notification);
    let last = '';
    for (let attempt = 0; attempt <= this.retries; attempt++) {
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, this.backoffMs * 2 ** (attempt - 1)));
      try {
        const response = await fetch(target.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'user-agent': 'graft' },
          body,
          signal: AbortSignal.timeout(this.timeoutMs),
          redirect: 'error',
        });
        await response.arrayBuffer().catch(() => undefined);
        if (response.ok) return;
        last = `HTTP ${response.status}`;
        // A client error other than throttling will not go away by asking again.
        if (response.status < 500 && response.status !== 429) break;
      } catch (error) {
        last =
          (error as Error).name === 'TimeoutError'
            ? `no answer in ${this.timeoutMs} ms`
            : ((error as Error & { cause?: Error }).cause?.message ?? (error as Error).message);
      }
    }
    this.events.emit({
      code: 'notify.failed',
      level: 'warn',
      message: `notification ${notification.event} to ${shownUrl(target.url)} failed: ${last}`,
      session: notification.session,
      data: { event: notification.event },
    });
  }
}

function slackBody(n: Notification): { text: string } {
  const escape = (s: string) => s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
  return { text: `graft ${n.session}: ${escape(n.text)}${n.link ? ` <${n.link}|open in the dashboard>` : ''}` };
}
