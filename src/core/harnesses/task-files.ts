import { BugError } from '../errors.js';

/**
 * Where a task's files live on its host and how a harness script names them. The controller
 * writes every `HarnessInvocation.files` entry to the agent's `~/.graft/task/<name>` (0600)
 * before the script runs; scripts refer to them through `$HOME`, which is the agent's own home
 * for its account and for shared-account agents alike.
 */

/** The task files' directory, relative to the agent's home. */
export const taskFilesDir = '.graft/task';

/** The prompt every harness writes; exported to the task's processes as $GRAFT_PROMPT_FILE. */
export const promptFileName = 'prompt.md';

/** A task file's path as a shell word (double-quoted, so only $HOME expands). */
export function taskFileWord(name: string): string {
  // Names are graft's own constants; the check keeps a future caller from splicing anything else.
  if (!/^[A-Za-z0-9._-]+$/.test(name)) throw new BugError(`task file name "${name}" is not a plain file name`);
  return `"$HOME/${taskFilesDir}/${name}"`;
}

/** Script lines that export $GRAFT_PROMPT_FILE, so agents (and shell commands) can reread the prompt. */
export function exportPromptFile(): string[] {
  return [`GRAFT_PROMPT_FILE=${taskFileWord(promptFileName)}`, 'export GRAFT_PROMPT_FILE'];
}
