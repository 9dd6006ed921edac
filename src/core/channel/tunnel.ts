/**
 * The reverse tunnel of the agent channel: the host listens on its own 127.0.0.1 and every
 * connection made there is carried over the session admin's pooled SSH connection to the
 * channel server on the controller's 127.0.0.1. The controller needs no address the host can
 * reach; agents dial loopback. TLS runs end to end inside it: the tunnel sees only ciphertext.
 */
import { connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { SshError } from '../errors.js';
import type { HostShell } from '../hosts/host-shell.js';

/** An open tunnel from a host to the local channel server. */
export interface ChannelTunnel {
  /** The port the host listens on (127.0.0.1). */
  readonly remotePort: number;
  /** What agents on the host dial: `https://127.0.0.1:<remotePort>`. */
  readonly url: string;
  /**
   * Settles when the tunnel stops carrying connections: `lost: true` when its SSH connection
   * dropped (reopen it, preferring the same port), `lost: false` after `close()`.
   */
  readonly ended: Promise<{ lost: boolean }>;
  /** Stops listening on the host and ends the connections it carries. Idempotent. */
  close(): Promise<void>;
}

/** The URL agents on a host use for a tunnel's remote port. */
export function channelUrl(remotePort: number): string {
  return `https://127.0.0.1:${remotePort}`;
}

/**
 * Opens a remote forward on the host's 127.0.0.1 to `localPort` on this machine's 127.0.0.1,
 * over the pooled connection of `shell` (the host's admin login). `preferredRemotePort` is
 * tried first, so a controller that restarts keeps the URL agents already have; if the host
 * refuses it (taken, say), any free port is used and the caller must rewrite the URL files.
 */
export async function openChannelTunnel(shell: HostShell, localPort: number, preferredRemotePort?: number): Promise<ChannelTunnel> {
  const connection = await shell.connection();
  const carried = new Set<{ stream: Duplex; socket: Socket }>();
  const carry = (stream: Duplex) => {
    const socket = connect({ host: '127.0.0.1', port: localPort });
    const pair = { stream, socket };
    carried.add(pair);
    const end = () => {
      carried.delete(pair);
      stream.destroy();
      socket.destroy();
    };
    // Either side failing (the server restarting, the agent's curl killed) ends both.
    stream.on('error', end).on('close', end);
    socket.on('error', end).on('close', end);
    stream.pipe(socket).pipe(stream);
  };

  let forward;
  try {
    forward = await connection.forwardRemote('127.0.0.1', preferredRemotePort ?? 0, carry);
  } catch (error) {
    if (!preferredRemotePort || !(error instanceof SshError)) throw error;
    forward = await connection.forwardRemote('127.0.0.1', 0, carry);
  }

  const opened = forward;
  let markClosed!: () => void;
  const closedByCaller = new Promise<void>((resolve) => (markClosed = resolve));
  let closing: Promise<void> | undefined;
  return {
    remotePort: opened.port,
    url: channelUrl(opened.port),
    ended: Promise.race([connection.ended.then(() => ({ lost: true })), closedByCaller.then(() => ({ lost: false }))]),
    close() {
      closing ??= (async () => {
        markClosed();
        await opened.close();
        for (const pair of [...carried]) {
          pair.stream.destroy();
          pair.socket.destroy();
        }
      })();
      return closing;
    },
  };
}
