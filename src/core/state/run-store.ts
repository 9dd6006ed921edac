import type { GraphSpec, TaskState } from '../model/graph.js';
import type { TaskRecord } from '../model/task.js';
import { GraftError } from '../errors.js';
import type { SqlDatabase } from './sql-database.js';
import type { StateStore } from './store.js';

/** Where a run is: its controller's view, persisted so `status` and `resume` see it from any process. */
export type RunStatus = 'provisioning' | 'running' | 'succeeded' | 'failed' | 'cancelled';

/** The graph as the run froze it at its start: `resume` uses this, never the file again. */
export interface RunGraph extends GraphSpec {
  /** The controller's repository (top of its working tree). */
  repo: string;
  /** The commit `base` named when the run started. */
  baseCommit: string;
  /** Gates pass without a human (the demo). Recorded as approved by `auto-approve`. */
  autoApprove: boolean;
}

export interface RunRow {
  sessionId: string;
  status: RunStatus;
  graph: RunGraph;
  /** The process running the graph now (or last); `resume` refuses while it is alive. */
  controllerPid?: number;
  controllerStartedAt?: string;
  /** The controller process's id (new at each start), for its lease and fencing. */
  controllerId?: string;
  /** Where its pid means something (controller-lease.ts); absent on runs from before leases. */
  controllerMachine?: string;
  /** Until when its hold on the run lasts, unless it renews it. */
  leaseExpiresAt?: string;
  createdAt: string;
  updatedAt: string;
}

interface RawRun {
  session_id: string;
  status: string;
  graph: string;
  controller_pid: number | null;
  controller_started_at: string | null;
  controller_id: string | null;
  controller_machine: string | null;
  lease_expires_at: string | null;
  created_at: string;
  updated_at: string;
}

/** A controller process asking to drive a run (controller-lease.ts makes one). */
export interface ControllerClaim {
  id: string;
  machine: string;
  pid: number;
  leaseMs: number;
}

/** A fenced writer found that another controller holds its run now. */
export class LeaseLostError extends GraftError {
  constructor(sessionId: string, holder: RunRow | undefined) {
    super(
      `this controller no longer holds the run of session ${sessionId}: ${holder?.controllerPid ? `pid ${holder.controllerPid} took it over` : 'it was let go'}; this one stops writing`,
      { code: 'LEASE_LOST', actions: ['Follow the run with: graft status'] },
    );
  }
}

/**
 * Runs and their tasks, in the session store's database. Every task change is a compare-and-set
 * on its state inside a transaction: the controller and other commands (`approve`, `down`) write
 * the same rows, and neither may overwrite a transition it did not see.
 */
export class RunStore {
  private readonly db: SqlDatabase;
  private readonly fence?: string;

  /**
   * With `fence` (a controller's id), every task write first checks, in its transaction, that
   * this controller still holds the run, and throws LeaseLostError if not: a controller that was
   * paused past its lease cannot write over the one that took the run over.
   */
  constructor(store: StateStore, options: { fence?: string } = {}) {
    this.db = store.database;
    this.fence = options.fence;
  }

  createRun(sessionId: string, graph: RunGraph, tasks: TaskRecord[], controllerPid: number): void {
    const now = new Date().toISOString();
    this.db.transaction(() => {
      this.db.run(
        "INSERT INTO runs (session_id, status, graph, controller_pid, controller_started_at, created_at, updated_at) VALUES (?, 'provisioning', ?, ?, ?, ?, ?)",
        [sessionId, JSON.stringify(graph), controllerPid, now, now, now],
      );
      for (const task of tasks) {
        this.db.run('INSERT INTO tasks (session_id, name, state, record, updated_at) VALUES (?, ?, ?, ?, ?)', [
          sessionId,
          task.name,
          task.state,
          JSON.stringify(task),
          now,
        ]);
      }
    });
  }

  getRun(sessionId: string): RunRow | undefined {
    const row = this.db.get<RawRun>('SELECT * FROM runs WHERE session_id = ?', [sessionId]);
    return row && toRun(row);
  }

  setRunStatus(sessionId: string, status: RunStatus): void {
    this.db.run('UPDATE runs SET status = ?, updated_at = ? WHERE session_id = ?', [status, new Date().toISOString(), sessionId]);
  }

  /**
   * Makes `me` the run's controller unless another one that `live` says still drives it holds
   * it (controller-lease.ts tells: a live pid on this machine, an unexpired lease from another).
   * Returns the holder on refusal.
   */
  claimController(sessionId: string, me: ControllerClaim, live: (run: RunRow) => boolean): RunRow | undefined {
    return this.db.transaction(() => {
      const run = this.getRun(sessionId);
      if (run?.controllerPid && !holdsRun(run, me) && live(run)) return run;
      const now = Date.now();
      this.db.run(
        'UPDATE runs SET controller_pid = ?, controller_id = ?, controller_machine = ?, lease_expires_at = ?, controller_started_at = ?, updated_at = ? WHERE session_id = ?',
        [me.pid, me.id, me.machine, new Date(now + me.leaseMs).toISOString(), new Date(now).toISOString(), new Date(now).toISOString(), sessionId],
      );
      return undefined;
    });
  }

  /** Extends `me`'s lease; false when another controller holds the run now (then stop driving it). */
  renewLease(sessionId: string, me: ControllerClaim): boolean {
    const until = new Date(Date.now() + me.leaseMs).toISOString();
    return this.db.run('UPDATE runs SET lease_expires_at = ? WHERE session_id = ? AND controller_id = ?', [until, sessionId, me.id]) > 0;
  }

  releaseController(sessionId: string, me: ControllerClaim): void {
    this.db.run(
      'UPDATE runs SET controller_pid = NULL, controller_id = NULL, lease_expires_at = NULL, updated_at = ? WHERE session_id = ? AND controller_id = ?',
      [new Date().toISOString(), sessionId, me.id],
    );
  }

  listTasks(sessionId: string): TaskRecord[] {
    return this.db
      .all<{ record: string }>('SELECT record FROM tasks WHERE session_id = ? ORDER BY rowid', [sessionId])
      .map((r) => JSON.parse(r.record) as TaskRecord);
  }

  getTask(sessionId: string, name: string): TaskRecord | undefined {
    const row = this.db.get<{ record: string }>('SELECT record FROM tasks WHERE session_id = ? AND name = ?', [sessionId, name]);
    return row && (JSON.parse(row.record) as TaskRecord);
  }

  /**
   * Writes each record whose stored state is still the one the writer read (`from`); returns
   * the records written. One transaction: a batch of transitions lands whole or not at all.
   */
  transition(sessionId: string, changes: { from: TaskState; record: TaskRecord }[]): TaskRecord[] {
    const now = new Date().toISOString();
    return this.db.transaction(() => {
      this.checkFence(sessionId);
      return changes
        .filter(
          (c) =>
            this.db.run('UPDATE tasks SET state = ?, record = ?, updated_at = ? WHERE session_id = ? AND name = ? AND state = ?', [
              c.record.state,
              JSON.stringify(c.record),
              now,
              sessionId,
              c.record.name,
              c.from,
            ]) > 0,
        )
        .map((c) => c.record);
    });
  }

  /** Reads a task and writes what `change` makes of it, atomically; `change` returning undefined writes nothing. */
  updateTask(sessionId: string, name: string, change: (record: TaskRecord) => TaskRecord | undefined): TaskRecord | undefined {
    return this.db.transaction(() => {
      this.checkFence(sessionId);
      const record = this.getTask(sessionId, name);
      const next = record && change(record);
      if (!next) return undefined;
      this.db.run('UPDATE tasks SET state = ?, record = ?, updated_at = ? WHERE session_id = ? AND name = ?', [
        next.state,
        JSON.stringify(next),
        new Date().toISOString(),
        sessionId,
        name,
      ]);
      return next;
    });
  }

  private checkFence(sessionId: string): void {
    if (this.fence === undefined) return;
    // Only the holder's id: the run's row carries the whole graph, too big to read per write.
    const holder = this.db.get<{ controller_id: string | null }>('SELECT controller_id FROM runs WHERE session_id = ?', [sessionId]);
    if (holder?.controller_id !== this.fence) throw new LeaseLostError(sessionId, this.getRun(sessionId));
  }
}

function toRun(row: RawRun): RunRow {
  return {
    sessionId: row.session_id,
    status: row.status as RunStatus,
    graph: JSON.parse(row.graph) as RunGraph,
    controllerPid: row.controller_pid ?? undefined,
    controllerStartedAt: row.controller_started_at ?? undefined,
    controllerId: row.controller_id ?? undefined,
    controllerMachine: row.controller_machine ?? undefined,
    leaseExpiresAt: row.lease_expires_at ?? undefined,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** Whether `run` is held by `me` (runs from before leases name only a pid). */
function holdsRun(run: RunRow, me: ControllerClaim): boolean {
  return run.controllerId ? run.controllerId === me.id : run.controllerPid === me.pid;
}
