import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';

/**
 * The owner tag of the VMs a graft home launches: `<user>-<random>`, made once per home and
 * kept in `<home>/owner`. Per home, not per user: two homes of one user (or two colleagues
 * sharing an account) must not call each other's live sessions orphans. Safe as a Compute
 * Engine label value (lowercase letters, digits, `-`; at most 63 characters).
 */
export function ownerId(home: string): string {
  const file = join(home, 'owner');
  try {
    const existing = readFileSync(file, 'utf8').trim();
    if (/^[a-z0-9-]{1,63}$/.test(existing)) return existing;
  } catch {
    // First cloud session of this home.
  }
  const user =
    userInfo()
      .username.toLowerCase()
      .replace(/[^a-z0-9-]/g, '-')
      .slice(0, 40) || 'user';
  const id = `${user}-${randomBytes(4).toString('hex')}`;
  // wx: if another graft process made it meanwhile, theirs stands and is read back.
  try {
    writeFileSync(file, `${id}\n`, { flag: 'wx', mode: 0o600 });
    return id;
  } catch {
    return readFileSync(file, 'utf8').trim();
  }
}
