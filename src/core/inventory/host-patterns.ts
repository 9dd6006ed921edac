/**
 * Host patterns as written in inventories: `web[01:20].example.com`, `db-[a:f]`,
 * `node[1:10:2]`, several ranges in one name, and an optional `:port`
 * (`host:2222`, `[::1]:2222`). Follows Ansible's `parse_address` and
 * `expand_hostname_range`, except that ranges Ansible silently expands to
 * nothing (`web[10:01]`) or to millions of names are refused here: an empty or
 * runaway fleet is never what the author meant.
 */

/** Result of expanding one host pattern: the host names and the port written after them, or why it is invalid. */
export type ExpandedHostPattern = { names: string[]; port?: number; error?: undefined } | { error: string };

/** Refuse expansions beyond this many names: a typo such as `[1:100000000]` must not exhaust memory. */
export const MAX_HOSTS_PER_PATTERN = 10_000;

const ASCII_LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';

// The pieces of Ansible's parsing/utils/addresses.py regexes that decide whether a port can be split off.
const ALNUM_RANGE = String.raw`\[(?:[a-z]:[a-z]|[0-9]+:[0-9]+)(?::[0-9]+)?\]`;
const LABEL = String.raw`(?:[\p{L}\p{N}_]|${ALNUM_RANGE})(?:[\p{L}\p{N}_-]|${ALNUM_RANGE})*(?<![_-])`;
const HOSTNAME = new RegExp(String.raw`^${LABEL}(?:\.${LABEL})*$`, 'iu');
// Ansible's IPv6 expression is anchored loosely; any run of hex digits, colons, dots and ranges passes it.
const IPV6_LIKE = /^[0-9a-f:.[\]]*:[0-9a-f:.[\]]*$/i;
const BRACKETED_HOSTPORT = /^\[(.+)\]:([0-9]+)$/;
const HOSTPORT = /^((?:[^:[\]]|\[[^\]]*\])*):([0-9]+)$/;

/**
 * Splits `name:port` (or `[address]:port`) the way Ansible does. When what is left is
 * not a valid host name or address, Ansible keeps the whole pattern as the name and no port.
 */
export function splitHostPort(pattern: string): { host: string; port?: number } {
  let address = pattern;
  let port: number | undefined;
  for (const re of [BRACKETED_HOSTPORT, HOSTPORT]) {
    const m = re.exec(address);
    if (m) {
      address = m[1]!;
      port = Number(m[2]);
    }
  }
  if (address !== '' && (HOSTNAME.test(address) || IPV6_LIKE.test(address))) return { host: address, port };
  return { host: pattern };
}

/** True when a name holds a `[...]` range to expand (Ansible's `detect_range`). */
export function hasRange(name: string): boolean {
  return name.includes('[');
}

/**
 * Expands the ranges of one host name. Leading zeros are kept as Ansible keeps them
 * (`[01:10]` gives `01`..`10`, and requires both bounds to have the same width).
 */
export function expandHostRange(name: string): { names: string[] } | { error: string } {
  const open = name.indexOf('[');
  if (open < 0) return { names: [name] };
  const close = name.indexOf(']', open);
  if (close < 0) return { error: `host range in "${name}" has no closing "]"` };
  const head = name.slice(0, open);
  const spec = name.slice(open + 1, close);
  const tail = name.slice(close + 1);
  const seq = rangeSequence(spec);
  if ('error' in seq) return { error: `host range [${spec}] in "${name}": ${seq.error}` };
  const names: string[] = [];
  for (const item of seq.items) {
    const expanded = expandHostRange(head + item + tail);
    if ('error' in expanded) return expanded;
    names.push(...expanded.names);
    if (names.length > MAX_HOSTS_PER_PATTERN) return { error: `"${name}" expands to more than ${MAX_HOSTS_PER_PATTERN} hosts` };
  }
  return { names };
}

function rangeSequence(spec: string): { items: string[] } | { error: string } {
  const bounds = spec.split(':');
  if (bounds.length !== 2 && bounds.length !== 3) return { error: 'expected begin:end or begin:end:step' };
  const beg = bounds[0] || '0';
  const end = bounds[1]!;
  if (!end) return { error: 'the range has no end value' };
  let step = 1;
  if (bounds.length === 3) {
    if (!/^\d+$/.test(bounds[2]!) || Number(bounds[2]) < 1) return { error: `step "${bounds[2]}" must be a whole number ≥ 1` };
    step = Number(bounds[2]);
  }
  const bi = beg.length === 1 ? ASCII_LETTERS.indexOf(beg) : -1;
  const ei = end.length === 1 ? ASCII_LETTERS.indexOf(end) : -1;
  if (bi >= 0 && ei >= 0) {
    if (bi > ei) return { error: `begin "${beg}" comes after end "${end}"` };
    const items: string[] = [];
    for (let i = bi; i <= ei; i += step) items.push(ASCII_LETTERS[i]!);
    return { items };
  }
  if (!/^\d+$/.test(beg) || !/^\d+$/.test(end)) {
    return { error: `bounds must be both numbers or both single letters, got "${beg}" and "${end}"` };
  }
  const padded = beg.length > 1 && beg.startsWith('0');
  if (padded && beg.length !== end.length) return { error: `begin "${beg}" and end "${end}" must have the same width when zero-padded` };
  const from = Number(beg);
  const to = Number(end);
  if (from > to) return { error: `begin ${beg} is greater than end ${end}, so it names no host` };
  if ((to - from) / step >= MAX_HOSTS_PER_PATTERN) return { error: `the range names more than ${MAX_HOSTS_PER_PATTERN} hosts` };
  const items: string[] = [];
  for (let i = from; i <= to; i += step) items.push(padded ? String(i).padStart(beg.length, '0') : String(i));
  return { items };
}

/** Splits a port off and expands ranges: what one host key (YAML) or first token of a host line (INI) stands for. */
export function expandHostPattern(pattern: string): ExpandedHostPattern {
  const { host, port } = splitHostPort(pattern);
  if (!hasRange(host)) return { names: [host], port };
  const expanded = expandHostRange(host);
  return 'error' in expanded ? expanded : { names: expanded.names, port };
}
