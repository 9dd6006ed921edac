/**
 * The controller: runs a session's graph to the end. Each tick it reads the task records (other
 * commands change them too: approvals, cancels), lets the scheduler decide, writes every
 * transition before acting on it, and starts each placed task's attempt (task-attempt.ts:
 * provision, launch, watch, collect, revoke). It holds nothing the records do not: killed at any point, a new
 * controller (`graft resume`) re-attaches to what runs and finishes the rest.
 */
import { AccountPool } from '../agents/account-pool.js';
import { GraftError } from '../errors.js';
import { HostShell } from '../hosts/host-shell.js';
import { decide, outcome, place, settle, starting, stranded, waitingGate, type RunOutcome, type SchedulerHost } from '../graph/scheduler.js';
import { criticalPathLengths, eligibleHosts } from '../graph/validate.js';
import type { AgentRecord } from '../model/agent.js';
import type { TaskSpec } from '../model/graph.js';
import type { HostRecord } from '../model/host.js';
import type { TaskRecord } from '../model/task.js';
import type { GraftRuntime } from '../runtime.js';
import { RunStore, type RunGraph } from '../state/run-store.js';
import type { SessionRow } from '../state/store.js';
import { runOf } from './require-run.js';
import { StrandedWatch } from './stranded-attempts.js';
import { TaskWriter, type TaskChange } from './task-writer.js';
import type { AttemptContext, ControllerOptions } from './attempt-context.js';
import { revokeAgent, runAttempt } from './task-attempt.js';
import { killTaskProcess } from './task-process.js';

export type ControllerResult = RunOutcome | 'detached';

const tickMs = 200;

export class Controller {
  private readonly runs: RunStore;
  private readonly writer: TaskWriter;
  private readonly graph: RunGraph;
  private readonly inflight = new Map<string, Promise<void>>();
  private readonly unhealthy = new Set<string>();
  private readonly priority: Map<string, number>;
  private readonly eligibleCache = new Map<string, string[]>();
  private wake: () => void = () => undefined;
  private readonly watchAbort = new AbortController();
  private readonly stranded: StrandedWatch;
  /** Hosts' warm pools of agent accounts (hosts with per-agent accounts). */
  private readonly accounts: AccountPool;
  /** What each task attempt uses of the run (task-attempt.ts). */
  private readonly attempts: AttemptContext;

  constructor(
    private readonly runtime: GraftRuntime,
    private readonly session: SessionRow,
    private readonly options: ControllerOptions = {},
  ) {
    this.runs = options.runs ?? new RunStore(runtime.store);
    this.writer = new TaskWriter(runtime, this.runs, session.id);
    this.graph = runOf(this.runs, session.id).graph;
    this.priority = criticalPathLengths(this.graph);
    this.accounts = new AccountPool(runtime, session.id);
    // A lost host that answers again has its stranded attempts wound up, and takes tasks again.
    this.stranded = new StrandedWatch(runtime, session, this.runs, (host) => this.unhealthy.delete(host));
    this.attempts = {
      runtime,
      session,
      graph: this.graph,
      runs: this.runs,
      options,
      accounts: this.accounts,
      unhealthy: this.unhealthy,
      watchSignal: this.watchAbort.signal,
      host: (name) => this.host(name),
      write: (changes) => this.write(changes),
      wake: () => this.wake(),
    };
    options.signal?.addEventListener('abort', () => {
      this.watchAbort.abort(new Error('controller stopped'));
      this.wake();
    });
  }

  /** Runs until every task is finished, or until stopped (detached). */
  async run(): Promise<ControllerResult> {
    this.runs.setRunStatus(this.session.id, 'running');
    await this.revokeLeftovers();
    this.adoptInFlight();
    for (;;) {
      if (this.options.signal?.aborted) {
        await Promise.allSettled(this.inflight.values());
        await this.stranded.stop();
        await this.accounts.stop();
        this.emitRun(
          'run.detached',
          `controller stopped; ${this.countActive()} task(s) keep running on their hosts. Continue with: graft resume --session ${this.session.id}`,
        );
        return 'detached';
      }
      const tasks = this.tasks();
      this.step(tasks);
      this.stranded.poll(tasks.values());
      const result = outcome(this.tasks().values());
      if (result !== 'running' && this.inflight.size === 0) {
        await this.stranded.stop();
        await this.accounts.stop();
        this.runs.setRunStatus(this.session.id, result);
        this.emitRun('run.finished', `run ${result}`, { outcome: result, tasks: this.runs.listTasks(this.session.id) });
        return result;
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, tickMs);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  private tasks(): Map<string, TaskRecord> {
    return new Map(this.runs.listTasks(this.session.id).map((r) => [r.name, r]));
  }

  private countActive(): number {
    return [...this.tasks().values()].filter((r) => r.state === 'running' || r.state === 'starting').length;
  }

  /** One scheduling pass: settle, gates, stranded tasks, placements. */
  private step(tasks: Map<string, TaskRecord>): void {
    const now = new Date().toISOString();
    this.write(
      settle(this.graph, tasks).map((record) => ({ from: 'pending' as const, record })),
      tasks,
    );
    if (this.graph.autoApprove) {
      for (const record of tasks.values()) {
        const gate = waitingGate(record);
        if (gate)
          this.write(
            [{ from: record.state, record: decide(this.spec(record.name), record, { decision: 'approved', by: 'auto-approve', at: now, gate }) }],
            tasks,
          );
      }
      this.write(
        settle(this.graph, tasks).map((record) => ({ from: 'pending' as const, record })),
        tasks,
      );
    }
    const input = { graph: this.graph, tasks, hosts: this.hosts(), eligible: (t: TaskSpec) => this.eligible(t), priority: this.priority, now: Date.now() };
    this.write(
      stranded(input, now).map((record) => ({ from: 'ready' as const, record })),
      tasks,
    );
    // A task whose last attempt is still being wound up (its agent revoked) waits for that.
    for (const placement of place({ ...input, hold: new Set(this.inflight.keys()) })) {
      const record = tasks.get(placement.task)!;
      const next = starting(record, placement.host, this.agentNameFor(record), now);
      if (this.write([{ from: 'ready', record: next }], tasks).length === 0) continue;
      this.track(next.name, () => runAttempt(this.attempts, next));
    }
    this.sizePools(tasks);
  }

  /**
   * Each host with per-agent accounts keeps ready accounts for the tasks still to start: its
   * share of them, at least a slot's worth while any is left, at most two rounds of its slots.
   */
  private sizePools(tasks: Map<string, TaskRecord>): void {
    const waiting = [...tasks.values()].filter((r) => r.state === 'pending' || r.state === 'ready' || r.state === 'awaiting-approval').length;
    const hosts = this.runtime.store.listHosts(this.session.id).filter((h) => h.state === 'up' && h.isolation === 'accounts' && !this.unhealthy.has(h.name));
    for (const host of hosts) this.accounts.setTarget(host, waiting === 0 ? 0 : Math.min(2 * host.slots, Math.ceil(waiting / hosts.length)));
  }

  /** Writes transitions (compare-and-set) and announces those that landed (task-writer.ts). */
  private write(changes: TaskChange[], tasks?: Map<string, TaskRecord>): TaskRecord[] {
    return this.writer.write(changes, tasks);
  }

  private emitRun(code: 'run.finished' | 'run.detached' | 'run.resumed', message: string, data?: Record<string, unknown>): void {
    this.runtime.events.emit({ code, level: 'info', message, session: this.session.id, data });
  }

  private spec(name: string): TaskSpec {
    return this.graph.tasks[name]!;
  }

  private hosts(): SchedulerHost[] {
    return this.runtime.store
      .listHosts(this.session.id)
      .filter((h) => h.state === 'up')
      .map((h) => ({ name: h.name, slots: h.slots, healthy: !this.unhealthy.has(h.name) }));
  }

  private host(name: string): HostRecord {
    const host = this.runtime.store.listHosts(this.session.id).find((h) => h.name === name);
    if (!host) throw new GraftError(`host ${name} is not in session ${this.session.id}`, { code: 'HOST_GONE' });
    return host;
  }

  private eligible(task: TaskSpec): string[] {
    let names = this.eligibleCache.get(task.name);
    if (!names) {
      const hosts = this.runtime.store.listHosts(this.session.id).filter((h) => h.state === 'up');
      try {
        names = eligibleHosts(this.graph, task, hosts);
      } catch {
        names = [];
      }
      this.eligibleCache.set(task.name, names);
    }
    return names;
  }

  /** Runs `work` for a task once at a time, and wakes the loop when it ends. */
  private track(name: string, work: () => Promise<void>): void {
    if (this.inflight.has(name)) return;
    const done = work()
      .catch((error: Error) => this.runtime.events.emit({ code: 'warning', level: 'warn', message: `${name}: ${error.message}`, session: this.session.id }))
      .finally(() => {
        this.inflight.delete(name);
        this.wake();
      });
    this.inflight.set(name, done);
  }

  /** After a crash between recording a result and revoking its agent: that agent goes now. */
  private async revokeLeftovers(): Promise<void> {
    const stranded = this.stranded.agents();
    for (const record of this.tasks().values()) {
      if (record.state === 'starting' || record.state === 'running' || !record.agent || stranded.has(record.agent)) continue;
      const agent = this.runtime.store.getAgent(this.session.id, record.agent);
      if (agent && (agent.state === 'ready' || agent.state === 'creating')) await this.revoke(agent);
    }
  }

  /** After a crash: every task the records say may be in flight is watched (or finished) again. */
  private adoptInFlight(): void {
    for (const record of this.tasks().values()) {
      if (record.state === 'starting' || record.state === 'running') this.track(record.name, () => runAttempt(this.attempts, record));
    }
  }

  /**
   * Agents are named after their tasks. The name is free again once the previous attempt's agent
   * is removed; one that is not (left on a lost host, or not revocable) keeps it, and the attempt
   * gets a name of its own (its result still lands on the task's branch).
   */
  private agentNameFor(record: TaskRecord): string {
    const free = (name: string) => {
      const agent = this.runtime.store.getAgent(this.session.id, name);
      return !agent || agent.state === 'removed';
    };
    if (free(record.name)) return record.name;
    let n = record.attempt + 1;
    while (!free(`${record.name.slice(0, 12)}-a${n}`)) n += 1;
    return `${record.name.slice(0, 12)}-a${n}`;
  }

  /** The gateway refused the task a request for a spent budget: its process group is stopped, and the attempt ends as failed (finish). */
  stopForBudget(name: string): void {
    const record = this.runs.getTask(this.session.id, name);
    const agent = record?.agent ? this.runtime.store.getAgent(this.session.id, record.agent) : undefined;
    if (!record?.pid || !agent || agent.state !== 'ready' || !record.host) return;
    killTaskProcess(HostShell.agent(this.runtime.pool, this.session.id, agent, this.host(record.host)), record.pid).catch((error: Error) =>
      this.runtime.events.emit({
        code: 'warning',
        level: 'warn',
        message: `${name}: could not stop it after its budget was spent: ${error.message}`,
        session: this.session.id,
        host: record.host,
      }),
    );
  }

  private async revoke(agent: AgentRecord): Promise<void> {
    await revokeAgent(this.attempts, agent);
  }
}
