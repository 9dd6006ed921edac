/**
 * One SSH connection to one account on one host, reused for every exec, SFTP
 * transfer and forward to it. Connecting verifies the pinned host key, always.
 */
import { connect as connectTcp } from 'node:net';
import type { Duplex } from 'node:stream';
import pLimit from 'p-limit';
import { Client, type ConnectConfig } from 'ssh2';
import { ConfigError, SshError } from '../errors.js';
import { runCommand, type ExecTarget } from './exec.js';
import { RemoteForwards, type ForwardedConnectionHandler, type RemoteForward } from './forwarding.js';
import { checkPrivateKey, readPrivateKeyFile } from './keys.js';
import { createHostKeyCheck, describeEndpoint, hostKeyAlgorithmsFor, hostKeyMismatchError, type HostKeyCheck } from './host-keys.js';
import { SftpSession } from './sftp.js';
import type { ExecOptions, ExecResult, SshEndpoint } from './types.js';

/** Tuning of how connections are made and kept alive. */
export interface SshConnectionOptions {
  /** Bounds TCP connect, handshake and authentication together. Default 10000. */
  connectTimeoutMs?: number;
  /** SSH-level keepalive period. Default 15000. */
  keepaliveIntervalMs?: number;
  /** Unanswered keepalives before the connection counts as dropped. Default 3. */
  keepaliveCountMax?: number;
}

/** How a connection ended: closed by graft, or dropped (host gone, network cut, keepalives unanswered). */
export interface ConnectionEnd {
  dropped: boolean;
  /** Why it dropped, when it did. */
  error?: SshError;
}

const NETWORK_UNREACHABLE = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EADDRNOTAVAIL']);
const CLOSE_GRACE_MS = 1000;
/** See SshConnectionOptions.connectTimeoutMs. */
export const defaultConnectTimeoutMs = 10_000;
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
        const error = new SshError(`Connection to ${this.describe} dropped${lastError ? `: ${lastError.message}` : ''}`, 'SSH_DISCONNECTED', { cause: lastError });
        for (const listener of this.dropListeners) listener(error);
        this.dropListeners.clear();
        resolve({ dropped: true, error });
      });
    });
  }

  /**
   * Connects and authenticates. Rejects with SecurityError when nothing is pinned (before dialing)
   * or the host presents an unpinned key, and with SshError SSH_UNREACHABLE, SSH_TIMEOUT, SSH_AUTH
   * or SSH_DISCONNECTED otherwise; never later than `connectTimeoutMs`. An unusable private key is
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
        () => settle(new SshError(`Timed out after ${timeoutMs} ms reaching ${target} through the jump host ${this.describe}`, 'SSH_TIMEOUT', {
          actions: [`Check that ${host} port ${port} answers from the jump host.`],
        })),
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

/**
 * TCP connect with Nagle off, SSH handshake with the pinned key check, authentication.
 * Everything that can be refused without the network (no key, an unusable key) is refused
 * before the socket and the timer exist, so a bad key costs nothing and leaves nothing behind.
 */
async function dial(endpoint: SshEndpoint, check: HostKeyCheck, options: SshConnectionOptions, signal?: AbortSignal, through?: Duplex): Promise<Client> {
  const timeoutMs = options.connectTimeoutMs ?? defaultConnectTimeoutMs;
  const describe = describeEndpoint(endpoint);
  const auth = await authConfig(endpoint);
  if (signal?.aborted) throw abortReason(signal);
  return new Promise<Client>((resolve, reject) => {
    let settled = false;
    // Our own socket so that Nagle is off from the first byte: without it each exec costs ~40 ms more.
    // Through a jump host, the jump's own socket already has it off.
    const socket: Duplex = through ?? connectTcp({ host: endpoint.host, port: endpoint.port }).setNoDelay(true);
    const client = new Client();
    const fail = (error: unknown): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      client.destroy();
      reject(error);
    };
    // The caller's deadline (or a pool being closed) ends the dial at once, whatever stage it is in.
    const onAbort = (): void => fail(signal ? abortReason(signal) : new Error('aborted'));
    // ssh2's readyTimeout starts only once TCP is up and does not cover authentication; this covers it all.
    const timer = setTimeout(
      () => fail(new SshError(`Timed out after ${timeoutMs} ms connecting to ${describe}: the host did not complete the SSH handshake and login`, 'SSH_TIMEOUT', {
        actions: [`Check that an SSH server answers on ${endpoint.host} port ${endpoint.port} (ssh-keyscan -p ${endpoint.port} ${endpoint.host}).`],
      })),
      timeoutMs,
    );
    signal?.addEventListener('abort', onAbort, { once: true });
    client.on('error', (error: Error) => fail(classifyConnectError(error, endpoint, check, auth.description, timeoutMs)));
    client.once('close', () => fail(new SshError(`${describe} closed the connection during login`, 'SSH_DISCONNECTED')));
    client.once('ready', () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      client.removeAllListeners('error');
      client.removeAllListeners('close');
      resolve(client);
    });
    try {
      client.connect({
        sock: socket,
        username: endpoint.username,
        ...auth.config,
        hostVerifier: ((key: Buffer) => check.verify(key)) as ConnectConfig['hostVerifier'],
        algorithms: { serverHostKey: hostKeyAlgorithmsFor(check.pinned) as NonNullable<ConnectConfig['algorithms']>['serverHostKey'] },
        readyTimeout: timeoutMs,
        keepaliveInterval: options.keepaliveIntervalMs ?? 15_000,
        keepaliveCountMax: options.keepaliveCountMax ?? 3,
      });
    } catch (error) {
      // ssh2 validates its settings synchronously; the key is the part the user gave us.
      fail(new ConfigError([{ file: keySource(endpoint), path: '', message: `ssh2 cannot use these connection settings: ${(error as Error).message}` }], [
        'Give the private key file (not the .pub), in OpenSSH or PEM format; for an encrypted key also give its passphrase.',
      ]));
    }
  });
}

async function authConfig(endpoint: SshEndpoint): Promise<{ config: Partial<ConnectConfig>; description: string }> {
  if (endpoint.privateKey !== undefined || endpoint.privateKeyFile !== undefined) {
    const source = keySource(endpoint);
    let privateKey = endpoint.privateKey;
    if (privateKey === undefined) privateKey = await readPrivateKeyFile(source, endpoint.passphrase);
    else checkPrivateKey(privateKey, source, endpoint.passphrase);
    return { config: { privateKey, passphrase: endpoint.passphrase }, description: endpoint.privateKeyFile ? `the private key ${endpoint.privateKeyFile}` : 'the configured private key' };
  }
  if (endpoint.agent) return { config: { agent: endpoint.agent }, description: `the keys of the ssh-agent at ${endpoint.agent}` };
  throw new SshError(`No private key or ssh-agent is configured for ${describeEndpoint(endpoint)}`, 'SSH_AUTH', {
    actions: ['Give the host an identity file (ansible_ssh_private_key_file) or run an ssh-agent (SSH_AUTH_SOCK).'],
  });
}

/** The key's file when known, else what the key is for: what a ConfigError about it names. */
function keySource(endpoint: SshEndpoint): string {
  return endpoint.privateKeyFile ?? `private key for ${describeEndpoint(endpoint)}`;
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new Error('aborted');
}

/** Turns what ssh2 or the socket reported into a typed error; by `level`/`code`, never by message. */
function classifyConnectError(error: Error, endpoint: SshEndpoint, check: HostKeyCheck, authDescription: string, timeoutMs: number): Error {
  const describe = describeEndpoint(endpoint);
  if (check.mismatch) return hostKeyMismatchError(endpoint, check.pinned, check.mismatch.presented);
  const { level, code } = error as Error & { level?: string; code?: string | number };
  if (level === 'client-authentication') {
    return new SshError(`Authentication as ${endpoint.username} on ${describe} failed with ${authDescription}`, 'SSH_AUTH', {
      cause: error,
      actions: [`Check that the public key is in ~${endpoint.username}/.ssh/authorized_keys (or the host's AuthorizedKeysFile) and that the account is not locked.`],
    });
  }
  if (level === 'client-timeout' || code === 'ETIMEDOUT') {
    return new SshError(`Timed out after ${timeoutMs} ms connecting to ${describe}`, 'SSH_TIMEOUT', { cause: error });
  }
  if (typeof code === 'string' && NETWORK_UNREACHABLE.has(code)) {
    return new SshError(`Cannot reach ${describe}: ${code}`, 'SSH_UNREACHABLE', {
      cause: error,
      actions: [`Check the address and port, and that sshd runs there (ssh-keyscan -p ${endpoint.port} ${endpoint.host}).`],
    });
  }
  if (level === 'handshake') {
    return new SshError(`SSH handshake with ${describe} failed: ${error.message}`, 'SSH_DISCONNECTED', {
      cause: error,
      actions: [`The host must offer a host key of a pinned type (${check.pinned.map((key) => key.type).join(', ')}).`],
    });
  }
  return new SshError(`Connection to ${describe} failed during login: ${error.message}`, 'SSH_DISCONNECTED', { cause: error });
}
