/**
 * Probing loopback ports for local hosts: a free port to give sshd, and whether sshd
 * answers on it yet.
 */
import { createServer, connect as connectTcp } from 'node:net';
import { ProviderError } from '../../errors.js';

/** Asks the kernel for a free port on the address; the small race until sshd binds is handled by retrying. */
export function pickFreePort(address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', (error) => reject(new ProviderError(`Cannot listen on ${address}: ${error.message}`, { cause: error })));
    server.listen(0, address, () => {
      const bound = server.address();
      server.close(() => (typeof bound === 'object' && bound ? resolve(bound.port) : reject(new ProviderError(`No port on ${address}`))));
    });
  });
}

/** True when the port answers with an SSH-2.0 banner line within a second. */
export function answersWithBanner(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connectTcp({ host: address, port });
    let received = '';
    const done = (answer: boolean): void => {
      socket.destroy();
      resolve(answer);
    };
    socket.setTimeout(1000, () => done(false));
    socket.on('data', (chunk) => {
      received += chunk.toString('latin1');
      if (received.includes('\n')) done(received.startsWith('SSH-2.0-'));
    });
    socket.once('error', () => done(false));
    socket.once('close', () => done(false));
  });
}
