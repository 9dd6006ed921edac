import type { SqlDatabase } from './sql-database.js';
import type { StateStore } from './store.js';

/** Attempts' saved output in the store (team mode: the controller's files are on its own machine). */
export class TaskLogStore {
  private readonly db: SqlDatabase;

  constructor(store: StateStore) {
    this.db = store.database;
  }

  put(sessionId: string, task: string, attempt: number, output: Buffer): void {
    this.db.run(
      'INSERT INTO task_logs (session_id, task, attempt, output, saved_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT(session_id, task, attempt) DO UPDATE SET output = excluded.output, saved_at = excluded.saved_at',
      [sessionId, task, attempt, output.toString('base64'), new Date().toISOString()],
    );
  }

  get(sessionId: string, task: string, attempt: number): Buffer | undefined {
    const row = this.db.get<{ output: string }>('SELECT output FROM task_logs WHERE session_id = ? AND task = ? AND attempt = ?', [sessionId, task, attempt]);
    return row && Buffer.from(row.output, 'base64');
  }
}
