import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const graftBin = join(repoRoot, 'bin', 'run.js');

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout parsed as the JSON envelope, when --json was passed. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- parsed CLI output; tests assert it field by field
  json?: { status: number; result?: any; error?: { code: string; message: string; actions: string[] }; warnings: string[] };
}

/** A throwaway GRAFT_HOME and a way to run the built `graft` binary in it. */
export class GraftWorld {
  readonly home: string;
  readonly env: NodeJS.ProcessEnv;

  constructor(extraEnv: NodeJS.ProcessEnv = {}) {
    this.home = join(mkdtempSync(join(tmpdir(), 'graft-e2e-')), 'home');
    this.env = { ...process.env, GRAFT_HOME: this.home, ...extraEnv };
    delete this.env.GRAFT_SESSION;
  }

  run(args: string[], options: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<CliRun> {
    return new Promise((resolvePromise) => {
      execFile(process.execPath, [graftBin, ...args], { env: { ...this.env, ...options.env }, timeout: options.timeoutMs ?? 60_000, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        const run: CliRun = { code, stdout, stderr };
        if (args.includes('--json')) {
          try {
            run.json = JSON.parse(stdout);
          } catch {
            throw new Error(`--json output is not JSON (exit ${code}):\n${stdout}\nstderr:\n${stderr}`);
          }
        }
        resolvePromise(run);
      });
    });
  }

  spawn(args: string[]): ChildProcess {
    return spawn(process.execPath, [graftBin, ...args], { env: this.env, stdio: ['ignore', 'pipe', 'pipe'] });
  }

  /** Pids of sshd processes whose config lives in this world's GRAFT_HOME. */
  sshdPids(): number[] {
    const pids: number[] = [];
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
        if (cmdline.includes('sshd') && cmdline.includes(this.home)) pids.push(Number(entry));
      } catch {
        // The process ended while we looked.
      }
    }
    return pids;
  }

  /** Tears down whatever sessions are still live and removes the home. Safe in `after` hooks. */
  async dispose(): Promise<void> {
    const listed = await this.run(['sessions', '--json']);
    for (const session of listed.json?.result?.sessions ?? []) await this.run(['down', '--session', session.id]);
    for (const pid of this.sshdPids()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    rmSync(dirname(this.home), { recursive: true, force: true });
  }
}
