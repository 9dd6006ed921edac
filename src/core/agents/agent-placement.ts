import { NotFoundError } from '../errors.js';
import { selectHosts } from '../inventory/selector.js';
import type { HostRecord } from '../model/host.js';
import type { AgentRecord } from '../model/agent.js';

/**
 * Picks the host for a new agent: among the hosts that are up and match the selector, the one
 * with the most free slots (ties: the first in session order).
 */
export function placeAgent(hosts: HostRecord[], agents: AgentRecord[], selector = 'all'): HostRecord {
  const up = hosts.filter((h) => h.state === 'up');
  if (up.length === 0) throw new NotFoundError('the session has no host that is up', ['See: graft hosts']);
  const names = new Set(selectHosts(selector, up));
  const load = new Map<string, number>();
  for (const agent of agents) if (agent.state === 'ready' || agent.state === 'creating') load.set(agent.host, (load.get(agent.host) ?? 0) + 1);
  const candidates = up.filter((h) => names.has(h.name));
  return candidates.reduce((best, h) => (h.slots - (load.get(h.name) ?? 0) > best.slots - (load.get(best.name) ?? 0) ? h : best), candidates[0]!);
}
