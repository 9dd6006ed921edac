import { logUpdateStderr } from 'log-update';
import type { EventBus, GraftEvent } from '../core/events.js';
import type { TaskRecord } from '../core/model/task.js';
import { formatUsd } from '../core/gateway/money.js';
import type { CostTotals } from '../core/gateway/cost-report.js';
import { costCell } from './cost-rows.js';
import { renderTable } from './table.js';

interface TaskView {
  state: string;
  host?: string;
  attempt: number;
  startedAt?: string;
  endedAt?: string;
}

/**
 * The live view of a run on a terminal: one line per task (state, host, attempt, elapsed),
 * a summary line and the latest warnings, redrawn in place on stderr four times a second.
 * Not used when stderr is not a terminal: the event lines are the progress there.
 */
export class LiveProgress {
  private readonly tasks = new Map<string, TaskView>();
  private readonly warnings: string[] = [];
  /** Dollars per task from the gateway's usage events (null: a model without a price). */
  private readonly costs = new Map<string, { usd: number; unknown: boolean }>();
  private readonly started = Date.now();
  private readonly timer: NodeJS.Timeout;
  private readonly unsubscribe: () => void;

  constructor(events: EventBus, initial: TaskRecord[] = []) {
    for (const t of initial) this.tasks.set(t.name, { state: t.state, host: t.host, attempt: t.attempt, startedAt: t.startedAt, endedAt: t.endedAt });
    this.unsubscribe = events.on((event) => this.hear(event));
    this.timer = setInterval(() => this.draw(), 250);
  }

  private hear(event: GraftEvent): void {
    if (event.code === 'task.changed' && event.data) {
      const d = event.data as unknown as TaskView & { task: string };
      this.tasks.set(d.task, { state: d.state, host: d.host, attempt: d.attempt, startedAt: d.startedAt, endedAt: d.endedAt });
    } else if (event.code === 'gateway.usage' && event.data) {
      const d = event.data as { task: string; costUsd: number | null };
      const cost = this.costs.get(d.task) ?? { usd: 0, unknown: false };
      this.costs.set(d.task, d.costUsd === null ? { ...cost, unknown: true } : { ...cost, usd: cost.usd + d.costUsd });
    }
    if (event.code !== 'task.changed' && (event.level === 'warn' || event.level === 'error')) {
      this.warnings.push(event.message);
    }
  }

  private draw(): void {
    const now = Date.now();
    const cost = (name: string) => {
      const c = this.costs.get(name);
      return !c ? '-' : c.unknown ? (c.usd > 0 ? `${formatUsd(c.usd)} + unknown` : 'unknown') : formatUsd(c.usd);
    };
    const rows = [...this.tasks].map(([name, t]) => [name, t.state, t.host ?? '-', String(t.attempt || '-'), elapsed(t, now), cost(name)]);
    const counts = new Map<string, number>();
    for (const t of this.tasks.values()) counts.set(t.state, (counts.get(t.state) ?? 0) + 1);
    const summary = [...counts].map(([state, n]) => `${n} ${state}`).join(' · ');
    const lines = [renderTable(['TASK', 'STATE', 'HOST', 'ATTEMPT', 'ELAPSED', 'COST'], rows), '', `${summary} — ${Math.round((now - this.started) / 1000)} s`];
    for (const w of this.warnings.slice(-3)) lines.push(`warning: ${w}`);
    logUpdateStderr(lines.join('\n'));
  }

  stop(): void {
    clearInterval(this.timer);
    this.unsubscribe();
    this.draw();
    logUpdateStderr.done();
  }
}

function elapsed(t: TaskView, now: number): string {
  if (!t.startedAt) return '-';
  const end =
    t.endedAt && (t.state === 'succeeded' || t.state === 'failed' || t.state === 'cancelled' || t.state === 'awaiting-result-approval')
      ? Date.parse(t.endedAt)
      : now;
  return `${Math.max(0, Math.round((end - Date.parse(t.startedAt)) / 100) / 10)} s`;
}

/** The table printed when a run ends (or is shown by `graft status`), with each task's model cost. */
export function renderTaskTable(tasks: TaskRecord[], costs: Map<string, CostTotals> = new Map(), now = Date.now()): string {
  return renderTable(
    ['TASK', 'STATE', 'HOST', 'ATTEMPT', 'DURATION', 'COST', 'BRANCH'],
    tasks.map((t) => [
      t.name,
      t.reason ? `${t.state} (${t.reason})` : t.state,
      t.host ?? '-',
      String(t.attempt || '-'),
      elapsed(t, now),
      costCell(costs.get(t.name)),
      t.branch ?? '-',
    ]),
  );
}
