/**
 * One SSH connection to one account on one host, reused for every exec, SFTP
 * transfer and forward to it. Connecting verifies the pinned host key, always.
 */
import type { Duplex } from 'node:stream';
import pLimit from 'p-limit';
import type { Client } from 'ssh2';
import { SshError } from '../errors.js';
import { runCommand, type ExecTarget } from './exec.js';
import { RemoteForwards, type ForwardedConnectionHandler, type RemoteForward } from './forwarding.js';
import { abortReason, dial, type SshConnectionOptions } from './dial.js';
import { createHostKeyCheck, describeEndpoint } from './host-keys.js';
import { SftpSession } from './sftp.js';
import type { ExecOptions, ExecResult, SshEndpoint } from './types.js';

/** How a connection ended: closed by graft, or dropped (host gone, network cut, keepalives unanswered). */
export interface ConnectionEnd {
  dropped: boolean;
  /** Why it dropped, when it did. */
  error?: SshError;
}

const CLOSE_GRACE_MS = 1000;
/** Commands at once per connection; see SshConnection.sessions. */
export const maxConcurrentCommands = 8;
/** Tries of a command whose channel sshd refused to open (about 4 s in all). */
const channelOpenAttempts = 20;

/** A live, authenticated connection. Create it with `SshConnection.open`. */
export class SshConnection {
  /** Resolves (never rejects) when the connection is over, saying whether it dropped. */
  readonly ended: Promise<ConnectionEnd>;
  private readonly dropListeners = new Set<(error: SshError) => void>();
  private readonly sftp: SftpSession;
  private readonly forwards: RemoteForwards;
  private readonly describe: string;
  private closing = false;
  private open = true;
  /**
   * A host's sshd allows 10 sessions per connection by default (MaxSessions), and the SFTP
   * channel is one: at most 8 commands run at once on a connection, the others wait their turn
   * rather than be refused when many agents are made on one host at once.
   */
  private readonly sessions = pLimit(maxConcurrentCommands);

  private constructor(
    readonly endpoint: SshEndpoint,
    private readonly client: Client,
  ) {
    this.describe = describeEndpoint(endpoint);
    this.sftp = new SftpSession(client, this.describe);
    this.forwards = new RemoteForwards(client, this.describe);
    let lastError: Error | undefined;
    client.on('error', (error: Error) => {
      lastError = error;
    });
    this.ended = new Promise<ConnectionEnd>((resolve) => {
      client.once('close', () => {
        this.open = false;
        if (this.closing) {
          resolve({ dropped: false });
          return;
        }
        const error = new SshError(`Connection to ${this.describe} dropped${lastError ? `: ${lastError.message}` : ''}`, 'SSH_DISCONNECTED', {
          cause: lastError,
        });
        for (const listener of this.dropListeners) listener(error);
        this.dropListeners.clear();
        resolve({ dropped: true, error });
      });
    });
  }

  /**
   * Connects and authenticates. Rejects with SecurityError when nothing is pinned (before dialing)
   * or the host presents an unpinned key, and with SshError SSH_UNREACHABLE, SSH_TIMEOUT, SSH_AUTH
   * or SSH_DISCONNECTED otherwise; never later than `connectTimeoutMs` without finishing the key
   * exchange, nor that long again after it without logging in. An unusable private key is
   * a ConfigError naming its file, raised before dialing. When `signal` aborts, the dial stops
   * at once (socket destroyed) and rejects with the signal's reason. `through` is a stream to
   * speak SSH over instead of a TCP connection of its own: a channel opened by `forwardOut` on
   * the connection to the endpoint's jump host.
   */
  static async open(endpoint: SshEndpoint, options: SshConnectionOptions = {}, signal?: AbortSignal, through?: Duplex): Promise<SshConnection> {
    const check = createHostKeyCheck(endpoint);
    const client = await dial(endpoint, check, options, signal, through);
    return new SshConnection(endpoint, client);
  }

  /** False once the connection closed or dropped. */
  get isOpen(): boolean {
    return this.open && !this.closing;
  }

  /**
   * Runs a command through the login shell of the account. Resolves with its exit status
   * (a non-zero exit is a result, not an error). Rejects with SSH_TIMEOUT after `timeoutMs`
   * (the remote process group is sent SIGKILL), with the signal's reason when aborted,
   * with SSH_DISCONNECTED when the connection drops meanwhile.
   */
  exec(command: string, options: ExecOptions = {}): Promise<ExecResult> {
    return this.sessions(async () => {
      for (let attempt = 1; ; attempt += 1) {
        try {
          return await runCommand(this.execTarget(), command, options);
        } catch (error) {
          // sshd frees a finished command's session a moment after its channel closes, so an
          // open can still be refused at the limit: a refused open ran nothing, and is tried again.
          const refused = error instanceof SshError && error.code === 'SSH_CHANNEL' && /Channel open failure/.test(error.message);
          if (!refused || attempt >= channelOpenAttempts || options.signal?.aborted || !this.isOpen) throw error;
          await new Promise((resolve) => setTimeout(resolve, 20 * attempt));
        }
      }
    });
  }

  /** Uploads a local file (path) or bytes; `mode` is set exactly when given. */
  putFile(source: string | Buffer, remotePath: string, mode?: number): Promise<void> {
    return this.sftp.put(source, remotePath, mode);
  }

  /** Downloads a remote file to a local path. */
  getFile(remotePath: string, localPath: string): Promise<void> {
    return this.sftp.get(remotePath, localPath);
  }

  /**
   * Makes the host listen on `remoteHost:remotePort` (0 = any free port) and hands each
   * connection it accepts to `onConnection`. Stop with the returned forward's `close()`.
   */
  forwardRemote(remoteHost: string, remotePort: number, onConnection: ForwardedConnectionHandler): Promise<RemoteForward> {
    return this.forwards.open(remoteHost, remotePort, onConnection);
  }

  /**
   * Opens a TCP connection from the host to `host:port` (`ssh -W`, a direct-tcpip channel), for
   * reaching a host behind this one. Rejects with SSH_UNREACHABLE when the host cannot connect
   * there or its sshd forbids forwarding (AllowTcpForwarding), with SSH_TIMEOUT after `timeoutMs`,
   * with the signal's reason when it aborts; `target` names what is being reached, for messages.
   */
  forwardOut(host: string, port: number, target: string, timeoutMs: number, signal?: AbortSignal): Promise<Duplex> {
    return new Promise<Duplex>((resolve, reject) => {
      let settled = false;
      const settle = (error: unknown, stream?: Duplex): void => {
        if (settled) {
          // Too late: the caller gave up; a channel that opens now is closed at once.
          stream?.destroy();
          return;
        }
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (stream) resolve(stream);
        else reject(error);
      };
      const onAbort = (): void => settle(signal ? abortReason(signal) : new Error('aborted'));
      const timer = setTimeout(
        () =>
          settle(
            new SshError(`Timed out after ${timeoutMs} ms reaching ${target} through the jump host ${this.describe}`, 'SSH_TIMEOUT', {
              actions: [`Check that ${host} port ${port} answers from the jump host.`],
            }),
          ),
        timeoutMs,
      );
      signal?.addEventListener('abort', onAbort, { once: true });
      const refused = (error: Error): SshError =>
        new SshError(`Cannot reach ${target} through the jump host ${this.describe}: ${error.message}`, 'SSH_UNREACHABLE', {
          cause: error,
          actions: [`Check that ${host} port ${port} answers from the jump host, and that its sshd allows forwarding (AllowTcpForwarding yes).`],
        });
      try {
        this.client.forwardOut('127.0.0.1', 0, host, port, (error, stream) => settle(error ? refused(error) : undefined, error ? undefined : stream));
      } catch (error) {
        // ssh2 throws at once when the connection is already gone.
        settle(refused(error as Error));
      }
    });
  }

  /** Closes the connection; running commands end with SSH_DISCONNECTED. Idempotent. */
  async close(): Promise<void> {
    if (this.closing || !this.open) {
      await this.ended;
      return;
    }
    this.closing = true;
    const error = new SshError(`Connection to ${this.describe} was closed by graft`, 'SSH_DISCONNECTED');
    for (const listener of this.dropListeners) listener(error);
    this.dropListeners.clear();
    this.sftp.close();
    this.client.end();
    // A host that stopped answering never acknowledges the disconnect: don't wait on it.
    const grace = setTimeout(() => this.client.destroy(), CLOSE_GRACE_MS);
    await this.ended;
    clearTimeout(grace);
  }

  private execTarget(): ExecTarget {
    return {
      client: this.client,
      describe: this.describe,
      watchDrop: (listener) => {
        this.dropListeners.add(listener);
        return () => this.dropListeners.delete(listener);
      },
    };
  }
}
