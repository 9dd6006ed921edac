import type { Readable } from 'node:stream';
import { ExitCode, GraftError } from '../errors.js';
import type { HostShell } from '../hosts/host-shell.js';

const timeoutMs = 30 * 60_000;

/**
 * Runs a git pipeline on a host and returns its stdout as bytes (packs are binary; the exec
 * result's text stdout would mangle them). A failure throws with the host's stderr.
 */
export async function remoteGit(shell: HostShell, command: string, stdin?: Buffer | string | Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const result = await shell.exec(command, { timeoutMs, stdin: stdin ?? '', onStdout: (chunk) => chunks.push(chunk), maxBufferBytes: 64 * 1024 });
  if (result.exitCode !== 0) {
    const missing = result.exitCode === 127 && /git: (command )?not found/.test(result.stderr);
    throw new GraftError(
      missing
        ? `${shell.label}: git is not installed on the host`
        : `${shell.label}: ${result.stderr.trim() || `git exited ${result.exitCode ?? result.signal}`}`,
      {
        code: missing ? 'GIT_MISSING' : 'GIT_FAILED',
        exitCode: ExitCode.remoteFailure,
        actions: missing ? ['Install git on the host (apt-get install git).'] : [],
      },
    );
  }
  return Buffer.concat(chunks);
}
