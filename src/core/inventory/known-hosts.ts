/**
 * Reads OpenSSH known_hosts files, so an inventory can pin host keys with
 * `graft_known_hosts: ./known_hosts` instead of pasting keys. Handles what
 * `ssh-keyscan -H` and `ssh` write: plain and `[host]:port` names, name lists,
 * `*`/`?` wildcards with `!` negation, and hashed names (`|1|salt|hmac`), which
 * are matched by recomputing HMAC-SHA1(salt, name) as ssh does.
 * `@revoked` keys are never returned; `@cert-authority` lines are reported, not trusted: graft
 * (ssh2) pins plain keys only.
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
  const re = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
    'i',
  );
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

/** What a known_hosts text says about a host. */
export interface KnownHostMatch {
  /** Plain host keys (`type base64`), in file order, without duplicates or revoked ones. */
  keys: string[];
  /** 1-based lines of `@cert-authority` entries that name the host: graft cannot verify host certificates. */
  certAuthorityLines: number[];
  /** Every key marked `@revoked` in the text, whichever host it names. */
  revoked: string[];
}

/**
 * What known_hosts `text` lists for any of `names` (each already in `knownHostsName` form).
 * A key marked `@revoked` anywhere in the file is never returned, as OpenSSH refuses it
 * even where another line lists it; `@cert-authority` lines are not host keys and are only counted.
 */
export function knownHostEntries(text: string, names: string[]): KnownHostMatch {
  const keys: string[] = [];
  const certAuthorityLines: number[] = [];
  const revoked = new Set<string>();
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const marker = line.startsWith('@') ? line.split(/\s+/, 1)[0] : undefined;
    const [field, type, blob] = (marker ? line.slice(marker.length).trim() : line).split(/\s+/);
    if (!field || !type || !blob) return;
    if (marker === '@revoked') revoked.add(`${type} ${blob}`);
    if (!names.some((n) => hostFieldMatches(field, n))) return;
    if (marker === '@cert-authority') certAuthorityLines.push(index + 1);
    if (marker) return;
    const key = `${type} ${blob}`;
    if (!keys.includes(key)) keys.push(key);
  });
  return { keys: keys.filter((k) => !revoked.has(k)), certAuthorityLines, revoked: [...revoked] };
}

/** The plain host keys of `knownHostEntries`. */
export function knownHostKeys(text: string, names: string[]): string[] {
  return knownHostEntries(text, names).keys;
}

/** How to add a host to known_hosts: the exact line's form and the command that prints it. */
export function addKnownHostHint(address: string, port: number, file = '~/.ssh/known_hosts'): string {
  const portFlag = port === 22 ? '' : `-p ${port} `;
  return `add the line "${knownHostsName(address, port)} <type> <key>" to ${file} (\`ssh-keyscan ${portFlag}${address}\` prints it; check its fingerprint out of band first)`;
}
