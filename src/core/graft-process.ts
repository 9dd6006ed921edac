import { readFileSync } from 'node:fs';
import type { SessionRow } from './state/store.js';

/**
 * Whether a recorded pid is still that graft command running (`up`, `run`, `resume` ...): the
 * process must be alive and have one of `commands` among its arguments, since after a crash its
 * pid may belong to something else by now.
 */
export function graftCommandAlive(pid: number, commands: readonly string[]): boolean {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return commands.some((c) => argv.includes(c));
  } catch {
    return false;
  }
}

/** Whether the process recorded as a run's controller is still one. */
export function controllerAlive(pid: number): boolean {
  return graftCommandAlive(pid, ['run', 'resume']);
}

/** The pid of the `graft up` (of another process) still bringing the session up, or undefined when none is. */
export function upStillRunning(session: SessionRow): number | undefined {
  const pid = Number(session.spec.upPid);
  if (session.status !== 'creating' || !Number.isInteger(pid) || pid === process.pid) return undefined;
  // A gone `up` (or a reused pid) leaves the session to `down`, which finishes what it left.
  return graftCommandAlive(pid, ['up']) ? pid : undefined;
}
