import type { SqlDatabase } from './sql-database.js';
import type { StateStore } from './store.js';

/**
 * Where a pool account is in its life: `ready` (made, keyless, never claimed), `claimed` (given
 * to one agent, forever), `spent` (its agent revoked: no key, no process; waiting to be deleted),
 * `deleted`.
 */
export type PoolAccountState = 'ready' | 'claimed' | 'spent' | 'deleted';

export interface PoolAccountRow {
  host: string;
  account: string;
  home: string;
  state: PoolAccountState;
  /** The agent that claimed it. */
  agent?: string;
}

interface RawRow {
  host: string;
  account: string;
  home: string;
  state: string;
  agent: string | null;
}

/** The pool_accounts table, in the state store's file and transactions. */
export class PoolStore {
  private readonly db: SqlDatabase;

  constructor(store: StateStore) {
    this.db = store.database;
  }

  /** Records accounts a host has just made. */
  addReady(sessionId: string, host: string, accounts: { account: string; home: string }[]): void {
    const now = new Date().toISOString();
    this.db.transaction(() => {
      for (const a of accounts) {
        this.db.run("INSERT INTO pool_accounts (session_id, host, account, home, state, updated_at) VALUES (?, ?, ?, ?, 'ready', ?) ON CONFLICT DO NOTHING", [
          sessionId,
          host,
          a.account,
          a.home,
          now,
        ]);
      }
    });
  }

  /**
   * Claims one ready account of the host for `agent`, in one transaction: two claims (of this
   * process or another) never get the same row. Undefined when none is ready.
   */
  claim(sessionId: string, host: string, agent: string): PoolAccountRow | undefined {
    return this.db.transaction(() => {
      const row = this.db.get<RawRow>(
        "SELECT host, account, home, state, agent FROM pool_accounts WHERE session_id = ? AND host = ? AND state = 'ready' ORDER BY rowid LIMIT 1",
        [sessionId, host],
      );
      if (!row) return undefined;
      this.db.run(
        "UPDATE pool_accounts SET state = 'claimed', agent = ?, updated_at = ? WHERE session_id = ? AND host = ? AND account = ? AND state = 'ready'",
        [agent, new Date().toISOString(), sessionId, host, row.account],
      );
      return { ...toRow(row), state: 'claimed' as const, agent };
    });
  }

  /** Moves accounts to `state` (claimed → spent once revoked; spent or ready → deleted). */
  mark(sessionId: string, host: string, accounts: string[], state: PoolAccountState): void {
    const now = new Date().toISOString();
    this.db.transaction(() => {
      for (const account of accounts) {
        this.db.run('UPDATE pool_accounts SET state = ?, updated_at = ? WHERE session_id = ? AND host = ? AND account = ?', [
          state,
          now,
          sessionId,
          host,
          account,
        ]);
      }
    });
  }

  /** The host's accounts (every host's without `host`) in the given states. */
  list(sessionId: string, states: PoolAccountState[], host?: string): PoolAccountRow[] {
    const marks = states.map(() => '?').join(', ');
    const rows =
      host === undefined
        ? this.db.all<RawRow>(`SELECT host, account, home, state, agent FROM pool_accounts WHERE session_id = ? AND state IN (${marks}) ORDER BY rowid`, [
            sessionId,
            ...states,
          ])
        : this.db.all<RawRow>(
            `SELECT host, account, home, state, agent FROM pool_accounts WHERE session_id = ? AND host = ? AND state IN (${marks}) ORDER BY rowid`,
            [sessionId, host, ...states],
          );
    return rows.map(toRow);
  }

  /** How many of the host's accounts are in each state. */
  counts(sessionId: string, host: string): Record<PoolAccountState, number> {
    const counts: Record<PoolAccountState, number> = { ready: 0, claimed: 0, spent: 0, deleted: 0 };
    const rows = this.db.all<{ state: PoolAccountState; n: number }>(
      'SELECT state, COUNT(*) AS n FROM pool_accounts WHERE session_id = ? AND host = ? GROUP BY state',
      [sessionId, host],
    );
    for (const row of rows) counts[row.state] = row.n;
    return counts;
  }
}

function toRow(row: RawRow): PoolAccountRow {
  return { host: row.host, account: row.account, home: row.home, state: row.state as PoolAccountState, ...(row.agent ? { agent: row.agent } : {}) };
}
