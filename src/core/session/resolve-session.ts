import { NotFoundError } from '../errors.js';
import type { SessionRow, StateStore } from '../state/store.js';

/**
 * The session a command works on: the one named, or else the most recent one that is
 * not ended (in team mode, of this operator's own). Returns undefined only when none was named
 * and none is live.
 */
export function findSession(store: StateStore, id?: string): SessionRow | undefined {
  if (id) {
    const session = store.getSession(id);
    if (!session) {
      throw new NotFoundError(
        `no session ${id} in ${store.database.dialect === 'postgres' ? `the team's store ${store.database.location}` : 'this graft home'}`,
        ['List sessions with: graft sessions', 'Check GRAFT_HOME (or GRAFT_DATABASE_URL) if you keep several.'],
      );
    }
    return session;
  }
  return store.ownSessions().find((s) => s.status !== 'ended');
}

/** Like findSession, but a live session is required. */
export function requireSession(store: StateStore, id?: string): SessionRow {
  const session = findSession(store, id);
  if (!session) {
    throw new NotFoundError('no live session', ['Start one with: graft up --provisioner local --hosts 3', 'Or name one with --session (see graft sessions).']);
  }
  return session;
}
