/**
 * Where an agent may connect (docs/security.md): the graph's `network:` setting, and the rules the
 * host tool makes of it (provisioners/host/egress.sh), enforced by the host's kernel for the
 * agent's uid. The cloud metadata address is refused whatever the setting.
 */
import { isIP } from 'node:net';

import type { AllowEntry, NetworkPolicy } from '../model/guardrails.js';

export const networkModes = ['gateway', 'none', 'open'] as const;

/** What the host tool is given for an agent: `open`, `none`, or the tokens of what it may reach. */
export type EgressRules = 'open' | 'none' | { tokens: string[] };

const hostName = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/i;

function parsePort(text: string): number | undefined {
  if (!/^\d{1,5}$/.test(text)) return undefined;
  const port = Number(text);
  return port >= 1 && port <= 65535 ? port : undefined;
}

/** An address with an optional /prefix, or undefined when it is not one. */
function parseNetwork(text: string): string | undefined {
  const [address = '', prefix, ...rest] = text.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return undefined;
  if (prefix === undefined) return address;
  if (!/^\d{1,3}$/.test(prefix) || Number(prefix) > (family === 4 ? 32 : 128)) return undefined;
  return `${address}/${Number(prefix)}`;
}

/**
 * Parses one allow-list entry: `10.0.0.0/8`, `10.1.2.3:443`, `[fd00::1]:443`, `fd00::/64`,
 * `registry.npmjs.org`, `registry.npmjs.org:443`. Returns the reason when it is none of these.
 */
export function parseAllowEntry(text: string): AllowEntry | string {
  const problem = `expected an address, a network (CIDR) or a host name, each with an optional :port (e.g. 10.0.0.0/8, 10.1.2.3:443, [fd00::1]:443, registry.npmjs.org:443), got ${JSON.stringify(text)}`;
  let target = text.trim();
  let port: number | undefined;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(target);
  if (bracketed) {
    target = bracketed[1]!;
    if (bracketed[2] !== undefined) port = parsePort(bracketed[2]);
    if (bracketed[2] !== undefined && port === undefined) return `port ${bracketed[2]} is not 1 to 65535 in ${JSON.stringify(text)}`;
  } else if ((target.match(/:/g) ?? []).length === 1) {
    const [before = '', after = ''] = target.split(':');
    port = parsePort(after);
    if (port === undefined) return `port ${JSON.stringify(after)} is not 1 to 65535 in ${JSON.stringify(text)}`;
    target = before;
  }
  const network = parseNetwork(target);
  if (network) return port === undefined ? { address: network } : { address: network, port };
  if (!bracketed && !target.includes(':') && !target.includes('/') && !/^[\d.]+$/.test(target) && hostName.test(target)) {
    return port === undefined ? { name: target.toLowerCase() } : { name: target.toLowerCase(), port };
  }
  return problem;
}

/**
 * The rules for an agent under `policy`, given the loopback ports of graft's services on its
 * host (the channel's and the gateway's tunnels).
 */
export function egressRules(policy: NetworkPolicy, servicePorts: number[]): EgressRules {
  if (policy === 'open' || policy === 'none') return policy;
  const tokens = [...new Set(servicePorts)].map((port) => `lo+${port}`);
  for (const entry of policy === 'gateway' ? [] : policy.allow) {
    const target = 'address' in entry ? `net+${entry.address}` : `name+${entry.name}`;
    tokens.push(entry.port === undefined ? target : `${target}+${entry.port}`);
  }
  return tokens.length === 0 ? 'none' : { tokens };
}

/** The host tool's optional EGRESS argument (none: the agent gets no rules at all). */
export function egressArgument(rules: EgressRules | undefined): string[] {
  if (rules === undefined) return [];
  return [typeof rules === 'string' ? rules : rules.tokens.join(',')];
}

/** How a policy reads in messages and `graft status`. */
export function describeNetwork(policy: NetworkPolicy): string {
  if (typeof policy === 'string') return policy;
  return `gateway + ${policy.allow.map((e) => ('address' in e ? e.address : e.name) + (e.port === undefined ? '' : `:${e.port}`)).join(', ')}`;
}
