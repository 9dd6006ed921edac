/**
 * Writes a run's task transitions: compare-and-set in the state store, then a `task.changed`
 * event for each that landed. Records are redacted first: an error can quote what a task printed,
 * and the state store keeps no secret value.
 */
import type { TaskRecord } from '../model/task.js';
import type { GraftRuntime } from '../runtime.js';
import type { RunStore } from '../state/run-store.js';

export type TaskChange = { from: TaskRecord['state']; record: TaskRecord };

export class TaskWriter {
  constructor(
    private readonly runtime: GraftRuntime,
    private readonly runs: RunStore,
    private readonly sessionId: string,
  ) {}

  /** Writes the changes; returns those that landed, and sets them in `tasks` when given. */
  write(changes: TaskChange[], tasks?: Map<string, TaskRecord>): TaskRecord[] {
    if (changes.length === 0) return [];
    const written = this.runs.transition(
      this.sessionId,
      changes.map(({ from, record }) => ({ from, record: this.runtime.redactor.redactDeep(record) })),
    );
    for (const record of written) {
      tasks?.set(record.name, record);
      this.announce(record);
    }
    return written;
  }

  private announce(record: TaskRecord): void {
    const where = record.host ? ` on ${record.host}` : '';
    const detail =
      record.state === 'failed' || record.state === 'blocked' || (record.state === 'ready' && record.error)
        ? `: ${record.error}`
        : record.summary && record.state === 'succeeded'
          ? `: ${record.summary}`
          : '';
    const level = record.state === 'failed' ? 'warn' : 'info';
    this.runtime.events.emit({
      code: 'task.changed',
      level,
      message: `${record.name} ${record.state === 'ready' && record.attempt > 0 ? `will retry (attempt ${record.attempt + 1})` : record.state}${where}${detail}`,
      session: this.sessionId,
      host: record.host,
      data: {
        task: record.name,
        state: record.state,
        attempt: record.attempt,
        host: record.host,
        branch: record.branch,
        startedAt: record.startedAt,
        endedAt: record.endedAt,
      },
    });
  }
}
