import type { SqlDatabase } from './sql-database.js';
import type { StateStore } from './store.js';

/** What an operator may do to a session of someone else's (team mode; docs/team-mode.md). */
export type SessionRole = 'owner' | 'approver' | 'viewer';

/** Each role, with every role it includes: an owner may do what an approver may, and so on. */
export const roleRank: Record<SessionRole, number> = { viewer: 1, approver: 2, owner: 3 };

export interface SessionMember {
  operator: string;
  role: SessionRole;
  grantedBy: string;
  grantedAt: string;
}

/** The operators of each session and their roles, in the session store. */
export class MemberStore {
  private readonly db: SqlDatabase;

  constructor(store: StateStore) {
    this.db = store.database;
  }

  role(sessionId: string, operator: string): SessionRole | undefined {
    return this.db.get<{ role: SessionRole }>('SELECT role FROM session_members WHERE session_id = ? AND operator = ?', [sessionId, operator])?.role;
  }

  /** Gives `operator` `role` on the session (replacing what it had). */
  grant(sessionId: string, operator: string, role: SessionRole, by: string): void {
    this.db.run(
      'INSERT INTO session_members (session_id, operator, role, granted_by, granted_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT(session_id, operator) DO UPDATE SET role = excluded.role, granted_by = excluded.granted_by, granted_at = excluded.granted_at',
      [sessionId, operator, role, by, new Date().toISOString()],
    );
  }

  /** Takes every role on the session from `operator`; returns whether it had one. */
  revoke(sessionId: string, operator: string): boolean {
    return this.db.run('DELETE FROM session_members WHERE session_id = ? AND operator = ?', [sessionId, operator]) > 0;
  }

  list(sessionId: string): SessionMember[] {
    return this.db
      .all<{ operator: string; role: SessionRole; granted_by: string; granted_at: string }>(
        'SELECT operator, role, granted_by, granted_at FROM session_members WHERE session_id = ? ORDER BY granted_at, operator',
        [sessionId],
      )
      .map((r) => ({ operator: r.operator, role: r.role, grantedBy: r.granted_by, grantedAt: r.granted_at }));
  }
}
