import ssh2 from 'ssh2';
import { SshError } from '../errors.js';
import { blobKeyType } from './host-keys.js';

/**
 * Reads the host key a server presents, without authenticating: what `ssh-keyscan` does.
 * Used only where the user explicitly chose trust-on-first-use for a host; the key read
 * here is pinned and every later connection is verified against it.
 */
export function scanHostKey(host: string, port: number, timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const client = new ssh2.Client();
    let presented: Buffer | undefined;
    const finish = (error?: Error) => {
      clearTimeout(timer);
      client.end();
      if (presented) resolve(`${blobKeyType(presented)} ${presented.toString('base64')}`);
      else reject(error ?? new SshError(`${host}:${port} presented no host key`, 'SSH_UNREACHABLE'));
    };
    const timer = setTimeout(() => {
      client.destroy();
      finish(new SshError(`${host}:${port} did not present a host key within ${timeoutMs} ms`, 'SSH_TIMEOUT'));
    }, timeoutMs);
    client.on('error', (error: Error) =>
      finish(new SshError(`cannot read the host key of ${host}:${port}: ${error.message}`, 'SSH_UNREACHABLE', { cause: error })),
    );
    client.connect({
      host,
      port,
      username: 'graft-keyscan',
      readyTimeout: timeoutMs,
      hostVerifier: (key: Buffer) => {
        presented = key;
        return false;
      },
    });
  });
}
