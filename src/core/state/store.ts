import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { StateError } from '../errors.js';
import type { AgentRecord } from '../model/agent.js';
import type { HostRecord, ProvisionerName } from '../model/host.js';
import { migrations } from './schema.js';

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
}

interface RawSession {
  id: string;
  created_at: string;
  updated_at: string;
  status: string;
  provisioner: string;
  spec: string;
  expires_at: string | null;
}

/**
 * The session store: one SQLite file per graft home, in WAL mode, because the controller
 * and other invocations (`status`, `hosts`, `down`) use it at the same time and it must
 * survive a crash at any point. Intent is written before an action and its outcome after.
 */
export class StateStore {
  private readonly db: Database.Database;

  private constructor(db: Database.Database) {
    this.db = db;
  }

  static open(file: string): StateStore {
    let db: Database.Database;
    try {
      mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
      db = new Database(file);
      db.pragma('journal_mode = WAL');
      db.pragma('busy_timeout = 10000');
      db.pragma('foreign_keys = ON');
      db.pragma('synchronous = NORMAL');
    } catch (error) {
      throw new StateError(`cannot open the state store ${file}: ${(error as Error).message}`, {
        cause: error,
        actions: ['Check that GRAFT_HOME points at a writable directory.'],
      });
    }
    const store = new StateStore(db);
    store.migrate(file);
    return store;
  }

  private migrate(file: string): void {
    // The version is read inside the write transaction: two graft processes opening a fresh
    // home at once must not both apply the same migration.
    this.db
      .transaction(() => {
        const version = this.db.pragma('user_version', { simple: true }) as number;
        if (version > migrations.length) {
          throw new StateError(`the state store ${file} was written by a newer graft (schema ${version}, this graft knows ${migrations.length})`, {
            actions: ['Upgrade graft, or point GRAFT_HOME at another directory.'],
          });
        }
        for (let i = version; i < migrations.length; i++) {
          this.db.exec(migrations[i]!);
          this.db.pragma(`user_version = ${i + 1}`);
        }
      })
      .immediate();
  }

  /** The open database, for the stores of other tables (runs and tasks, messages) that share this file and its transactions. */
  get database(): Database.Database {
    return this.db;
  }

  close(): void {
    this.db.close();
  }

  createSession(session: Omit<SessionRow, 'createdAt' | 'updatedAt'>): SessionRow {
    const now = new Date().toISOString();
    this.db
      .prepare('INSERT INTO sessions (id, created_at, updated_at, status, provisioner, spec, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(session.id, now, now, session.status, session.provisioner, JSON.stringify(session.spec), session.expiresAt);
    return { ...session, createdAt: now, updatedAt: now };
  }

  /**
   * Moves a session to `status`. With `from`, only when it is currently in one of those
   * states (compare-and-set), so a racing `up` cannot revive a session `down` is ending;
   * returns whether it moved.
   */
  setSessionStatus(id: string, status: SessionStatus, from?: SessionStatus[]): boolean {
    const now = new Date().toISOString();
    if (!from) return this.db.prepare('UPDATE sessions SET status = ?, updated_at = ? WHERE id = ?').run(status, now, id).changes > 0;
    const placeholders = from.map(() => '?').join(', ');
    return (
      this.db.prepare(`UPDATE sessions SET status = ?, updated_at = ? WHERE id = ? AND status IN (${placeholders})`).run(status, now, id, ...from).changes > 0
    );
  }

  getSession(id: string): SessionRow | undefined {
    const row = this.db.prepare('SELECT * FROM sessions WHERE id = ?').get(id) as RawSession | undefined;
    return row && toSession(row);
  }

  /** Newest first. */
  listSessions(): SessionRow[] {
    return (this.db.prepare('SELECT * FROM sessions ORDER BY created_at DESC, rowid DESC').all() as RawSession[]).map(toSession);
  }

  /** Inserts or replaces a host of a session. */
  putHost(sessionId: string, host: HostRecord): void {
    this.db
      .prepare(
        'INSERT INTO hosts (session_id, name, state, record, updated_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT(session_id, name) DO UPDATE SET state = excluded.state, record = excluded.record, updated_at = excluded.updated_at',
      )
      .run(sessionId, host.name, host.state, JSON.stringify(host), new Date().toISOString());
  }

  listHosts(sessionId: string): HostRecord[] {
    const rows = this.db.prepare('SELECT record FROM hosts WHERE session_id = ? ORDER BY rowid').all(sessionId) as { record: string }[];
    return rows.map((r) => JSON.parse(r.record) as HostRecord);
  }

  putAgent(sessionId: string, agent: AgentRecord): void {
    this.db
      .prepare(
        'INSERT INTO agents (session_id, name, host, state, record, updated_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(session_id, name) DO UPDATE SET host = excluded.host, state = excluded.state, record = excluded.record, updated_at = excluded.updated_at',
      )
      .run(sessionId, agent.name, agent.host, agent.state, JSON.stringify(agent), new Date().toISOString());
  }

  /**
   * Records a new agent unless one of that name is already there and not removed, in one
   * transaction, so two `agent create` runs for the same name cannot both go ahead.
   * Returns the existing agent when there is one.
   */
  claimAgent(sessionId: string, agent: AgentRecord): AgentRecord | undefined {
    return this.db
      .transaction(() => {
        const existing = this.getAgent(sessionId, agent.name);
        if (existing && existing.state !== 'removed') return existing;
        this.putAgent(sessionId, agent);
        return undefined;
      })
      .immediate();
  }

  getAgent(sessionId: string, name: string): AgentRecord | undefined {
    const row = this.db.prepare('SELECT record FROM agents WHERE session_id = ? AND name = ?').get(sessionId, name) as { record: string } | undefined;
    return row && (JSON.parse(row.record) as AgentRecord);
  }

  listAgents(sessionId: string): AgentRecord[] {
    const rows = this.db.prepare('SELECT record FROM agents WHERE session_id = ? ORDER BY rowid').all(sessionId) as { record: string }[];
    return rows.map((r) => JSON.parse(r.record) as AgentRecord);
  }

  /** Records that an action is about to happen; returns the intent's id for `finishIntent`. */
  beginIntent(sessionId: string, action: string, target: string, detail?: string): number {
    const result = this.db
      .prepare("INSERT INTO intents (session_id, action, target, status, detail, created_at) VALUES (?, ?, ?, 'pending', ?, ?)")
      .run(sessionId, action, target, detail ?? null, new Date().toISOString());
    return Number(result.lastInsertRowid);
  }

  finishIntent(id: number, status: 'done' | 'failed', detail?: string): void {
    this.db
      .prepare('UPDATE intents SET status = ?, detail = COALESCE(?, detail), finished_at = ? WHERE id = ?')
      .run(status, detail ?? null, new Date().toISOString(), id);
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
  };
}
