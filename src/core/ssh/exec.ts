/**
 * Running one command on an open SSH connection: streaming, bounded buffers,
 * exit status, and timeouts/aborts that kill the remote process and release
 * the caller on time.
 */
import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import type { Client, ClientChannel } from 'ssh2';
import { SshError } from '../errors.js';
import type { ExecOptions, ExecResult } from './types.js';

const DEFAULT_MAX_BUFFER_BYTES = 1024 * 1024;

/** What a command run needs from the connection it runs on. */
export interface ExecTarget {
  client: Client;
  /** `label (user@host:port)`, for messages. */
  describe: string;
  /** Calls `listener` if the connection drops; returns the function that stops watching. */
  watchDrop(listener: (error: SshError) => void): () => void;
}

/** Keeps the first `limit` bytes of a stream and notes whether more came. */
class BoundedBuffer {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  truncated = false;

  constructor(private readonly limit: number) {}

  push(chunk: Buffer): void {
    const room = this.limit - this.size;
    if (chunk.length > room) this.truncated = true;
    if (room <= 0) return;
    const kept = chunk.length > room ? chunk.subarray(0, room) : chunk;
    this.chunks.push(kept);
    this.size += kept.length;
  }

  text(): string {
    return Buffer.concat(this.chunks, this.size).toString('utf8');
  }
}

/** Runs `command` on the target; see SshConnection.exec for the contract. */
export function runCommand(target: ExecTarget, command: string, options: ExecOptions = {}): Promise<ExecResult> {
  const { signal, timeoutMs } = options;
  if (signal?.aborted) return Promise.reject(abortReason(signal));
  const limit = options.maxBufferBytes ?? DEFAULT_MAX_BUFFER_BYTES;
  const stdout = new BoundedBuffer(limit);
  const stderr = new BoundedBuffer(limit);
  const started = performance.now();

  return new Promise<ExecResult>((resolve, reject) => {
    let channel: ClientChannel | undefined;
    let settled = false;
    let exitCode: number | null = null;
    let exitSignal: string | null = null;
    let sawExit = false;

    const input = options.stdin;
    const cleanup = (): void => {
      settled = true;
      // A stream still being read (a file, a local process's output) is not left open.
      if (input instanceof Readable && !input.readableEnded) input.destroy();
      if (timer) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      stopWatchingDrop();
    };
    const fail = (error: unknown): void => {
      if (settled) return;
      cleanup();
      reject(error);
    };
    /** Kills the remote process group and drops the channel, then releases the caller at once. */
    const abandon = (error: unknown): void => {
      if (settled) return;
      cleanup();
      if (channel) killChannel(channel);
      reject(error);
    };
    const onAbort = (): void => abandon(signal ? abortReason(signal) : new Error('aborted'));
    // Listened to from the start: a file that cannot be read fails before the channel opens.
    if (input instanceof Readable) {
      input.on('error', (inputError: Error) =>
        abandon(
          new SshError(`Reading the input of "${preview(command)}" for ${target.describe} failed: ${inputError.message}`, 'SSH_CHANNEL', { cause: inputError }),
        ),
      );
    }

    const timer =
      timeoutMs !== undefined
        ? setTimeout(
            () => abandon(new SshError(`Command timed out after ${timeoutMs} ms on ${target.describe}: ${preview(command)}`, 'SSH_TIMEOUT')),
            timeoutMs,
          )
        : undefined;
    signal?.addEventListener('abort', onAbort, { once: true });
    const stopWatchingDrop = target.watchDrop((error) =>
      fail(new SshError(`Connection to ${target.describe} dropped while running: ${preview(command)}`, 'SSH_DISCONNECTED', { cause: error })),
    );

    try {
      target.client.exec(command, (error, opened) => {
        if (error) {
          fail(new SshError(`Could not start a command on ${target.describe}: ${error.message}`, 'SSH_CHANNEL', { cause: error }));
          return;
        }
        if (settled) {
          // Timed out or aborted while the channel was opening: the command may already run.
          killChannel(opened);
          return;
        }
        channel = opened;
        // An unhandled 'error' on a channel would crash the process; it ends this command instead.
        opened.on('error', (channelError: Error) =>
          abandon(
            new SshError(`Channel of "${preview(command)}" on ${target.describe} failed: ${channelError.message}`, 'SSH_CHANNEL', { cause: channelError }),
          ),
        );
        opened.on('data', (chunk: Buffer) => {
          stdout.push(chunk);
          options.onStdout?.(chunk);
        });
        opened.stderr.on('data', (chunk: Buffer) => {
          stderr.push(chunk);
          options.onStderr?.(chunk);
        });
        opened.on('exit', (code: number | null, signalName?: string) => {
          sawExit = true;
          exitCode = typeof code === 'number' ? code : null;
          exitSignal = signalName ?? null;
        });
        opened.on('close', () => {
          if (settled) return;
          if (!sawExit) {
            fail(new SshError(`${target.describe} closed the channel of "${preview(command)}" without an exit status`, 'SSH_CHANNEL'));
            return;
          }
          cleanup();
          resolve({
            exitCode,
            signal: exitSignal,
            stdout: stdout.text(),
            stderr: stderr.text(),
            durationMs: performance.now() - started,
            truncated: stdout.truncated || stderr.truncated,
          });
        });
        // Always send EOF: a command that reads stdin must not wait for input that never comes.
        if (input instanceof Readable) input.pipe(opened);
        else if (input !== undefined) opened.end(input);
        else opened.end();
      });
    } catch (error) {
      // ssh2 throws synchronously when the connection is already gone.
      fail(new SshError(`Connection to ${target.describe} is not open`, 'SSH_DISCONNECTED', { cause: error }));
    }
  });
}

/**
 * Sends SIGKILL to the remote command and closes its channel. OpenSSH delivers the signal
 * with killpg() to the command's own process group, so children die too.
 * ssh2's `Channel.signal()` only sends while the channel is writable, which it stops being
 * once stdin got EOF (always, here), so the request goes through ssh2's protocol object directly
 * (ssh2 1.17 internals: `channel.outgoing`, `channel._client._protocol.signal`).
 */
function killChannel(channel: ClientChannel): void {
  const internals = channel as unknown as {
    outgoing?: { id: number; state: string };
    _client?: { _protocol?: { signal(id: number, name: string): void } };
  };
  try {
    // "eof" is where our channels are: stdin done, channel still open for the signal request.
    const state = internals.outgoing?.state;
    if (internals.outgoing && (state === 'open' || state === 'eof')) internals._client?._protocol?.signal(internals.outgoing.id, 'KILL');
    else channel.signal('KILL');
  } catch {
    // The connection may be gone already; closing below is all that is left to do.
  }
  try {
    channel.close();
  } catch {
    // Same as above.
  }
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new Error('aborted');
}

function preview(command: string): string {
  const line = command.replace(/\s+/g, ' ').trim();
  return line.length > 80 ? `${line.slice(0, 77)}...` : line;
}
