import type { Server } from 'node:net';
import { BugError, UsageError } from './errors.js';

/**
 * Starts `server` on 127.0.0.1 (the controller's servers — agent channel, model gateway — are
 * reached only through SSH tunnels, never from the network) and resolves with its port; `what`
 * names it in errors. Port 0 picks a free one.
 */
export function listenOnLoopback(server: Server, port: number, what: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE')
        reject(new UsageError(`cannot start ${what}: port ${port} on 127.0.0.1 is in use`, ['Choose another port, or 0 for any free one.']));
      else reject(new BugError(`cannot start ${what} on 127.0.0.1:${port}: ${error.message}`, error));
    });
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : port);
    });
  });
}
