/**
 * A live feed of one session's run, read from the state store: a snapshot, then every change as
 * it lands. It watches through a connection of its own, polling the store's change mark (SQLite's
 * `data_version`, PostgreSQL's WAL position: both move when any other connection commits, the
 * controller in this process or `graft approve` in another) every `pollMs`, and only then reads
 * the tasks and compares their stored JSON, so an idle session costs one small query per poll. The dashboard's page and the notifier both listen.
 */
import { controllerLive } from '../controller/controller-lease.js';
import { MessageStore, type HumanInboxEntry } from '../state/message-store.js';
import { RunStore, type RunRow } from '../state/run-store.js';
import { StateStore } from '../state/store.js';
import { runOf } from '../controller/require-run.js';
import type { TaskRecord } from '../model/task.js';
import { layoutGraph, type GraphLayout } from './graph-layout.js';
import { taskView, type DashboardSnapshot, type RunView, type SessionCost, type TaskView, type UsageSource } from './dashboard-view.js';

export type FeedChange =
  | { kind: 'tasks'; tasks: TaskView[]; previous: Map<string, TaskView> }
  | { kind: 'run'; run: RunView; previous: RunView }
  | { kind: 'inbox'; inbox: HumanInboxEntry[] }
  | { kind: 'cost'; cost: SessionCost };

export type FeedListener = (change: FeedChange) => void;

export interface SessionFeedOptions {
  /** The state store (its file, or its PostgreSQL URL): the feed opens its own connection to it. */
  database: string;
  sessionId: string;
  pollMs?: number;
  usage?: UsageSource;
}

export class SessionFeed {
  private readonly store: StateStore;
  private readonly runs: RunStore;
  private readonly messages: MessageStore;
  private readonly run: RunRow;
  private readonly layout: GraphLayout;
  private readonly listeners = new Set<FeedListener>();
  private readonly raw = new Map<string, string>();
  private readonly views = new Map<string, TaskView>();
  private runView: RunView;
  private inbox: HumanInboxEntry[] = [];
  private inboxMark = '';
  private cost?: SessionCost;
  private changeMark = '';
  private timer?: NodeJS.Timeout;

  constructor(private readonly options: SessionFeedOptions) {
    this.store = StateStore.open(options.database);
    this.runs = new RunStore(this.store);
    this.messages = MessageStore.of(this.store);
    try {
      this.run = runOf(this.runs, options.sessionId);
    } catch (error) {
      this.store.close();
      throw error;
    }
    this.layout = layoutGraph(new Map(Object.values(this.run.graph.tasks).map((t) => [t.name, t.needs])));
    this.runView = this.readRun();
    this.refresh();
  }

  /** Starts polling; listeners hear changes from now on. */
  start(): this {
    this.timer ??= setInterval(() => this.poll(), this.options.pollMs ?? 50);
    this.timer.unref();
    return this;
  }

  subscribe(listener: FeedListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  snapshot(writable: boolean): DashboardSnapshot {
    return {
      session: this.options.sessionId,
      graph: this.run.graph.file,
      run: this.runView,
      writable,
      tasks: [...this.views.values()],
      layout: this.layout,
      inbox: this.inbox,
      ...(this.cost ? { cost: this.cost } : {}),
    };
  }

  task(name: string): TaskView | undefined {
    return this.views.get(name);
  }

  /** Reads the store now (after a write through another connection of this process, say). */
  poll(): void {
    const mark = this.store.database.changeMark();
    if (mark === this.changeMark) return;
    this.changeMark = mark;
    this.refresh();
  }

  close(): void {
    clearInterval(this.timer);
    this.listeners.clear();
    this.store.close();
  }

  private refresh(): void {
    const session = this.options.sessionId;
    const usage = this.options.usage?.taskUsage(session);
    const changed: TaskView[] = [];
    const previous = new Map<string, TaskView>();
    for (const row of this.store.database.all<{ name: string; record: string }>('SELECT name, record FROM tasks WHERE session_id = ? ORDER BY rowid', [
      session,
    ])) {
      const usageKey = usage?.has(row.name) ? JSON.stringify(usage.get(row.name)) : '';
      if (this.raw.get(row.name) === row.record + usageKey) continue;
      this.raw.set(row.name, row.record + usageKey);
      const view = taskView(this.run.graph, JSON.parse(row.record) as TaskRecord, usage?.get(row.name));
      const before = this.views.get(row.name);
      if (before) previous.set(row.name, before);
      this.views.set(row.name, view);
      changed.push(view);
    }
    if (changed.length > 0) this.tell({ kind: 'tasks', tasks: changed, previous });
    const run = this.readRun();
    if (JSON.stringify(run) !== JSON.stringify(this.runView)) {
      const before = this.runView;
      this.runView = run;
      this.tell({ kind: 'run', run, previous: before });
    }
    // The inbox changes when a message is added or a question answered: its newest id says both.
    const mark = String(this.store.database.get<{ id: number | null }>('SELECT MAX(id) AS id FROM messages WHERE session_id = ?', [session])!.id);
    if (mark !== this.inboxMark) {
      this.inboxMark = mark;
      this.inbox = this.messages.humanInbox(session, { all: true, markRead: false }).filter((m) => m.kind !== 'status');
      this.tell({ kind: 'inbox', inbox: this.inbox });
    }
    const cost = this.options.usage?.sessionCost(session);
    if (cost && JSON.stringify(cost) !== JSON.stringify(this.cost)) {
      this.cost = cost;
      this.tell({ kind: 'cost', cost });
    }
  }

  private readRun(): RunView {
    const run = this.runs.getRun(this.options.sessionId)!;
    return { status: run.status, ...(run.controllerPid ? { controller: { pid: run.controllerPid, alive: controllerLive(run) } } : {}) };
  }

  private tell(change: FeedChange): void {
    for (const listener of this.listeners) {
      try {
        listener(change);
      } catch {
        // One broken page or webhook must not stop the others from hearing.
      }
    }
  }
}
