import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { sessionLayout } from '../session-layout.js';
import { SecretStore } from '../state/secret-store.js';
import type { StateStore } from '../state/store.js';
import { seal, unseal } from './sealed-box.js';
import { teamKey } from './team-key.js';

/**
 * A session's key files in a shared store (team mode): the admin key, the session's CA and JWT
 * keys, and each agent's key, sealed with the team key. The machine that writes one pushes it;
 * another operator's machine pulls what it lacks before it acts on the session as its owner
 * (`resume` after a controller's machine died, `down`, `exec`). Logs and local hosts' files stay
 * where they were made.
 */
export class SessionVault {
  private readonly secrets: SecretStore;
  private key?: Buffer;

  constructor(
    store: StateStore,
    private readonly env: NodeJS.ProcessEnv,
    private readonly sessionDir: (sessionId: string) => string,
  ) {
    this.secrets = new SecretStore(store);
  }

  /** Fails now, with what to do, when no usable team key is set (before a session is started). */
  requireKey(): void {
    this.key ??= teamKey(this.env);
  }

  /** Seals the session's key files (only those of one agent, with `agent`) the store does not have as they are; returns how many. */
  push(sessionId: string, agent?: string): number {
    const dir = this.sessionDir(sessionId);
    // One agent's push reads only its own rows: a run pushes once per agent.
    const known = this.secrets.digests(sessionId, agent && relative(dir, sessionLayout(dir).agentDir(agent)));
    let pushed = 0;
    for (const path of keyFiles(dir, agent)) {
      const file = join(dir, path);
      const mode = statSync(file).mode & 0o777;
      const content = readFileSync(file);
      const digest = digestOf(mode, content);
      if (known.get(path) === digest) continue;
      this.requireKey();
      this.secrets.put(sessionId, { path, mode, digest, sealed: seal(this.key!, content, `${sessionId}/${path}`) });
      pushed++;
    }
    return pushed;
  }

  /** Writes the session's key files this machine lacks (mode as sealed, directories 0700); returns how many. */
  pull(sessionId: string): number {
    const dir = this.sessionDir(sessionId);
    let pulled = 0;
    for (const file of this.secrets.list(sessionId)) {
      const target = join(dir, file.path);
      if (relative(dir, target).startsWith('..') || existsSync(target)) continue;
      this.requireKey();
      const content = unseal(this.key!, file.sealed, `${sessionId}/${file.path}`);
      mkdirSync(dirname(target), { recursive: true, mode: 0o700 });
      writeFileSync(target, content, { mode: file.mode });
      pulled++;
    }
    return pulled;
  }
}

/** The key files of a session directory (or of one agent in it), relative to it. */
function keyFiles(dir: string, agent?: string): string[] {
  const layout = sessionLayout(dir);
  const files = agent ? [] : [layout.adminKey, `${layout.adminKey}.pub`].filter((f) => existsSync(f));
  for (const tree of agent ? [layout.agentDir(agent)] : [layout.identityDir, layout.agentsDir]) {
    if (!existsSync(tree)) continue;
    for (const entry of readdirSync(tree, { recursive: true, withFileTypes: true })) {
      if (entry.isFile()) files.push(join(entry.parentPath, entry.name));
    }
  }
  return files.map((f) => relative(dir, f));
}

function digestOf(mode: number, content: Buffer): string {
  return createHash('sha256').update(`${mode}\0`).update(content).digest('hex');
}
