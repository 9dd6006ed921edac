import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The `graft` under test: the repo's build, or GRAFT_TEST_BIN (e.g. a private build elsewhere). */
export const graftBin = process.env.GRAFT_TEST_BIN ? resolve(process.env.GRAFT_TEST_BIN) : join(repoRoot, 'bin', 'run.js');

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout parsed as the JSON envelope, when --json was passed. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- parsed CLI output; tests assert it field by field
  json?: { status: number; result?: any; error?: { code: string; message: string; actions: string[]; details?: Record<string, any> }; warnings: string[] };
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

  /** Runs graft; rejects (never throws out of the callback) when --json output is not JSON. */
  run(args: string[], options: { timeoutMs?: number; env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<CliRun> {
    return new Promise((resolvePromise, reject) => {
      execFile(
        process.execPath,
        [graftBin, ...args],
        { cwd: options.cwd, env: { ...this.env, ...options.env }, timeout: options.timeoutMs ?? 60_000, maxBuffer: 64 * 1024 * 1024 },
        (error, stdout, stderr) => {
          const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
          const run: CliRun = { code, stdout, stderr };
          if (args.includes('--json')) {
            try {
              // `run` and `resume` stream one JSON event per line; their envelope is the last line.
              run.json = JSON.parse(stdout.trim().includes('\n{"') ? stdout.trim().split('\n').at(-1)! : stdout);
            } catch {
              reject(new Error(`graft ${args.join(' ')}: --json output is not JSON (exit ${code}):\n${stdout}\nstderr:\n${stderr}`));
              return;
            }
          }
          resolvePromise(run);
        },
      );
    });
  }

  spawn(args: string[], cwd?: string, env: NodeJS.ProcessEnv = {}): ChildProcess {
    return spawn(process.execPath, [graftBin, ...args], { cwd, env: { ...this.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
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

  /**
   * Tears down whatever sessions are still live and removes the home. Safe in `after` hooks:
   * whatever the CLI manages or fails to do, it then kills this world's sshd processes and (as
   * root) removes the accounts and sudoers files of every session the home knows.
   */
  async dispose(): Promise<void> {
    const sessionsDir = join(this.home, 'sessions');
    const ids = existsSync(sessionsDir) ? readdirSync(sessionsDir) : [];
    for (const id of ids) await this.run(['down', '--session', id], { timeoutMs: 30_000 }).catch(() => undefined);
    for (const pid of this.sshdPids()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    if (process.getuid?.() === 0) for (const id of ids) removeSessionAccountsByForce(id);
    rmSync(dirname(this.home), { recursive: true, force: true });
  }
}

/** Root only: deletes `graft-<id>`, `graft-<id>-*` and their sudoers files, without asking graft. */
function removeSessionAccountsByForce(id: string): void {
  const prefix = `graft-${id}`;
  const passwd = execFileSync('getent', ['passwd'], { encoding: 'utf8' });
  const accounts = passwd
    .split('\n')
    .map((line) => line.split(':')[0] ?? '')
    .filter((name) => name === prefix || name.startsWith(`${prefix}-`));
  for (const account of accounts) {
    try {
      execFileSync('pkill', ['-KILL', '-u', account], { stdio: 'ignore' });
    } catch {
      // No processes.
    }
    try {
      execFileSync('userdel', ['--remove', '--', account], { stdio: 'ignore' });
    } catch {
      // Gone meanwhile, or only its home could not be removed.
    }
  }
  const sudoers = '/etc/sudoers.d';
  for (const file of existsSync(sudoers) ? readdirSync(sudoers) : []) {
    if (file === prefix || file.startsWith(`${prefix}-`)) rmSync(join(sudoers, file), { force: true });
  }
}
