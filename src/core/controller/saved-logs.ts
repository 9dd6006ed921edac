/**
 * Where an ended attempt's output is kept: a file in the session's directory and, in team mode,
 * a row in the shared store, so `graft logs` and the dashboard show it on any operator's machine.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { sessionFiles, type GraftRuntime } from '../runtime.js';
import { TaskLogStore } from '../state/task-log-store.js';

export async function saveAttemptLog(runtime: GraftRuntime, sessionId: string, task: string, attempt: number, output: Buffer): Promise<void> {
  const files = sessionFiles(runtime, sessionId);
  await mkdir(files.taskDir(task), { recursive: true, mode: 0o700 });
  await writeFile(files.attemptLog(task, attempt), output, { mode: 0o600 });
  if (runtime.store.database.dialect === 'postgres') new TaskLogStore(runtime.store).put(sessionId, task, attempt, output);
}

/** The attempt's saved output, or undefined when none was kept (here or, in team mode, in the store). */
export async function readAttemptLog(runtime: GraftRuntime, sessionId: string, task: string, attempt: number): Promise<string | undefined> {
  const file = sessionFiles(runtime, sessionId).attemptLog(task, attempt);
  if (existsSync(file)) return readFile(file, 'utf8');
  return new TaskLogStore(runtime.store).get(sessionId, task, attempt)?.toString('utf8');
}
