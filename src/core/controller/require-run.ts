import { NotFoundError } from '../errors.js';
import { requireSession } from '../session/resolve-session.js';
import { RunStore, type RunRow } from '../state/run-store.js';
import type { SessionRow, StateStore } from '../state/store.js';

/** The session a run command works on (named, or the newest live one) and its run. */
export function requireRun(store: StateStore, sessionId?: string): { session: SessionRow; run: RunRow; runs: RunStore } {
  const session = requireSession(store, sessionId);
  const runs = new RunStore(store);
  const run = runs.getRun(session.id);
  if (!run) throw new NotFoundError(`session ${session.id} has no graph run (it was started with graft up)`, ['Start a run with: graft run GRAPH.yaml', 'Or name another session with --session (see graft sessions).']);
  return { session, run, runs };
}
