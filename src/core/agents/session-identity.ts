import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { authorityFileNames, createSessionAuthority, loadSessionAuthority, saveSessionAuthority, type SessionAuthority } from '../identity/index.js';
import type { SessionRow } from '../state/store.js';
import { sessionLayout } from '../session-layout.js';

/** Where a session's identity authority lives: inside the session's 0700 directory. */
export function authorityDir(sessionDir: string): string {
  return sessionLayout(sessionDir).identityDir;
}

/**
 * The session's identity authority (CA and JWT key), created with the session and valid until
 * it ends. Sessions from before identities existed get theirs on first use.
 */
export async function ensureSessionAuthority(session: SessionRow, sessionDir: string, issuer?: string): Promise<SessionAuthority> {
  const dir = authorityDir(sessionDir);
  // The metadata file is written last: a directory without it is a save a crash cut short.
  if (existsSync(join(dir, authorityFileNames.metadata))) return loadSessionAuthority(dir);
  const authority = await createSessionAuthority({ sessionId: session.id, validUntil: new Date(session.expiresAt), issuer });
  await saveSessionAuthority(dir, authority);
  return authority;
}
