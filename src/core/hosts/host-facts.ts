/**
 * What graft learns about a host once, at its first agent (the host tool's `host-facts` verb):
 * how it would enforce resource limits, its size (for default limits) and whether /proc hides
 * other accounts' processes. Kept in the host record's meta; `graft hosts` shows them.
 */

/** What the host tool's `host-facts` verb says: how limits would be enforced, the host's size, its process privacy. */
export interface HostFacts {
  /** `cgroup-v1`, `cgroup-v2` (not used yet) or `none`. */
  mechanism: string;
  cores?: number;
  /** Bytes of memory. */
  memory?: number;
  /** `hidepid` when /proc hides other accounts' processes. */
  privacy?: string;
}

/** `cgroup-v1 cores=2 memory=25769803776 privacy=off`; fields it does not know or cannot read are left out. */
export function parseHostFacts(text: string): HostFacts {
  const [mechanism = 'none', ...fields] = text.trim().split(/\s+/);
  const facts: HostFacts = { mechanism };
  for (const field of fields) {
    const [key, value] = field.split('=');
    if (key === 'privacy' && (value === 'hidepid' || value === 'off')) facts.privacy = value;
    const number = Number(value);
    if (!Number.isSafeInteger(number) || number <= 0) continue;
    if (key === 'cores') facts.cores = number;
    if (key === 'memory') facts.memory = number;
  }
  return facts;
}
