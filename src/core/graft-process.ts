import { readFileSync, readlinkSync } from 'node:fs';
import { hostname } from 'node:os';
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

let machine: string | undefined;

/**
 * Where this process's pids mean something: the machine (its machine-id, else its hostname) and
 * the pid namespace. Two graft processes that share both can ask the OS whether the other lives.
 */
export function machineIdentity(): string {
  machine ??= `${readOr(() => readFileSync('/etc/machine-id', 'utf8').trim(), hostname())}/${readOr(() => readlinkSync('/proc/self/ns/pid'), 'pid')}`;
  return machine;
}

function readOr(read: () => string, fallback: string): string {
  try {
    return read() || fallback;
  } catch {
    return fallback;
  }
}

/** Whether the session's `up` ran where this process can tell its pid alive or dead (sessions from before this was recorded: yes). */
export function upRanHere(session: SessionRow): boolean {
  return session.spec.upMachine === undefined || session.spec.upMachine === machineIdentity();
}

/** The pid of the `graft up` (of another process) still bringing the session up, or undefined when none is. */
export function upStillRunning(session: SessionRow): number | undefined {
  const pid = Number(session.spec.upPid);
  if (session.status !== 'creating' || !Number.isInteger(pid) || pid === process.pid) return undefined;
  // A gone `up` (or a reused pid) leaves the session to `down`, which finishes what it left.
  return graftCommandAlive(pid, ['up']) ? pid : undefined;
}
