import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

/** Where graft keeps all its state: `GRAFT_HOME`, or `~/.graft`. */
export function graftHome(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.GRAFT_HOME || join(homedir(), '.graft'));
}

/** Layout of a graft home. Every path graft writes lives under one of these. */
export function homeLayout(home: string) {
  return {
    home,
    database: join(home, 'state.db'),
    /** Host keys trusted on first use (inventory hosts with graft_host_key_policy: tofu). */
    knownHosts: join(home, 'known_hosts'),
    sessionsDir: join(home, 'sessions'),
    sessionDir: (sessionId: string) => join(home, 'sessions', sessionId),
  };
}
