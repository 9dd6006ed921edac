import type { TaskState } from './graph.js';

/** A decision a human made at a gate. */
export interface ApprovalRecord {
  decision: 'approved' | 'rejected';
  by: string;
  at: string;
  reason?: string;
  gate: 'before' | 'after';
}

/**
 * An attempt handed back because its host stopped answering. Its agent, and maybe its process,
 * live on there: when the host answers again the process is stopped (so it cannot finish work
 * that moved on), its work fetched and its agent revoked.
 */
export interface StrandedAttempt {
  agent: string;
  host: string;
  attempt: number;
  /** When it was handed back (ISO). */
  at: string;
}

/**
 * One task of a run, as persisted (the `tasks` table) and shown by `graft status`. The controller
 * writes each transition before it acts on it, so after a crash the record says what may be in
 * flight: `starting` means an agent may exist and a process may have started; `running` names the
 * process on its host.
 */
export interface TaskRecord {
  name: string;
  state: TaskState;
  /** Attempts started so far (1 for the first). */
  attempt: number;
  /** The host of the current or last attempt. */
  host?: string;
  /** The agent of the current or last attempt (its account, key, identity and worktree). */
  agent?: string;
  /** Process group leader of the current attempt on its host. */
  pid?: number;
  startedAt?: string;
  /** When the current attempt's process started (its `timeout` counts from here, not from placement). */
  runningAt?: string;
  endedAt?: string;
  /** A retry waits until then (ISO). */
  notBefore?: string;
  /** Hosts this task will not be placed on again (lost while it ran there). */
  avoidHosts?: string[];
  /** Attempts left behind on lost hosts, not yet wound up. */
  stranded?: StrandedAttempt[];
  /** What the agent reported when it finished (`graft-agent done|fail`), or how it ended. */
  summary?: string;
  /** What the agent said of the attempt through its channel (`graft-agent done|fail`), until the attempt is settled. */
  reported?: 'done' | 'fail';
  /** The model gateway refused the current attempt a request: a budget of it is spent (why, in words). Settled when the attempt ends. */
  budgetExceeded?: string;
  /** Why the task failed, when it is one graft names: `budget-exceeded` (no retry spends more), `oom` or `pids-limit` (a resource limit of its agent). */
  reason?: 'budget-exceeded' | 'oom' | 'pids-limit';
  /** The last status line the agent sent. */
  status?: string;
  error?: string;
  exitCode?: number | null;
  /** The branch in the controller's repository holding its result, and that branch's tip. */
  branch?: string;
  tip?: string;
  approvals?: ApprovalRecord[];
}
