/**
 * The scheduler: pure functions from (graph, task records, hosts, now) to the next records and
 * placements. No I/O and no clock of its own, so every rule is unit-tested and a resumed
 * controller makes the same decisions from the same persisted records.
 */
import type { GraphSpec, TaskSpec, TaskState } from '../model/graph.js';
import { terminalTaskStates } from '../model/graph.js';
import type { ApprovalRecord, TaskRecord } from '../model/task.js';
import type { LimitHit, ResourceLimits } from '../model/guardrails.js';
import { describeLimitHit } from '../hosts/limits.js';

/** A host as the scheduler sees it. */
export interface SchedulerHost {
  name: string;
  slots: number;
  /** False once the host is lost: nothing new is placed there. */
  healthy: boolean;
}

export interface Placement {
  task: string;
  host: string;
}

export interface PlanInput {
  graph: GraphSpec;
  tasks: ReadonlyMap<string, TaskRecord>;
  hosts: readonly SchedulerHost[];
  /** Hosts each task may run on (its `on` selector applied to the session's hosts). */
  eligible: (task: TaskSpec) => readonly string[];
  /** Longer first: a task's longest chain of downstream tasks (critical path). */
  priority: ReadonlyMap<string, number>;
  now: number;
  /** Ready tasks not to start yet (their previous attempt is still being wound up). */
  hold?: ReadonlySet<string>;
}

/** States that hold a slot on a host. */
const busy: ReadonlySet<TaskState> = new Set(['starting', 'running']);

export function isTerminal(state: TaskState): boolean {
  return terminalTaskStates.has(state);
}

export function initialRecords(graph: GraphSpec): TaskRecord[] {
  return Object.keys(graph.tasks).map((name) => ({ name, state: 'pending', attempt: 0 }));
}

/** Whether a task's result may flow downstream: it succeeded (an `after` gate, once approved, makes it succeeded). */
function delivered(record: TaskRecord | undefined): boolean {
  return record?.state === 'succeeded';
}

function dead(record: TaskRecord | undefined): boolean {
  return record !== undefined && (record.state === 'failed' || record.state === 'blocked' || record.state === 'cancelled');
}

/**
 * Moves pending tasks on: to `blocked` when something they need failed (or was blocked,
 * cancelled, rejected), to `awaiting-approval` or `ready` when all they need succeeded.
 * Repeats until nothing moves, so a failure blocks the whole chain below it at once.
 */
export function settle(graph: GraphSpec, tasks: ReadonlyMap<string, TaskRecord>): TaskRecord[] {
  const current = new Map(tasks);
  const changed = new Map<string, TaskRecord>();
  let moved = true;
  while (moved) {
    moved = false;
    for (const spec of Object.values(graph.tasks)) {
      const record = current.get(spec.name);
      if (!record || record.state !== 'pending') continue;
      const needs = spec.needs.map((n) => current.get(n));
      let next: TaskRecord | undefined;
      const failedNeed = spec.needs.find((n) => dead(current.get(n)));
      if (failedNeed) next = { ...record, state: 'blocked', error: `${failedNeed} did not succeed (${current.get(failedNeed)!.state})` };
      else if (needs.every(delivered)) next = { ...record, state: spec.approval === 'before' && !approvedAt(record, 'before') ? 'awaiting-approval' : 'ready' };
      if (next) {
        current.set(spec.name, next);
        changed.set(spec.name, next);
        moved = true;
      }
    }
  }
  return [...changed.values()];
}

function approvedAt(record: TaskRecord, gate: 'before' | 'after'): boolean {
  return (record.approvals ?? []).some((a) => a.gate === gate && a.decision === 'approved');
}

/**
 * Ready tasks to start now and where: highest priority first (critical path, then file order),
 * each on the eligible healthy host with the most free slots that it has not been lost on.
 */
export function place(input: PlanInput): Placement[] {
  const used = new Map<string, number>();
  for (const record of input.tasks.values()) {
    if (busy.has(record.state) && record.host) used.set(record.host, (used.get(record.host) ?? 0) + 1);
  }
  const order = Object.keys(input.graph.tasks);
  const ready = [...input.tasks.values()]
    .filter((r) => r.state === 'ready' && !input.hold?.has(r.name) && (!r.notBefore || Date.parse(r.notBefore) <= input.now))
    .sort((a, b) => (input.priority.get(b.name) ?? 0) - (input.priority.get(a.name) ?? 0) || order.indexOf(a.name) - order.indexOf(b.name));
  const hosts = new Map(input.hosts.map((h) => [h.name, h]));
  const placements: Placement[] = [];
  for (const record of ready) {
    const candidates = candidateHosts(input, record)
      .map((name) => hosts.get(name)!)
      .filter((h) => (used.get(h.name) ?? 0) < h.slots);
    if (candidates.length === 0) continue;
    const host = candidates.reduce((best, h) => (h.slots - (used.get(h.name) ?? 0) > best.slots - (used.get(best.name) ?? 0) ? h : best));
    used.set(host.name, (used.get(host.name) ?? 0) + 1);
    placements.push({ task: record.name, host: host.name });
  }
  return placements;
}

/** Healthy hosts a task may use, free or not. */
function candidateHosts(input: PlanInput, record: TaskRecord): string[] {
  const healthy = new Set(input.hosts.filter((h) => h.healthy).map((h) => h.name));
  const avoid = new Set(record.avoidHosts ?? []);
  return input.eligible(input.graph.tasks[record.name]!).filter((name) => healthy.has(name) && !avoid.has(name));
}

/** Ready tasks that no healthy host can ever take (all lost or avoided): they fail rather than wait forever. */
export function stranded(input: PlanInput, now: string): TaskRecord[] {
  return [...input.tasks.values()]
    .filter((r) => r.state === 'ready' && candidateHosts(input, r).length === 0)
    .map((r) => ({
      ...r,
      state: 'failed' as const,
      endedAt: now,
      error: `no healthy host left for ${r.name} (selector: ${input.graph.tasks[r.name]!.on ?? 'all'}${r.avoidHosts?.length ? `; lost: ${r.avoidHosts.join(', ')}` : ''})`,
    }));
}

/** The record of a task as an attempt starts on a host: written before anything is done there. */
export function starting(record: TaskRecord, host: string, agent: string, now: string): TaskRecord {
  const { notBefore: _n, pid: _p, exitCode: _e, error: _r, summary: _s, status: _t, ...rest } = record;
  return { ...rest, state: 'starting', attempt: record.attempt + 1, host, agent, startedAt: now, endedAt: undefined };
}

/** An attempt ended well: succeeded, or held for a human when the task has an `after` gate. */
export function succeeded(spec: TaskSpec, record: TaskRecord, now: string, outcome: Pick<TaskRecord, 'summary' | 'exitCode' | 'branch' | 'tip'>): TaskRecord {
  const gated = spec.approval === 'after' && !approvedAt(record, 'after');
  return { ...record, ...outcome, state: gated ? 'awaiting-result-approval' : 'succeeded', endedAt: now, pid: undefined };
}

export interface RetryPolicy {
  /** Wait before retry n (1-based): base × 2^(n-1), at most max. */
  backoffBaseMs: number;
  backoffMaxMs: number;
}

export const defaultRetryPolicy: RetryPolicy = { backoffBaseMs: 2_000, backoffMaxMs: 60_000 };

/**
 * An attempt failed. It is tried again after a backoff while retries remain; a lost host does
 * not use up a retry (the task did not fail, its machine did) but is avoided from then on.
 */
export function attemptFailed(
  spec: TaskSpec,
  record: TaskRecord,
  failure: { now: number; error: string; exitCode?: number | null; summary?: string; hostLost?: boolean },
  policy: RetryPolicy = defaultRetryPolicy,
): TaskRecord {
  const now = new Date(failure.now).toISOString();
  const ended = { ...record, error: failure.error, exitCode: failure.exitCode, summary: failure.summary ?? record.summary, endedAt: now, pid: undefined };
  if (failure.hostLost) {
    const avoidHosts = [...new Set([...(record.avoidHosts ?? []), ...(record.host ? [record.host] : [])])];
    // Its agent stays on the lost host until that answers again; the attempt is kept in mind till then.
    const stranded =
      record.agent && record.host
        ? [...(record.stranded ?? []), { agent: record.agent, host: record.host, attempt: record.attempt, at: now }]
        : record.stranded;
    // The attempt is handed back: it does not count against the task's retries.
    return { ...ended, state: 'ready', attempt: Math.max(0, record.attempt - 1), avoidHosts, stranded, notBefore: undefined };
  }
  if (record.attempt <= spec.retries) {
    const wait = Math.min(policy.backoffMaxMs, policy.backoffBaseMs * 2 ** (record.attempt - 1));
    return { ...ended, state: 'ready', notBefore: new Date(failure.now + wait).toISOString() };
  }
  return { ...ended, state: 'failed' };
}

/** How an attempt's process ended, and what its result is, as the controller found them. */
export interface AttemptEnd {
  exitCode: number | null;
  /** Its process disappeared without an exit status. */
  vanished?: boolean;
  /** A resource limit its processes hit, and the limits its agent had. */
  limit?: LimitHit;
  limits?: ResourceLimits;
  /** Why graft killed it for running too long, in words. */
  timedOut?: string;
  /** The task's branch in the controller's repository and its tip. */
  branch?: string;
  tip?: string;
}

/**
 * The attempt's rules: it succeeded when the agent reported done (or, having reported nothing,
 * exited 0) and neither its budget nor its timeout stopped it. Otherwise it failed, named by what
 * ended it (a spent budget, the timeout, a resource limit, the agent's own report, a vanished
 * process, the exit status), and the retry policy decides whether it runs again; a spent budget
 * is final, since no retry may spend more. `record` is the task as it is now (what the agent
 * reported through its channel included).
 */
export function attemptEnded(spec: TaskSpec, record: TaskRecord, end: AttemptEnd, now: number, policy: RetryPolicy = defaultRetryPolicy): TaskRecord {
  const outcome = { exitCode: end.exitCode, branch: end.branch, tip: end.tip, summary: record.summary };
  const budget = record.budgetExceeded;
  const ok = !budget && !end.timedOut && !end.vanished && (record.reported === 'done' || (record.reported === undefined && end.exitCode === 0));
  // A limit the processes hit is why the attempt failed, whatever the harness made of it.
  const limit = !ok && !budget && !end.timedOut ? end.limit : undefined;
  const error = budget
    ? `budget-exceeded: ${budget}`
    : (end.timedOut ??
      (limit
        ? describeLimitHit(limit, end.limits)
        : record.reported === 'fail'
          ? `the agent reported failure: ${record.summary ?? ''}`
          : end.vanished
            ? 'its process disappeared without an exit status'
            : `exit ${end.exitCode}`));
  const next = ok
    ? succeeded(spec, record, new Date(now).toISOString(), outcome)
    : attemptFailed(budget ? { ...spec, retries: 0 } : spec, { ...record, ...outcome }, { now, error, exitCode: end.exitCode }, policy);
  return { ...next, reported: undefined, budgetExceeded: undefined, ...(budget ? { reason: 'budget-exceeded' as const } : limit ? { reason: limit } : {}) };
}

/**
 * A human's decision at a gate. Approving `before` lets the task start; approving `after`
 * passes its result downstream. Rejecting either fails the task, which blocks what needs it.
 */
export function decide(spec: TaskSpec, record: TaskRecord, approval: ApprovalRecord): TaskRecord {
  const approvals = [...(record.approvals ?? []), approval];
  if (approval.decision === 'rejected') {
    return { ...record, approvals, state: 'failed', endedAt: approval.at, error: `rejected by ${approval.by}${approval.reason ? `: ${approval.reason}` : ''}` };
  }
  if (approval.gate === 'before') return { ...record, approvals, state: 'ready' };
  return { ...record, approvals, state: 'succeeded' };
}

/** Which gate a task is waiting at, if any. */
export function waitingGate(record: TaskRecord): 'before' | 'after' | undefined {
  if (record.state === 'awaiting-approval') return 'before';
  if (record.state === 'awaiting-result-approval') return 'after';
  return undefined;
}

/** Cancels every task not yet finished; the caller stops those that hold a process. */
export function cancelAll(tasks: Iterable<TaskRecord>, now: string, reason: string): TaskRecord[] {
  return [...tasks].filter((r) => !isTerminal(r.state)).map((r) => ({ ...r, state: 'cancelled' as const, endedAt: now, error: reason, pid: undefined }));
}

export type RunOutcome = 'running' | 'succeeded' | 'failed';

/** The run is over when every task is; it succeeded when every task did. */
export function outcome(tasks: Iterable<TaskRecord>): RunOutcome {
  const all = [...tasks];
  if (!all.every((r) => isTerminal(r.state))) return 'running';
  return all.every((r) => r.state === 'succeeded') ? 'succeeded' : 'failed';
}
