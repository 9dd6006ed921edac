/**
 * The model gateway's tables in the session store (migration 6): gateway tokens (hashed),
 * metered requests, and budgets set after the run began. Shared with `graft cost`, `status` and
 * `extend` in other processes, through the same WAL database.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { TokenUsage } from '../model/usage.js';
import type { VendorName } from '../model/usage.js';
import type { SqlDatabase } from './sql-database.js';
import type { StateStore } from './store.js';

/** Who a gateway token speaks for: one attempt of one task, as one agent. */
export interface TokenGrant {
  task: string;
  attempt: number;
  /** The graph's agent template (budgets and `graft cost` group by it). */
  agent: string;
  /** The attempt's agent (its account and identity), revoked with it. */
  identity: string;
  vendor: VendorName;
  expiresAt: string;
  revokedAt?: string;
}

export type BudgetScope = 'graph' | 'agent' | 'task';

/** One metered request, as `graft cost` reads it. */
export interface UsageRow extends TokenUsage {
  task: string;
  attempt: number;
  agent: string;
  vendor: VendorName;
  model: string;
  status: number | null;
  /** Pico-dollars; null when the model had no price. */
  costPico: bigint | null;
}

/** The prefix of every gateway token: recognisable in a leaked log, and never a vendor key's. */
export const gatewayTokenPrefix = 'graft-gw-';

const hashOf = (token: string) => createHash('sha256').update(token).digest('hex');

export class GatewayStore {
  private readonly db: SqlDatabase;

  constructor(store: StateStore) {
    this.db = store.database;
  }

  /** A new token for `grant`: 256 random bits. Only its hash is stored; the token itself is returned once. */
  issueToken(sessionId: string, grant: Omit<TokenGrant, 'revokedAt'>): string {
    const token = gatewayTokenPrefix + randomBytes(32).toString('base64url');
    this.db.run(
      'INSERT INTO gateway_tokens (token_hash, session_id, task, attempt, agent, identity, vendor, issued_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      [hashOf(token), sessionId, grant.task, grant.attempt, grant.agent, grant.identity, grant.vendor, new Date().toISOString(), grant.expiresAt],
    );
    return token;
  }

  /** The grant of a token of this session, or undefined when there is none (revoked and expired ones are returned: the caller says why). */
  findToken(sessionId: string, token: string): TokenGrant | undefined {
    const row = this.db.get<{
      task: string;
      attempt: number;
      agent: string;
      identity: string;
      vendor: VendorName;
      expires_at: string;
      revoked_at: string | null;
    }>('SELECT task, attempt, agent, identity, vendor, expires_at, revoked_at FROM gateway_tokens WHERE token_hash = ? AND session_id = ?', [
      hashOf(token),
      sessionId,
    ]);
    if (!row) return undefined;
    return {
      task: row.task,
      attempt: row.attempt,
      agent: row.agent,
      identity: row.identity,
      vendor: row.vendor,
      expiresAt: row.expires_at,
      ...(row.revoked_at ? { revokedAt: row.revoked_at } : {}),
    };
  }

  /** Revokes every token of an agent (its attempt ended, it was removed). Returns how many were live. */
  revokeTokens(sessionId: string, identity: string): number {
    return this.db.run('UPDATE gateway_tokens SET revoked_at = ? WHERE session_id = ? AND identity = ? AND revoked_at IS NULL', [
      new Date().toISOString(),
      sessionId,
      identity,
    ]);
  }

  /** Records a request as it is forwarded; returns its row id for {@link finishRequest}. */
  startRequest(sessionId: string, grant: TokenGrant, model: string): number {
    return this.db.insert('INSERT INTO model_usage (session_id, task, attempt, agent, identity, vendor, model, started_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)', [
      sessionId,
      grant.task,
      grant.attempt,
      grant.agent,
      grant.identity,
      grant.vendor,
      model,
      new Date().toISOString(),
    ]);
  }

  /** What the response said it used, and what that cost (null: no price). */
  finishRequest(id: number, status: number, usage: TokenUsage, costPico: bigint | null): void {
    this.db.run(
      'UPDATE model_usage SET status = ?, input_tokens = ?, output_tokens = ?, cache_read_tokens = ?, cache_write_tokens = ?, cache_write_1h_tokens = ?, cost_pico = ?, ended_at = ? WHERE id = ?',
      [
        status,
        usage.inputTokens,
        usage.outputTokens,
        usage.cacheReadTokens,
        usage.cacheWriteTokens,
        usage.cacheWrite1hTokens,
        costPico,
        new Date().toISOString(),
        id,
      ],
    );
  }

  /** Pico-dollars spent in a scope of the session (priced requests only). */
  spent(sessionId: string, scope: BudgetScope, name: string): bigint {
    const where = scope === 'graph' ? '' : scope === 'task' ? ' AND task = ?' : ' AND agent = ?';
    const sql = `SELECT COALESCE(SUM(cost_pico), 0) AS spent FROM model_usage WHERE session_id = ?${where}`;
    return this.db.get<{ spent: bigint }>(sql, scope === 'graph' ? [sessionId] : [sessionId, name], { bigints: true })!.spent;
  }

  /** Every metered request of the session, oldest first. */
  usage(sessionId: string): UsageRow[] {
    const rows = this.db.all<Record<string, bigint | string | null>>(
      'SELECT task, attempt, agent, vendor, model, status, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, cache_write_1h_tokens, cost_pico FROM model_usage WHERE session_id = ? ORDER BY id',
      [sessionId],
      { bigints: true },
    );
    return rows.map((r) => ({
      task: r.task as string,
      attempt: Number(r.attempt),
      agent: r.agent as string,
      vendor: r.vendor as VendorName,
      model: r.model as string,
      status: r.status === null ? null : Number(r.status),
      inputTokens: Number(r.input_tokens),
      outputTokens: Number(r.output_tokens),
      cacheReadTokens: Number(r.cache_read_tokens),
      cacheWriteTokens: Number(r.cache_write_tokens),
      cacheWrite1hTokens: Number(r.cache_write_1h_tokens),
      costPico: r.cost_pico === null ? null : (r.cost_pico as bigint),
    }));
  }

  /** Sets a budget of the session (micro-dollars), replacing the graph's for that scope. */
  setBudget(sessionId: string, scope: BudgetScope, name: string, microUsd: number, by: string): void {
    this.db.run(
      'INSERT INTO budgets (session_id, scope, name, micro_usd, set_at, set_by) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(session_id, scope, name) DO UPDATE SET micro_usd = excluded.micro_usd, set_at = excluded.set_at, set_by = excluded.set_by',
      [sessionId, scope, scope === 'graph' ? '' : name, microUsd, new Date().toISOString(), by],
    );
  }

  /** A budget set with {@link setBudget}, or undefined. */
  budget(sessionId: string, scope: BudgetScope, name: string): number | undefined {
    const row = this.db.get<{ micro_usd: number }>('SELECT micro_usd FROM budgets WHERE session_id = ? AND scope = ? AND name = ?', [
      sessionId,
      scope,
      scope === 'graph' ? '' : name,
    ]);
    return row?.micro_usd;
  }
}
