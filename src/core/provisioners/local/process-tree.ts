/**
 * Looking at processes through /proc: who is alive, who descends from whom, what their
 * command lines say, and stopping one for certain. Linux only, like the local provisioner.
 */
import { readdir, readFile } from 'node:fs/promises';

const POLL_MS = 10;
/** How long a SIGTERM'ed process gets before SIGKILL. */
const STOP_GRACE_MS = 2000;
/** How long a SIGKILL'ed process gets to vanish before it counts as unkillable. */
const KILL_CONFIRM_MS = 2000;

/** A live process as /proc shows it. */
export interface ProcessInfo {
  pid: number;
  /** `/proc/PID/comm`: the executable's name, which setproctitle does not change. */
  name: string;
  /** `/proc/PID/cmdline` with NULs turned into spaces (sshd rewrites it into one spaced line anyway). */
  cmdline: string;
}

/** Every live process whose command line and name we may read. */
export async function listProcesses(): Promise<ProcessInfo[]> {
  const found: ProcessInfo[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const [name, cmdline] = await Promise.all([readFile(`/proc/${entry}/comm`, 'utf8'), readFile(`/proc/${entry}/cmdline`, 'utf8')]);
      found.push({ pid: Number(entry), name: name.trim(), cmdline: cmdline.replace(/\0+$/, '').replace(/\0/g, ' ') });
    } catch {
      // It ended while we looked.
    }
  }
  return found;
}

/** Pids of every process below `root`, from the parent pids in /proc/PID/stat. */
export async function descendantsOf(root: number): Promise<number[]> {
  const parents = new Map<number, number>();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const parent = await parentPid(Number(entry));
    if (parent !== undefined) parents.set(Number(entry), parent);
  }
  const found: number[] = [];
  let frontier = new Set([root]);
  while (frontier.size > 0) {
    const next = [...parents].filter(([, parent]) => frontier.has(parent)).map(([pid]) => pid);
    found.push(...next);
    frontier = new Set(next);
  }
  return found;
}

/** Parent pid from /proc/PID/stat; undefined when the process is gone or a zombie (dead, not yet reaped). */
export async function parentPid(pid: number): Promise<number | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // The command name in parentheses may contain spaces; the fields after the last ")" are fixed.
    const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return state === 'Z' ? undefined : Number(ppid);
  } catch {
    return undefined;
  }
}

/** True when the process is gone or a zombie: it runs nothing any more. */
export async function isGone(pid: number): Promise<boolean> {
  return (await parentPid(pid)) === undefined;
}

/**
 * SIGTERM, up to STOP_GRACE_MS for the process to go, then SIGKILL and up to KILL_CONFIRM_MS
 * for it to vanish. Resolves true only once the process is seen gone: a signal sent proves nothing
 * (a stopped or uninterruptible process outlives it for a while).
 */
export async function terminate(pid: number): Promise<boolean> {
  if (!sendSignal(pid, 'SIGTERM')) return isGone(pid);
  if (await waitGone(pid, STOP_GRACE_MS)) return true;
  sendSignal(pid, 'SIGKILL');
  return waitGone(pid, KILL_CONFIRM_MS);
}

async function waitGone(pid: number, withinMs: number): Promise<boolean> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    if (await isGone(pid)) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/** Sends a signal; false when there is no such process (any more). */
function sendSignal(pid: number, name: NodeJS.Signals): boolean {
  try {
    process.kill(pid, name);
    return true;
  } catch {
    return false;
  }
}
