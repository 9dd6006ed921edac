import type { GraphSpec, TaskState } from '../model/graph.js';
import type { TaskRecord } from '../model/task.js';
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
  createdAt: string;
  updatedAt: string;
}

interface RawRun {
  session_id: string;
  status: string;
  graph: string;
  controller_pid: number | null;
  controller_started_at: string | null;
  created_at: string;
  updated_at: string;
}

/**
 * Runs and their tasks, in the session store's database. Every task change is a compare-and-set
 * on its state inside a transaction: the controller and other commands (`approve`, `down`) write
 * the same rows, and neither may overwrite a transition it did not see.
 */
export class RunStore {
  private readonly db: SqlDatabase;

  constructor(store: StateStore) {
    this.db = store.database;
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
   * Makes `pid` the run's controller unless another live one holds it. `alive` tells a dead
   * holder from a live one (the caller knows how to ask the OS). Returns the holder's pid on refusal.
   */
  claimController(sessionId: string, pid: number, alive: (pid: number) => boolean): number | undefined {
    return this.db.transaction(() => {
      const run = this.getRun(sessionId);
      if (run?.controllerPid && run.controllerPid !== pid && alive(run.controllerPid)) return run.controllerPid;
      const now = new Date().toISOString();
      this.db.run('UPDATE runs SET controller_pid = ?, controller_started_at = ?, updated_at = ? WHERE session_id = ?', [pid, now, now, sessionId]);
      return undefined;
    });
  }

  releaseController(sessionId: string, pid: number): void {
    this.db.run('UPDATE runs SET controller_pid = NULL, updated_at = ? WHERE session_id = ? AND controller_pid = ?', [
      new Date().toISOString(),
      sessionId,
      pid,
    ]);
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
    return this.db.transaction(() =>
      changes
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
        .map((c) => c.record),
    );
  }

  /** Reads a task and writes what `change` makes of it, atomically; `change` returning undefined writes nothing. */
  updateTask(sessionId: string, name: string, change: (record: TaskRecord) => TaskRecord | undefined): TaskRecord | undefined {
    return this.db.transaction(() => {
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
}

function toRun(row: RawRun): RunRow {
  return {
    sessionId: row.session_id,
    status: row.status as RunStatus,
    graph: JSON.parse(row.graph) as RunGraph,
    controllerPid: row.controller_pid ?? undefined,
    controllerStartedAt: row.controller_started_at ?? undefined,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}
