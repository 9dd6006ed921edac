import { spawn } from 'node:child_process';
import { GraftError } from '../errors.js';

export interface GitResult {
  stdout: Buffer;
  stderr: string;
  code: number;
}

/**
 * Runs git in the controller's repository. Output is kept as bytes (packs are binary);
 * `input` is written to stdin. A non-zero exit throws with git's own message unless `allowFail`.
 */
export function git(cwd: string, args: string[], options: { input?: Buffer | string; env?: NodeJS.ProcessEnv; allowFail?: boolean } = {}): Promise<GitResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, { cwd, env: { ...process.env, GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C', ...options.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', (error) =>
      reject(
        new GraftError(`cannot run git: ${(error as NodeJS.ErrnoException).code ?? error.message}`, {
          code: 'LOCAL_GIT_MISSING',
          cause: error,
          actions: ['Install git: apt-get install git'],
        }),
      ),
    );
    child.on('close', (code) => {
      const result = { stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8'), code: code ?? 1 };
      if (result.code !== 0 && !options.allowFail) {
        reject(new GraftError(`git ${args[0]} failed in ${cwd}: ${result.stderr.trim() || `exit ${result.code}`}`, { code: 'GIT_FAILED' }));
      } else resolve(result);
    });
    child.stdin.on('error', () => undefined); // git may exit before reading everything; its exit code tells.
    child.stdin.end(options.input ?? '');
  });
}

/** git's stdout as trimmed text. */
export async function gitText(cwd: string, args: string[], options: { input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<string> {
  return (await git(cwd, args, options)).stdout.toString('utf8').trim();
}
