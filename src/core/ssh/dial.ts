/**
 * Dialing one SSH login: TCP (or a jump host's channel), the handshake with the pinned host key
 * check, authentication, each failure turned into a typed error that says what to check.
 */
import { connect as connectTcp } from 'node:net';
import type { Duplex } from 'node:stream';
import { Client, type ConnectConfig } from 'ssh2';
import { ConfigError, SshError } from '../errors.js';
import { checkPrivateKey, readPrivateKeyFile } from './keys.js';
import { describeEndpoint, hostKeyAlgorithmsFor, hostKeyMismatchError, type HostKeyCheck } from './host-keys.js';
import type { SshEndpoint } from './types.js';

/** Tuning of how connections are made and kept alive. */
export interface SshConnectionOptions {
  /**
   * Bounds TCP connect and the key exchange, then again the login once the key exchange is done
   * (see dial). Default 10000.
   */
  connectTimeoutMs?: number;
  /** SSH-level keepalive period. Default 15000. */
  keepaliveIntervalMs?: number;
  /** Unanswered keepalives before the connection counts as dropped. Default 3. */
  keepaliveCountMax?: number;
}

const NETWORK_UNREACHABLE = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EADDRNOTAVAIL']);
/** See SshConnectionOptions.connectTimeoutMs. */
export const defaultConnectTimeoutMs = 10_000;

/**
 * TCP connect with Nagle off, SSH handshake with the pinned key check, authentication.
 * Everything that can be refused without the network (no key, an unusable key) is refused
 * before the socket and the timer exist, so a bad key costs nothing and leaves nothing behind.
 */
export async function dial(endpoint: SshEndpoint, check: HostKeyCheck, options: SshConnectionOptions, signal?: AbortSignal, through?: Duplex): Promise<Client> {
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
    // ssh2's readyTimeout starts only once TCP is up and does not cover authentication; this covers
    // it all, in two stages of `timeoutMs` each: up to the end of the key exchange, then the
    // login. A host that has proved its key is alive; a busy one (its sshd forks and re-execs for
    // every login) gets the time again to let us in instead of having its half-done login thrown
    // away and dialed again. A host that never finishes the key exchange still fails in `timeoutMs`.
    const timedOut = () =>
      fail(
        new SshError(`Timed out after ${timeoutMs} ms connecting to ${describe}: the host did not complete the SSH handshake and login`, 'SSH_TIMEOUT', {
          actions: [`Check that an SSH server answers on ${endpoint.host} port ${endpoint.port} (ssh-keyscan -p ${endpoint.port} ${endpoint.host}).`],
        }),
      );
    let timer = setTimeout(timedOut, timeoutMs);
    client.once('handshake', () => {
      if (settled) return;
      clearTimeout(timer);
      timer = setTimeout(timedOut, timeoutMs);
    });
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
        // Ours (above) decides; ssh2's own, which runs to the end of the login, only backs it up.
        readyTimeout: 2 * timeoutMs + 1_000,
        keepaliveInterval: options.keepaliveIntervalMs ?? 15_000,
        keepaliveCountMax: options.keepaliveCountMax ?? 3,
      });
    } catch (error) {
      // ssh2 validates its settings synchronously; the key is the part the user gave us.
      fail(
        new ConfigError(
          [{ file: keySource(endpoint), path: '', message: `ssh2 cannot use these connection settings: ${(error as Error).message}` }],
          ['Give the private key file (not the .pub), in OpenSSH or PEM format; for an encrypted key also give its passphrase.'],
        ),
      );
    }
  });
}

async function authConfig(endpoint: SshEndpoint): Promise<{ config: Partial<ConnectConfig>; description: string }> {
  if (endpoint.privateKey !== undefined || endpoint.privateKeyFile !== undefined) {
    const source = keySource(endpoint);
    let privateKey = endpoint.privateKey;
    if (privateKey === undefined) privateKey = await readPrivateKeyFile(source, endpoint.passphrase);
    else checkPrivateKey(privateKey, source, endpoint.passphrase);
    return {
      config: { privateKey, passphrase: endpoint.passphrase },
      description: endpoint.privateKeyFile ? `the private key ${endpoint.privateKeyFile}` : 'the configured private key',
    };
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

export function abortReason(signal: AbortSignal): unknown {
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
      actions: [
        `Check that the public key is in ~${endpoint.username}/.ssh/authorized_keys (or the host's AuthorizedKeysFile) and that the account is not locked.`,
      ],
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
