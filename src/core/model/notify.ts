/** Where notifications go and which ones: from a graph's `notify:` or `--notify URL`. */

export const notifyEvents = ['run.finished', 'run.failed', 'gate.waiting', 'question.asked', 'budget.warning', 'budget.exceeded'] as const;
export type NotifyEvent = (typeof notifyEvents)[number];

export interface NotifyTarget {
  url: string;
  /** Only these (default: every event). */
  events?: NotifyEvent[];
  /** Body format; `auto` is `slack` for Slack incoming-webhook URLs, else `json`. */
  format?: 'auto' | 'json' | 'slack';
}
