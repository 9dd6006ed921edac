/**
 * What runs beside a controller while it drives a run: the session's dashboard (unless turned
 * off) and the notifier of the graph's and the command line's webhooks. Neither may stop the run:
 * a dashboard that cannot start is a warning, a webhook that fails is a warning.
 */
import { SessionFeed } from './session-feed.js';
import type { GraftRuntime } from '../runtime.js';
import { RunStore } from '../state/run-store.js';
import type { SessionRow } from '../state/store.js';
import type { NotifyTarget } from '../model/notify.js';
import { RunNotifier } from './run-notifier.js';
import { WebhookSender } from '../notify/webhook-sender.js';
import { serveDashboard, type ServedDashboard } from './serve-dashboard.js';
import { gatewayUsage } from './dashboard-usage.js';

export interface CompanionOptions {
  /** Serve the dashboard, on `listen` (default loopback, a free port). */
  dashboard: { listen?: string } | false;
  /** Webhooks from the command line, beside the graph's `notify:`. */
  notify: NotifyTarget[];
  approver: string;
}

export interface RunCompanions {
  dashboard?: ServedDashboard;
  /** For the model gateway's budget events (docs/dashboard.md). */
  notifier?: RunNotifier;
  /** Lets the last notifications go out (at most a few seconds), then closes everything. */
  stop(): Promise<void>;
}

const lastDeliveryMs = 10_000;

export async function startCompanions(runtime: GraftRuntime, session: SessionRow, options: CompanionOptions): Promise<RunCompanions> {
  let dashboard: ServedDashboard | undefined;
  if (options.dashboard) {
    try {
      dashboard = await serveDashboard(runtime, session, { listen: options.dashboard.listen, approver: options.approver, writable: true });
    } catch (error) {
      runtime.events.emit({ code: 'warning', level: 'warn', message: `the dashboard did not start: ${(error as Error).message}`, session: session.id });
    }
  }
  const targets = [...(new RunStore(runtime.store).getRun(session.id)?.graph.notify ?? []), ...options.notify];
  let feed: SessionFeed | undefined;
  let notifier: RunNotifier | undefined;
  const sender = new WebhookSender(runtime.events);
  if (targets.length > 0) {
    feed = new SessionFeed({ database: runtime.database, sessionId: session.id, usage: gatewayUsage(runtime.store) }).start();
    notifier = new RunNotifier(session.id, feed, targets, sender, dashboard?.origin);
  }
  return {
    dashboard,
    notifier,
    async stop() {
      // The run's last transitions may be younger than the feed's last poll.
      feed?.poll();
      await sender.flush(lastDeliveryMs);
      notifier?.stop();
      feed?.close();
      await dashboard?.close();
    },
  };
}
