/**
 * Reads OpenSSH known_hosts files, so an inventory can pin host keys with
 * `graft_known_hosts: ./known_hosts` instead of pasting keys. Handles what
 * `ssh-keyscan -H` and `ssh` write: plain and `[host]:port` names, name lists,
 * `*`/`?` wildcards with `!` negation, and hashed names (`|1|salt|hmac`), which
 * are matched by recomputing HMAC-SHA1(salt, name) as ssh does.
 * `@cert-authority` and `@revoked` lines are skipped: graft pins plain keys only.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** The name ssh looks up for a host: `host` on port 22, `[host]:port` otherwise. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

function hashedNameMatches(entry: string, name: string): boolean {
  const parts = entry.split('|'); // ['', '1', salt, hash]
  if (parts.length !== 4 || parts[1] !== '1') return false;
  const salt = Buffer.from(parts[2]!, 'base64');
  const expected = Buffer.from(parts[3]!, 'base64');
  const actual = createHmac('sha1', salt).update(name).digest();
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

function wildcardMatches(pattern: string, name: string): boolean {
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 'i');
  return re.test(name);
}

/** Whether the host-names field of a known_hosts line covers `name` (OpenSSH's match_hostname_list). */
export function hostFieldMatches(field: string, name: string): boolean {
  if (field.startsWith('|')) return hashedNameMatches(field, name);
  let matched = false;
  for (const pattern of field.split(',')) {
    const negated = pattern.startsWith('!');
    if (wildcardMatches(negated ? pattern.slice(1) : pattern, name)) {
      if (negated) return false;
      matched = true;
    }
  }
  return matched;
}

/**
 * Public keys (`type base64`) listed in known_hosts `text` for any of `names`
 * (each already in `knownHostsName` form), in file order and without duplicates.
 * A key marked `@revoked` anywhere in the file is never returned, as OpenSSH refuses it
 * even where another line lists it; `@cert-authority` lines are not host keys and are skipped.
 */
export function knownHostKeys(text: string, names: string[]): string[] {
  const keys: string[] = [];
  const revoked = new Set<string>();
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const marker = line.startsWith('@') ? line.split(/\s+/, 1)[0] : undefined;
    const [field, type, blob] = (marker ? line.slice(marker.length).trim() : line).split(/\s+/);
    if (!field || !type || !blob) continue;
    if (marker === '@revoked') revoked.add(`${type} ${blob}`);
    if (marker || !names.some((n) => hostFieldMatches(field, n))) continue;
    const key = `${type} ${blob}`;
    if (!keys.includes(key)) keys.push(key);
  }
  return keys.filter((k) => !revoked.has(k));
}
