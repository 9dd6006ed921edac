/**
 * Runs the built graft with a hard bound on its wall time: a process still alive at the bound
 * is SIGKILLed and the run reports `hung`, so a controller that waits past its own timeouts
 * fails the test instead of stalling it. Optionally samples the process's peak memory (VmHWM).
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { graftBin, type GraftWorld } from '../../helpers/cli.js';

export interface BoundedRun {
  code: number | null;
  /** What was printed (at most the last `keepStdoutBytes` of it). */
  stdout: string;
  /** How many bytes were printed on stdout in all. */
  stdoutBytes: number;
  stderr: string;
  /** True when the bound was reached and the process was killed. */
  hung: boolean;
  wallMs: number;
  /** Highest VmHWM seen, in MiB (only when sampled). */
  peakMb?: number;
  /** The JSON envelope, when --json was passed (`run` streams events first, the envelope last). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- parsed CLI output; tests assert it field by field
  json?: any;
}

export interface BoundedRunOptions {
  cwd?: string;
  boundMs: number;
  env?: NodeJS.ProcessEnv;
  /** Sample /proc/PID/status every 50 ms for the peak resident set. */
  sampleMemory?: boolean;
  /** Keep at most this many bytes of stdout (the end), so a flood does not fill the test's memory. */
  keepStdoutBytes?: number;
}

export function runBounded(world: GraftWorld, args: string[], options: BoundedRunOptions): Promise<BoundedRun> {
  const started = Date.now();
  const child = spawn(process.execPath, [graftBin, ...args], { cwd: options.cwd, env: { ...world.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const keep = options.keepStdoutBytes ?? 64 * 1024 * 1024;
  let stdout = Buffer.alloc(0);
  let stdoutBytes = 0;
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdoutBytes += chunk.length;
    stdout = Buffer.concat([stdout, chunk]);
    if (stdout.length > keep) stdout = stdout.subarray(stdout.length - keep);
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  let peakKb = 0;
  const sampler = options.sampleMemory
    ? setInterval(() => {
        try {
          const hwm = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
          if (hwm) peakKb = Math.max(peakKb, Number(hwm[1]));
        } catch {
          // It ended.
        }
      }, 50)
    : undefined;
  let hung = false;
  const bound = setTimeout(() => {
    hung = true;
    child.kill('SIGKILL');
  }, options.boundMs);
  return new Promise((resolve) => {
    child.once('close', (code) => {
      clearTimeout(bound);
      if (sampler) clearInterval(sampler);
      const text = stdout.toString('utf8');
      const run: BoundedRun = {
        code,
        stdout: text,
        stdoutBytes,
        stderr,
        hung,
        wallMs: Date.now() - started,
        ...(options.sampleMemory ? { peakMb: Math.round(peakKb / 1024) } : {}),
      };
      if (args.includes('--json')) {
        // One envelope, or (run, resume) one event per line and the envelope last.
        for (const candidate of [text, text.trim().split('\n').at(-1) ?? '']) {
          try {
            run.json = JSON.parse(candidate);
            break;
          } catch {
            // Left undefined when neither parses: the test's assertion on it shows the output.
          }
        }
      }
      resolve(run);
    });
  });
}

/** Polls `check` until it holds; throws after `timeoutMs`. */
export async function until(check: () => boolean | Promise<boolean>, timeoutMs = 60_000, everyMs = 200): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
  throw new Error(`condition not met within ${timeoutMs} ms`);
}
