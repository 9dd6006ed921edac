import { NotFoundError } from '../errors.js';
import { requireSession } from '../session/resolve-session.js';
import { RunStore, type RunRow } from '../state/run-store.js';
import type { SessionRow, StateStore } from '../state/store.js';

/** The session a run command works on (named, or the newest live one) and its run. */
export function requireRun(store: StateStore, sessionId?: string): { session: SessionRow; run: RunRow; runs: RunStore } {
  const session = requireSession(store, sessionId);
  const runs = new RunStore(store);
  return { session, run: runOf(runs, session.id), runs };
}

/** A session's run; a session without one (started with `graft up`) is refused, the same way everywhere. */
export function runOf(runs: RunStore, sessionId: string): RunRow {
  const run = runs.getRun(sessionId);
  if (!run)
    throw new NotFoundError(`session ${sessionId} has no graph run (it was started with graft up)`, [
      'Start a run with: graft run GRAPH.yaml',
      'Or name another session with --session (see graft sessions).',
    ]);
  return run;
}
