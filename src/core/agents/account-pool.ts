/**
 * The warm account pool: each host of a run keeps accounts made ahead of its tasks, in batches
 * (one turn at the host's lock on /etc/passwd per batch), so a task's agent claims one instead of
 * waiting for useradd. Revoked agents' accounts are deleted in batches too, when the pool is full.
 * Isolation is unchanged: an account is claimed by one agent, ever (the claim is written to the
 * state store before the host hears of it, and the host refuses a second claim of an account).
 */
import type { GraftRuntime } from '../runtime.js';
import type { HostRecord } from '../model/host.js';
import { PoolStore, type PoolAccountRow } from '../state/pool-store.js';
import { HostAdmin } from '../hosts/host-admin.js';

/** Accounts made per turn at the lock: enough to cover a host's slots, few enough that the first claim waits little. */
const fillBatch = 8;
/** Revoked accounts are deleted once this many wait (or at `graft down`). */
const deleteBatch = 16;
/** After a failed batch, the host's next turn waits this long. */
const retryMs = 2_000;

interface HostPool {
  host: HostRecord;
  /** How many ready accounts the host should hold. */
  target: number;
  /** A batch (fill or delete) is running on the host. */
  busy: boolean;
  waiters: { resolve: () => void; reject: (error: Error) => void }[];
  /** Not before this time (ms) after a failure. */
  pausedUntil: number;
}

export class AccountPool {
  private readonly rows: PoolStore;
  private readonly hosts = new Map<string, HostPool>();
  private readonly running = new Set<Promise<void>>();
  private stopped = false;

  constructor(
    private readonly runtime: GraftRuntime,
    private readonly sessionId: string,
  ) {
    this.rows = new PoolStore(runtime.store);
  }

  /** How many ready accounts a host should hold, from its slots and the tasks still to start; tops it up. */
  setTarget(host: HostRecord, target: number): void {
    const pool = this.pool(host);
    pool.target = target;
    this.turn(pool);
  }

  /**
   * Claims an account of the host for `agent`: recorded in the state store first. Waits for the
   * host's next batch when none is ready; rejects when that batch fails.
   */
  async claim(host: HostRecord, agent: string): Promise<PoolAccountRow> {
    const pool = this.pool(host);
    for (;;) {
      const row = this.rows.claim(this.sessionId, host.name, agent);
      if (row) {
        this.turn(pool);
        return row;
      }
      if (this.stopped) throw new Error(`the account pool of ${host.name} is stopped`);
      await new Promise<void>((resolve, reject) => {
        pool.waiters.push({ resolve, reject });
        this.turn(pool);
      });
    }
  }

  /** Stops starting batches and waits for those running; what is left is deleted by `graft down`. */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.allSettled([...this.running]);
    for (const pool of this.hosts.values())
      for (const waiter of pool.waiters.splice(0)) waiter.reject(new Error(`the account pool of ${pool.host.name} is stopped`));
  }

  private pool(host: HostRecord): HostPool {
    let pool = this.hosts.get(host.name);
    if (!pool) {
      pool = { host, target: 0, busy: false, waiters: [], pausedUntil: 0 };
      this.hosts.set(host.name, pool);
    }
    pool.host = host;
    return pool;
  }

  /** Starts the host's next batch if one is due: filling first, deleting when the pool is full. */
  private turn(pool: HostPool): void {
    if (pool.busy || this.stopped || Date.now() < pool.pausedUntil) return;
    const ready = this.rows.list(this.sessionId, ['ready'], pool.host.name).length;
    const need = Math.max(pool.target, pool.waiters.length) - ready;
    const admin = new HostAdmin(this.runtime.pool, pool.host, this.runtime.env);
    let batch: (() => Promise<void>) | undefined;
    if (need > 0) {
      batch = async () => {
        const started = performance.now();
        const made = await admin.fillPool(this.sessionId, Math.min(need, fillBatch));
        this.rows.addReady(this.sessionId, pool.host.name, made);
        this.emit(pool.host, 'pool.filled', `${pool.host.name}: ${made.length} pool account(s) made`, {
          made: made.length,
          ms: Math.round(performance.now() - started),
        });
      };
    } else {
      const spent = this.rows.list(this.sessionId, ['spent'], pool.host.name);
      if (spent.length >= deleteBatch) {
        batch = async () => {
          const deleted = await admin.deletePooled(
            this.sessionId,
            spent.slice(0, 64).map((r) => r.account),
          );
          this.rows.mark(this.sessionId, pool.host.name, deleted, 'deleted');
          this.emit(pool.host, 'pool.deleted', `${pool.host.name}: ${deleted.length} revoked account(s) deleted`, { deleted: deleted.length });
        };
      }
    }
    if (!batch) return;
    pool.busy = true;
    const done = batch()
      .then(
        () => {
          for (const waiter of pool.waiters.splice(0)) waiter.resolve();
        },
        (error: Error) => {
          pool.pausedUntil = Date.now() + retryMs;
          this.emit(pool.host, 'warning', `${pool.host.name}: the account pool's batch failed: ${error.message}`);
          for (const waiter of pool.waiters.splice(0)) waiter.reject(error);
          setTimeout(() => this.turn(pool), retryMs).unref();
        },
      )
      .finally(() => {
        pool.busy = false;
        this.running.delete(done);
        this.turn(pool);
      });
    this.running.add(done);
  }

  private emit(host: HostRecord, code: 'pool.filled' | 'pool.deleted' | 'warning', message: string, data?: Record<string, unknown>): void {
    this.runtime.events.emit({
      code,
      level: code === 'warning' ? 'warn' : 'debug',
      message,
      session: this.sessionId,
      host: host.name,
      data: { host: host.name, ...data },
    });
  }
}

/**
 * Deletes every pool account of the session on the host (revoking any still claimed) and checks
 * by looking again that none is left: `graft down` reports a host clean only after this.
 * Returns what is still there (empty when clean).
 */
export async function drainHostPool(runtime: GraftRuntime, sessionId: string, host: HostRecord, sharing: string[] = [host.name]): Promise<string[]> {
  const admin = new HostAdmin(runtime.pool, host, runtime.env);
  const rows = new PoolStore(runtime.store);
  await admin.deletePooled(sessionId, 'all');
  const left = new Set((await admin.listPool(sessionId)).map((l) => `${l.account} (${l.state})`));
  const still = new Set([...left].map((l) => l.split(' ')[0]));
  // Hosts sharing the machine (local hosts) share its accounts: every one of their rows is settled here.
  for (const name of sharing) {
    rows.mark(
      sessionId,
      name,
      rows
        .list(sessionId, ['ready', 'claimed', 'spent'], name)
        .map((r) => r.account)
        .filter((a) => !still.has(a)),
      'deleted',
    );
  }
  return [...left].map((l) => `pool account ${l} on ${host.name}`);
}
