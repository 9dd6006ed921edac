import { randomBytes } from 'node:crypto';

const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';

/**
 * A new session id: 8 characters of [a-z0-9], starting with a letter. Short enough to sit
 * inside Unix account names (`graft-<id>-<agent>` must stay within 32 characters) and tags.
 */
export function newSessionId(): string {
  const bytes = randomBytes(8);
  let id = alphabet[bytes[0]! % 26]!;
  for (let i = 1; i < 8; i++) id += alphabet[bytes[i]! % alphabet.length];
  return id;
}

export const sessionIdPattern = /^[a-z][a-z0-9]{7}$/;
