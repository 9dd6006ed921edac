import { readFileSync } from 'node:fs';
import { StateError } from '../errors.js';

/**
 * The team key: 32 random bytes, base64, that the operators of a team share (GRAFT_TEAM_KEY, or
 * a file named by GRAFT_TEAM_KEY_FILE). It seals each session's key files in the shared store, so
 * the database alone (a dump, a backup, its administrator) opens no host. Make one with:
 * openssl rand -base64 32
 */
export function teamKey(env: NodeJS.ProcessEnv): Buffer {
  const file = env.GRAFT_TEAM_KEY_FILE?.trim();
  let text = env.GRAFT_TEAM_KEY?.trim();
  let source = 'GRAFT_TEAM_KEY';
  if (!text && file) {
    source = `GRAFT_TEAM_KEY_FILE (${file})`;
    try {
      text = readFileSync(file, 'utf8').trim();
    } catch (error) {
      throw new StateError(`cannot read the team key: ${source}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, {
        actions: ['Point GRAFT_TEAM_KEY_FILE at the file your team keeps the key in (mode 0600).'],
      });
    }
  }
  if (!text) {
    throw new StateError("team mode keeps each session's key files in the shared database sealed with the team key, and none is set", {
      actions: ['Set GRAFT_TEAM_KEY (or GRAFT_TEAM_KEY_FILE) to the key your team shares.', 'A new team makes one with: openssl rand -base64 32'],
    });
  }
  const key = Buffer.from(text, 'base64');
  if (key.length !== 32 || key.toString('base64') !== text.replace(/\s+/g, '')) {
    throw new StateError(`${source} is not a team key: it must be 32 bytes in base64 (44 characters), it is ${text.length} characters`, {
      actions: ['Make one with: openssl rand -base64 32'],
    });
  }
  return key;
}
