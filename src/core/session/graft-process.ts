import { readFileSync } from 'node:fs';

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
