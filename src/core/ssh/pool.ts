/**
 * The connections of a graft process, one per (account, host, port, jump), shared by
 * everything that talks to that account. Concurrent callers share one dial;
 * a dropped connection is replaced on next use; a failed dial is not remembered.
 * A host behind a jump host is reached through the jump's pooled connection, so the
 * admin login and every agent of that host share one connection to the bastion.
 */
import { SshError } from '../errors.js';
import { SshConnection } from './connection.js';
import { defaultConnectTimeoutMs, type SshConnectionOptions } from './dial.js';
import { describeEndpoint } from './host-keys.js';
import type { ExecOptions, ExecResult, SshEndpoint } from './types.js';

/** Pool-wide connection settings; see SshConnectionOptions for the defaults. */
export type SshPoolOptions = SshConnectionOptions;

/** How one caller waits for a connection. */
export interface ConnectionRequest {
  /**
   * The caller's deadline or cancellation. The caller is released when it aborts; the shared
   * dial itself is aborted once no caller is left waiting for it.
   */
  signal?: AbortSignal;
}

/** One dial (in flight or done) and who still waits for it. */
interface PoolEntry {
  connecting: Promise<SshConnection>;
  /** Aborts the dial: when its last waiter gives up, or when the pool is closed. */
  controller: AbortController;
  waiters: number;
  settled: boolean;
}

export class SshPool {
  private readonly entries = new Map<string, PoolEntry>();
  private dials = 0;

  constructor(private readonly options: SshPoolOptions = {}) {}

  /** How many connections this pool has dialed so far (each reconnect counts). */
  get connectionsOpened(): number {
    return this.dials;
  }

  /**
   * The open connection for the endpoint's `username@host:port`, dialing it if there is none
   * or the previous one dropped. Rejects like `SshConnection.open`, or with the signal's reason.
   */
  async connection(endpoint: SshEndpoint, request: ConnectionRequest = {}): Promise<SshConnection> {
    const key = poolKey(endpoint);
    const existing = this.entries.get(key);
    if (existing) {
      const connection = await this.waitFor(key, existing, request.signal);
      if (connection.isOpen) return connection;
      // Dropped: the first caller to notice replaces it, later ones share that new dial.
      if (this.entries.get(key) === existing) this.entries.delete(key);
    }
    const entry = this.entries.get(key) ?? this.dial(key, endpoint);
    return this.waitFor(key, entry, request.signal);
  }

  /** Runs one command on the endpoint over its pooled connection; `options.signal` bounds connecting too. */
  async exec(endpoint: SshEndpoint, command: string, options?: ExecOptions): Promise<ExecResult> {
    const connection = await this.connection(endpoint, { signal: options?.signal });
    return connection.exec(command, options);
  }

  /**
   * Closes every connection and aborts every dial still in flight (a host that stopped
   * answering must not hold the caller until its connect timeout). The pool stays usable
   * and dials again on next use.
   */
  async closeAll(): Promise<void> {
    const entries = [...this.entries.entries()];
    this.entries.clear();
    for (const [key, entry] of entries) {
      if (!entry.settled) entry.controller.abort(new SshError(`Connecting to ${key} was abandoned: the SSH pool was closed`, 'SSH_DISCONNECTED'));
    }
    await Promise.all(
      entries.map(([, entry]) =>
        entry.connecting.then(
          (connection) => connection.close(),
          () => undefined,
        ),
      ),
    );
  }

  private dial(key: string, endpoint: SshEndpoint): PoolEntry {
    this.dials += 1;
    const controller = new AbortController();
    const entry: PoolEntry = { connecting: this.open(endpoint, controller.signal), controller, waiters: 0, settled: false };
    this.entries.set(key, entry);
    entry.connecting.then(
      (connection) => {
        entry.settled = true;
        void connection.ended.then(() => {
          if (this.entries.get(key) === entry) this.entries.delete(key);
        });
      },
      () => {
        entry.settled = true;
        if (this.entries.get(key) === entry) this.entries.delete(key);
      },
    );
    return entry;
  }

  /** Dials directly, or through a channel of the jump host's pooled connection. */
  private async open(endpoint: SshEndpoint, signal: AbortSignal): Promise<SshConnection> {
    if (!endpoint.jump) return SshConnection.open(endpoint, this.options, signal);
    const jump = await this.connection(endpoint.jump, { signal });
    const channel = await jump.forwardOut(
      endpoint.host,
      endpoint.port,
      describeEndpoint(endpoint),
      this.options.connectTimeoutMs ?? defaultConnectTimeoutMs,
      signal,
    );
    try {
      return await SshConnection.open(endpoint, this.options, signal, channel);
    } catch (error) {
      channel.destroy();
      throw error;
    }
  }

  /** Waits for the entry's dial, released early when `signal` aborts; the last waiter to leave aborts the dial. */
  private waitFor(key: string, entry: PoolEntry, signal: AbortSignal | undefined): Promise<SshConnection> {
    if (signal?.aborted) return Promise.reject(signal.reason ?? new SshError(`Connecting to ${key} was aborted`, 'SSH_DISCONNECTED'));
    entry.waiters += 1;
    if (!signal || entry.settled) return entry.connecting.finally(() => (entry.waiters -= 1));
    return new Promise<SshConnection>((resolve, reject) => {
      let waiting = true;
      const leave = (): boolean => {
        if (!waiting) return false;
        waiting = false;
        entry.waiters -= 1;
        signal.removeEventListener('abort', onAbort);
        return true;
      };
      const onAbort = (): void => {
        if (!leave()) return;
        const reason: unknown = signal.reason ?? new SshError(`Connecting to ${key} was aborted`, 'SSH_DISCONNECTED');
        if (entry.waiters === 0 && !entry.settled) {
          // Nobody wants this dial any more: stop it now rather than at its connect timeout.
          if (this.entries.get(key) === entry) this.entries.delete(key);
          entry.controller.abort(reason);
        }
        reject(reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      entry.connecting.then(
        (connection) => leave() && resolve(connection),
        (error: unknown) => leave() && reject(error),
      );
    });
  }
}

/** `user@host:port`, and the jump chain after it: the same address behind two bastions is two hosts. */
function poolKey(endpoint: SshEndpoint): string {
  const key = `${endpoint.username}@${endpoint.host}:${endpoint.port}`;
  return endpoint.jump ? `${key} via ${poolKey(endpoint.jump)}` : key;
}
