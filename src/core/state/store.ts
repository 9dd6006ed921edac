import type { AgentRecord } from '../model/agent.js';
import type { HostRecord, ProvisionerName } from '../model/host.js';
import { PostgresDatabase } from './postgres-database.js';
import { postgresMigrations, sqliteMigrations } from './schema.js';
import type { SqlDatabase } from './sql-database.js';
import { SqliteDatabase } from './sqlite-database.js';

/** Where a session is in its life. `up` and `down` move it; both can be repeated. */
export type SessionStatus = 'creating' | 'live' | 'tearing-down' | 'ended';

export interface SessionRow {
  id: string;
  createdAt: string;
  updatedAt: string;
  status: SessionStatus;
  provisioner: ProvisionerName;
  /** What the user asked for at `up`, so an interrupted `up` can be finished or undone. */
  spec: Record<string, unknown>;
  /** When the session ends by itself: agent keys and certificates expire then. */
  expiresAt: string;
  /** The operator who started it (team mode shows it; see operator.ts). */
  owner?: string;
}

interface RawSession {
  id: string;
  created_at: string;
  updated_at: string;
  status: string;
  provisioner: string;
  spec: string;
  expires_at: string | null;
  owner: string | null;
}

/** Where a store lives: a SQLite file, or a `postgres://` / `postgresql://` URL (team mode). */
export function isDatabaseUrl(target: string): boolean {
  return /^postgres(ql)?:\/\//.test(target);
}

/**
 * The session store: a SQLite file per graft home by default, or a team's PostgreSQL
 * (docs/team-mode.md), behind the same queries. The controller and other invocations (`status`,
 * `hosts`, `down`) use it at the same time and it must survive a crash at any point. Intent is
 * written before an action and its outcome after.
 */
export class StateStore {
  /**
   * In team mode, the operator whose sessions a command picks when it names none (a shared
   * store holds everyone's): see `ownSessions`.
   */
  readonly operator?: string;

  private constructor(
    private readonly db: SqlDatabase,
    operator?: string,
  ) {
    this.operator = operator;
  }

  static open(target: string, options: { operator?: string } = {}): StateStore {
    if (isDatabaseUrl(target)) {
      const db = PostgresDatabase.open(target);
      try {
        db.migrate(postgresMigrations);
      } catch (error) {
        db.close();
        throw error;
      }
      return new StateStore(db, options.operator);
    }
    const db = SqliteDatabase.open(target);
    db.migrate(sqliteMigrations);
    return new StateStore(db);
  }

  /** The open database, for the stores of other tables (runs and tasks, messages) that share it and its transactions. */
  get database(): SqlDatabase {
    return this.db;
  }

  close(): void {
    this.db.close();
  }

  /** Records a new session; its owner (when given) becomes its first member, as `owner`. */
  createSession(session: Omit<SessionRow, 'createdAt' | 'updatedAt'>): SessionRow {
    const now = new Date().toISOString();
    this.db.transaction(() => {
      this.db.run('INSERT INTO sessions (id, created_at, updated_at, status, provisioner, spec, expires_at, owner) VALUES (?, ?, ?, ?, ?, ?, ?, ?)', [
        session.id,
        now,
        now,
        session.status,
        session.provisioner,
        JSON.stringify(session.spec),
        session.expiresAt,
        session.owner ?? null,
      ]);
      if (session.owner) {
        this.db.run("INSERT INTO session_members (session_id, operator, role, granted_by, granted_at) VALUES (?, ?, 'owner', ?, ?)", [
          session.id,
          session.owner,
          session.owner,
          now,
        ]);
      }
    });
    return { ...session, createdAt: now, updatedAt: now };
  }

  /**
   * Moves a session to `status`. With `from`, only when it is currently in one of those
   * states (compare-and-set), so a racing `up` cannot revive a session `down` is ending;
   * returns whether it moved.
   */
  setSessionStatus(id: string, status: SessionStatus, from?: SessionStatus[]): boolean {
    const now = new Date().toISOString();
    if (!from) return this.db.run('UPDATE sessions SET status = ?, updated_at = ? WHERE id = ?', [status, now, id]) > 0;
    const placeholders = from.map(() => '?').join(', ');
    return this.db.run(`UPDATE sessions SET status = ?, updated_at = ? WHERE id = ? AND status IN (${placeholders})`, [status, now, id, ...from]) > 0;
  }

  /** Moves when the session ends by itself (`graft extend`). */
  setSessionExpiry(id: string, expiresAt: string): void {
    this.db.run('UPDATE sessions SET expires_at = ?, updated_at = ? WHERE id = ?', [expiresAt, new Date().toISOString(), id]);
  }

  getSession(id: string): SessionRow | undefined {
    const row = this.db.get<RawSession>('SELECT * FROM sessions WHERE id = ?', [id]);
    return row && toSession(row);
  }

  /** Newest first: every session in the store (in team mode, every operator's). */
  listSessions(): SessionRow[] {
    return this.db.all<RawSession>('SELECT * FROM sessions ORDER BY created_at DESC, rowid DESC').map(toSession);
  }

  /** Newest first: the sessions a command without --session chooses among (in team mode, this operator's own). */
  ownSessions(): SessionRow[] {
    const all = this.listSessions();
    return this.operator === undefined ? all : all.filter((s) => s.owner === this.operator);
  }

  /** Inserts or replaces a host of a session. */
  putHost(sessionId: string, host: HostRecord): void {
    this.db.run(
      'INSERT INTO hosts (session_id, name, state, record, updated_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT(session_id, name) DO UPDATE SET state = excluded.state, record = excluded.record, updated_at = excluded.updated_at',
      [sessionId, host.name, host.state, JSON.stringify(host), new Date().toISOString()],
    );
  }

  listHosts(sessionId: string): HostRecord[] {
    return this.db
      .all<{ record: string }>('SELECT record FROM hosts WHERE session_id = ? ORDER BY rowid', [sessionId])
      .map((r) => JSON.parse(r.record) as HostRecord);
  }

  putAgent(sessionId: string, agent: AgentRecord): void {
    this.db.run(
      'INSERT INTO agents (session_id, name, host, state, record, updated_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(session_id, name) DO UPDATE SET host = excluded.host, state = excluded.state, record = excluded.record, updated_at = excluded.updated_at',
      [sessionId, agent.name, agent.host, agent.state, JSON.stringify(agent), new Date().toISOString()],
    );
  }

  /**
   * Records a new agent unless one of that name is already there and not removed, in one
   * transaction, so two `agent create` runs for the same name cannot both go ahead.
   * Returns the existing agent when there is one.
   */
  claimAgent(sessionId: string, agent: AgentRecord): AgentRecord | undefined {
    return this.db.transaction(() => {
      const existing = this.getAgent(sessionId, agent.name);
      if (existing && existing.state !== 'removed') return existing;
      this.putAgent(sessionId, agent);
      return undefined;
    });
  }

  getAgent(sessionId: string, name: string): AgentRecord | undefined {
    const row = this.db.get<{ record: string }>('SELECT record FROM agents WHERE session_id = ? AND name = ?', [sessionId, name]);
    return row && (JSON.parse(row.record) as AgentRecord);
  }

  listAgents(sessionId: string): AgentRecord[] {
    return this.db
      .all<{ record: string }>('SELECT record FROM agents WHERE session_id = ? ORDER BY rowid', [sessionId])
      .map((r) => JSON.parse(r.record) as AgentRecord);
  }

  /** Records that an action is about to happen; returns the intent's id for `finishIntent`. */
  beginIntent(sessionId: string, action: string, target: string, detail?: string): number {
    return this.db.insert("INSERT INTO intents (session_id, action, target, status, detail, created_at) VALUES (?, ?, ?, 'pending', ?, ?)", [
      sessionId,
      action,
      target,
      detail ?? null,
      new Date().toISOString(),
    ]);
  }

  finishIntent(id: number, status: 'done' | 'failed', detail?: string): void {
    this.db.run('UPDATE intents SET status = ?, detail = COALESCE(?, detail), finished_at = ? WHERE id = ?', [
      status,
      detail ?? null,
      new Date().toISOString(),
      id,
    ]);
  }
}

function toSession(row: RawSession): SessionRow {
  return {
    id: row.id,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    status: row.status as SessionStatus,
    provisioner: row.provisioner as ProvisionerName,
    spec: JSON.parse(row.spec) as Record<string, unknown>,
    // Sessions from before expiry was recorded end a day after they began.
    expiresAt: row.expires_at ?? new Date(Date.parse(row.created_at) + 86_400_000).toISOString(),
    ...(row.owner ? { owner: row.owner } : {}),
  };
}
