/**
 * The connections of a graft process, one per (account, host, port), shared by
 * everything that talks to that account. Concurrent callers share one dial;
 * a dropped connection is replaced on next use; a failed dial is not remembered.
 */
import { SshConnection, type SshConnectionOptions } from './connection.js';
import type { ExecOptions, ExecResult, SshEndpoint } from './types.js';

/** Pool-wide connection settings; see SshConnectionOptions for the defaults. */
export type SshPoolOptions = SshConnectionOptions;

export class SshPool {
  private readonly connections = new Map<string, Promise<SshConnection>>();
  private dials = 0;

  constructor(private readonly options: SshPoolOptions = {}) {}

  /** How many connections this pool has dialed so far (each reconnect counts). */
  get connectionsOpened(): number {
    return this.dials;
  }

  /**
   * The open connection for the endpoint's `username@host:port`, dialing it if there is none
   * or the previous one dropped. Rejects like `SshConnection.open`.
   */
  connection(endpoint: SshEndpoint): Promise<SshConnection> {
    const key = poolKey(endpoint);
    const existing = this.connections.get(key);
    if (existing) {
      // A settled, dropped connection is replaced; an in-flight dial is shared.
      return existing.then((connection) => (connection.isOpen ? connection : this.dial(key, endpoint, existing)));
    }
    return this.dial(key, endpoint, undefined);
  }

  /** Runs one command on the endpoint over its pooled connection. */
  async exec(endpoint: SshEndpoint, command: string, options?: ExecOptions): Promise<ExecResult> {
    const connection = await this.connection(endpoint);
    return connection.exec(command, options);
  }

  /** Closes every connection; the pool stays usable and dials again on next use. */
  async closeAll(): Promise<void> {
    const pending = [...this.connections.values()];
    this.connections.clear();
    await Promise.all(pending.map((connecting) => connecting.then((connection) => connection.close(), () => undefined)));
  }

  private dial(key: string, endpoint: SshEndpoint, replacing: Promise<SshConnection> | undefined): Promise<SshConnection> {
    // Several callers may find the same dropped connection at once: the first one's dial is shared.
    const current = this.connections.get(key);
    if (current && current !== replacing) return current.then((connection) => (connection.isOpen ? connection : this.dial(key, endpoint, current)));
    this.dials += 1;
    const connecting = SshConnection.open(endpoint, this.options);
    this.connections.set(key, connecting);
    connecting.then(
      (connection) => {
        void connection.ended.then(() => {
          if (this.connections.get(key) === connecting) this.connections.delete(key);
        });
      },
      () => {
        if (this.connections.get(key) === connecting) this.connections.delete(key);
      },
    );
    return connecting;
  }
}

function poolKey(endpoint: SshEndpoint): string {
  return `${endpoint.username}@${endpoint.host}:${endpoint.port}`;
}
