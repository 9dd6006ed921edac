/**
 * File transfer over the connection's single SFTP session. One session per
 * connection: opening a subsystem costs a round trip and a process on the host.
 */
import type { Client, SFTPWrapper } from 'ssh2';
import { SshError } from '../errors.js';

/** Opens the SFTP session lazily and reopens it if the host closed it. */
export class SftpSession {
  private session: Promise<SFTPWrapper> | undefined;

  constructor(
    private readonly client: Client,
    private readonly describe: string,
  ) {}

  /** Uploads a local file (by path) or bytes to `remotePath`; with `mode`, sets it exactly (umask does not apply). */
  async put(source: string | Buffer, remotePath: string, mode?: number): Promise<void> {
    const sftp = await this.open();
    const what = typeof source === 'string' ? source : `${source.length} bytes`;
    await this.call(`put ${what} to ${remotePath}`, (done) => {
      if (typeof source === 'string') sftp.fastPut(source, remotePath, done);
      else sftp.writeFile(remotePath, source, done);
    });
    if (mode !== undefined) await this.call(`chmod ${mode.toString(8)} ${remotePath}`, (done) => sftp.chmod(remotePath, mode, done));
  }

  /** Downloads `remotePath` to the local file `localPath`. */
  async get(remotePath: string, localPath: string): Promise<void> {
    const sftp = await this.open();
    await this.call(`get ${remotePath} to ${localPath}`, (done) => sftp.fastGet(remotePath, localPath, done));
  }

  /** Closes the session, if one is open. */
  close(): void {
    const pending = this.session;
    this.session = undefined;
    pending?.then((sftp) => sftp.end()).catch(() => undefined);
  }

  private open(): Promise<SFTPWrapper> {
    this.session ??= new Promise<SFTPWrapper>((resolve, reject) => {
      try {
        this.client.sftp((error, sftp) => {
          if (error) {
            reject(new SshError(`Could not open SFTP on ${this.describe}: ${error.message}`, 'SSH_CHANNEL', { cause: error }));
            return;
          }
          // Failures reach the callers through their callbacks; an unhandled 'error' would crash the process.
          sftp.on('error', () => undefined);
          sftp.on('close', () => {
            if (this.session === opened) this.session = undefined;
          });
          resolve(sftp);
        });
      } catch (error) {
        reject(new SshError(`Connection to ${this.describe} is not open`, 'SSH_DISCONNECTED', { cause: error }));
      }
    });
    const opened = this.session;
    // A failed open is not kept: the next transfer tries again.
    opened.catch(() => {
      if (this.session === opened) this.session = undefined;
    });
    return opened;
  }

  private call(what: string, start: (done: (error?: Error | null) => void) => void): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      start((error) => {
        if (error) reject(new SshError(`SFTP ${what} on ${this.describe} failed: ${error.message}`, 'SSH_CHANNEL', { cause: error }));
        else resolve();
      });
    });
  }
}
