/**
 * Remote port forwarding (`ssh -R`): the host listens, and every connection it
 * accepts arrives here as a stream. Agents reach the controller this way
 * without the controller being reachable from the host's network.
 */
import type { Duplex } from 'node:stream';
import type { Client, TcpConnectionDetails } from 'ssh2';
import { SshError } from '../errors.js';

/** Where a forwarded connection came from, as the host reports it. */
export interface ForwardedConnectionInfo {
  /** Address and port of the process on the host that connected. */
  sourceAddress: string;
  sourcePort: number;
  /** The forwarded address and port it connected to. */
  destinationAddress: string;
  destinationPort: number;
}

/** Receives each connection made to a forwarded port; owns the stream from then on. */
export type ForwardedConnectionHandler = (stream: Duplex, info: ForwardedConnectionInfo) => void;

/** A listening remote forward. */
export interface RemoteForward {
  /** Address the host listens on, as requested. */
  remoteHost: string;
  /** The port the host listens on (the one it picked when 0 was asked for). */
  port: number;
  /** Stops listening on the host. Connections already handed over stay open. Idempotent. */
  close(): Promise<void>;
}

/** The forwards of one connection, and the dispatch of the host's incoming connections to them. */
export class RemoteForwards {
  private readonly handlers = new Map<string, ForwardedConnectionHandler>();

  constructor(
    private readonly client: Client,
    private readonly describe: string,
  ) {
    client.on('tcp connection', (details: TcpConnectionDetails, accept, reject) => {
      const handler = this.handlers.get(key(details.destIP, details.destPort));
      if (!handler) {
        reject();
        return;
      }
      const stream = accept();
      handler(stream, {
        sourceAddress: details.srcIP,
        sourcePort: details.srcPort,
        destinationAddress: details.destIP,
        destinationPort: details.destPort,
      });
    });
  }

  /** Asks the host to listen on `remoteHost:remotePort` (0 = any free port). */
  open(remoteHost: string, remotePort: number, onConnection: ForwardedConnectionHandler): Promise<RemoteForward> {
    return new Promise<RemoteForward>((resolve, reject) => {
      try {
        this.client.forwardIn(remoteHost, remotePort, (error, port) => {
          if (error) {
            reject(
              new SshError(`${this.describe} refused to forward ${remoteHost}:${remotePort}: ${error.message}`, 'SSH_CHANNEL', {
                cause: error,
                actions: ['The host\'s sshd needs "AllowTcpForwarding yes" (or "remote"), and the port must be free on the host.'],
              }),
            );
            return;
          }
          const bound = port || remotePort;
          this.handlers.set(key(remoteHost, bound), onConnection);
          resolve({ remoteHost, port: bound, close: () => this.stop(remoteHost, bound) });
        });
      } catch (error) {
        reject(new SshError(`Connection to ${this.describe} is not open`, 'SSH_DISCONNECTED', { cause: error }));
      }
    });
  }

  private stop(remoteHost: string, port: number): Promise<void> {
    if (!this.handlers.delete(key(remoteHost, port))) return Promise.resolve();
    return new Promise<void>((resolve) => {
      try {
        // Errors are ignored: a dead connection or an already-gone listener both mean "not forwarding".
        this.client.unforwardIn(remoteHost, port, () => resolve());
      } catch {
        resolve();
      }
    });
  }
}

function key(address: string, port: number): string {
  return `${address}:${port}`;
}
