import { readFileSync } from 'node:fs';

/**
 * Whether the process recorded as a run's controller is still one: alive, and still a graft
 * `run` or `resume` (after a crash its pid may belong to something else by now).
 */
export function controllerAlive(pid: number): boolean {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return argv.includes('run') || argv.includes('resume');
  } catch {
    return false;
  }
}
