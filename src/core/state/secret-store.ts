import type { SqlDatabase } from './sql-database.js';
import type { StateStore } from './store.js';

/** One key file of a session, sealed (team mode; session-vault.ts). */
export interface SealedFile {
  /** Relative to the session's directory. */
  path: string;
  mode: number;
  /** SHA-256 of the plain content and mode: tells an unchanged file without opening it. */
  digest: string;
  sealed: string;
}

/** Sessions' sealed key files, in the session store. */
export class SecretStore {
  private readonly db: SqlDatabase;

  constructor(store: StateStore) {
    this.db = store.database;
  }

  put(sessionId: string, file: SealedFile): void {
    this.db.run(
      'INSERT INTO session_secrets (session_id, path, mode, digest, sealed, updated_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(session_id, path) DO UPDATE SET mode = excluded.mode, digest = excluded.digest, sealed = excluded.sealed, updated_at = excluded.updated_at',
      [sessionId, file.path, file.mode, file.digest, file.sealed, new Date().toISOString()],
    );
  }

  /** The digests of the session's sealed files (only those under `under/`, with it). */
  digests(sessionId: string, under?: string): Map<string, string> {
    const rows =
      under === undefined
        ? this.db.all<{ path: string; digest: string }>('SELECT path, digest FROM session_secrets WHERE session_id = ?', [sessionId])
        : this.db.all<{ path: string; digest: string }>('SELECT path, digest FROM session_secrets WHERE session_id = ? AND path LIKE ?', [
            sessionId,
            `${under}/%`,
          ]);
    return new Map(rows.map((r) => [r.path, r.digest]));
  }

  list(sessionId: string): SealedFile[] {
    return this.db.all<SealedFile>('SELECT path, mode, digest, sealed FROM session_secrets WHERE session_id = ? ORDER BY path', [sessionId]);
  }
}
