import { ConfigError } from '../errors.js';
import type { HarnessTask } from './harness.js';

/**
 * A task that its harness cannot start as configured. The graph loader should have refused it
 * already; this is the second check, so a bad task never becomes a half-built command line.
 */
export function taskConfigError(task: HarnessTask, path: string, message: string, fix: string): ConfigError {
  return new ConfigError([{ file: 'graph', path, message: `task ${task.task} (agent ${task.agent.name}, harness ${task.agent.harness}): ${message}` }], [fix]);
}
