import { NotFoundError, UsageError } from '../errors.js';
import type { HostRecord } from '../model/host.js';
import type { SessionRow, StateStore } from '../state/store.js';
import type { AgentRecord } from '../model/agent.js';

/** A ready agent of the session and the host it lives on, or a not-found error with the names that exist. */
export function requireReadyAgent(store: StateStore, session: SessionRow, name: string): { agent: AgentRecord; host: HostRecord } {
  const agent = store.getAgent(session.id, name);
  if (!agent || agent.state === 'removed') {
    const known = store
      .listAgents(session.id)
      .filter((a) => a.state !== 'removed')
      .map((a) => a.name);
    throw new NotFoundError(`no agent ${name} in session ${session.id}`, [
      known.length > 0 ? `Agents: ${known.join(', ')}` : 'Create one with: graft agent create NAME',
    ]);
  }
  if (agent.state !== 'ready')
    throw new UsageError(`agent ${name} is ${agent.state}${agent.error ? `: ${agent.error}` : ''}`, [`Remove it with: graft agent rm ${name}`]);
  const host = store.listHosts(session.id).find((h) => h.name === agent.host);
  if (!host || host.state !== 'up') throw new NotFoundError(`agent ${name}'s host ${agent.host} is not up`, ['See: graft hosts --all']);
  return { agent, host };
}
