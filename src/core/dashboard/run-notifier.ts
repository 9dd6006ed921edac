/**
 * Turns what happens in a run into notifications: the run finished or failed, a task waits at a
 * gate, an agent asked the humans something. It listens to the session's feed (the state store),
 * so it hears changes made by any process. What was already so when it started (a gate waiting
 * before `graft resume`) is not announced again.
 *
 * Budgets: the feed's cost (the model gateway's metering against the graph's budget) is heard
 * too; crossing 80% of the budget notifies `budget.warning` once, going over it `budget.exceeded`
 * once. A budget raised by `graft extend --budget` is a new budget: its crossings are announced
 * again. A crossing that had already happened when the notifier started is not.
 */
import type { SessionCost } from './dashboard-view.js';
import type { FeedChange, SessionFeed } from './session-feed.js';
import type { NotifyTarget } from '../model/notify.js';
import type { Notification, WebhookSender } from '../notify/webhook-sender.js';

export class RunNotifier {
  private readonly unsubscribe: () => void;
  private readonly seenQuestions = new Set<number>();
  /** Per budget (in USD), the furthest it has been announced: a new budget starts at nothing. */
  private budgetSeen: { budgetUsd?: number; level: BudgetLevel } = { level: 'under' };

  constructor(
    private readonly sessionId: string,
    feed: SessionFeed,
    private readonly targets: NotifyTarget[],
    private readonly sender: WebhookSender,
    /** The dashboard's origin, for links to the item (`#task=NAME`). */
    private readonly dashboard?: string,
  ) {
    const snapshot = feed.snapshot(false);
    for (const entry of snapshot.inbox) if (entry.kind === 'question') this.seenQuestions.add(entry.id);
    if (snapshot.cost) this.budgetSeen = { budgetUsd: snapshot.cost.budgetUsd, level: budgetLevel(snapshot.cost) };
    this.unsubscribe = feed.subscribe((change) => this.hear(change));
  }

  /** For the model gateway: the session's spend crossed 80% of its budget (`warning`) or went over it (`exceeded`). */
  budget(kind: 'warning' | 'exceeded', spentUsd: number, budgetUsd: number): void {
    const text =
      kind === 'warning'
        ? `spend $${spentUsd.toFixed(2)} is over 80% of the budget $${budgetUsd.toFixed(2)}`
        : `spend $${spentUsd.toFixed(2)} exceeded the budget $${budgetUsd.toFixed(2)}`;
    this.emit({ event: kind === 'warning' ? 'budget.warning' : 'budget.exceeded', text, link: this.link(), data: { spentUsd, budgetUsd } });
  }

  stop(): void {
    this.unsubscribe();
  }

  private hear(change: FeedChange): void {
    if (change.kind === 'tasks') {
      for (const task of change.tasks) {
        const before = change.previous.get(task.name);
        if (task.waiting && before && before.waiting !== task.waiting) {
          const what = task.waiting === 'before' ? 'waits for approval to start' : 'finished and waits for approval of its result';
          this.emit({
            event: 'gate.waiting',
            task: task.name,
            text: `${task.name} ${what}`,
            link: this.link(`task=${encodeURIComponent(task.name)}`),
            data: { gate: task.waiting },
          });
        }
      }
    } else if (change.kind === 'run') {
      const { status } = change.run;
      if (status !== change.previous.status && (status === 'succeeded' || status === 'failed')) {
        this.emit({ event: status === 'succeeded' ? 'run.finished' : 'run.failed', text: `run ${status}`, link: this.link(), data: { status } });
      }
    } else if (change.kind === 'cost') {
      this.hearCost(change.cost);
    } else if (change.kind === 'inbox') {
      for (const entry of change.inbox) {
        if (entry.kind !== 'question' || this.seenQuestions.has(entry.id)) continue;
        this.seenQuestions.add(entry.id);
        if (entry.answer) continue;
        this.emit({
          event: 'question.asked',
          task: entry.sender,
          question: entry.id,
          text: `${entry.sender} asks: ${entry.body.slice(0, 300)}`,
          link: this.link(`task=${encodeURIComponent(entry.sender)}&question=${entry.id}`),
        });
      }
    }
  }

  private hearCost(cost: SessionCost): void {
    const level = budgetLevel(cost);
    const seen = this.budgetSeen.budgetUsd === cost.budgetUsd ? this.budgetSeen.level : 'under';
    this.budgetSeen = { budgetUsd: cost.budgetUsd, level: levels.indexOf(level) > levels.indexOf(seen) ? level : seen };
    if (cost.budgetUsd === undefined || cost.spentUsd === null || levels.indexOf(level) <= levels.indexOf(seen)) return;
    this.budget(level === 'over' ? 'exceeded' : 'warning', cost.spentUsd, cost.budgetUsd);
  }

  private link(fragment?: string): string | undefined {
    return this.dashboard ? `${this.dashboard}/${fragment ? `#${fragment}` : ''}` : undefined;
  }

  private emit(n: Omit<Notification, 'session' | 'time'>): void {
    this.sender.send(this.targets, { ...n, session: this.sessionId, time: new Date().toISOString() });
  }
}

const levels = ['under', 'near', 'over'] as const;
type BudgetLevel = (typeof levels)[number];

/** Where a session's spend stands against its budget: under 80%, from 80% on, all of it spent. */
function budgetLevel(cost: SessionCost): BudgetLevel {
  if (cost.budgetUsd === undefined || cost.spentUsd === null) return 'under';
  if (cost.spentUsd >= cost.budgetUsd) return 'over';
  return cost.spentUsd >= 0.8 * cost.budgetUsd ? 'near' : 'under';
}
