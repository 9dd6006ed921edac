import { rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { GraftRuntime } from '../runtime.js';
import type { SessionRow } from '../state/store.js';
import { sharedAgentMarker } from './agent-names.js';
import type { AgentRecord } from './agent-record.js';
import { HostAdmin } from './host-admin.js';

/** Kills the agent's processes and removes its key line, account and home (or shared directory) on its host. */
export async function removeAgentFromHost(admin: HostAdmin, sessionId: string, agent: AgentRecord): Promise<void> {
  if (agent.isolation === 'shared-account') {
    await admin.run(['shared-remove', agent.home, admin.host.meta.agentKeysFile ?? '.ssh/authorized_keys', sharedAgentMarker(sessionId, agent.name)], undefined, false);
  } else {
    await admin.run(['remove', agent.account]);
  }
}

/**
 * Revokes an agent: on its host (processes, key, account, home) and on the controller (its
 * private key). Idempotent: an agent already removed, or one whose host is gone, ends removed.
 * Returns false when there was nothing to remove.
 */
export async function removeAgent(runtime: GraftRuntime, session: SessionRow, agent: AgentRecord): Promise<boolean> {
  if (agent.state === 'removed') return false;
  const host = runtime.store.listHosts(session.id).find((h) => h.name === agent.host);
  runtime.store.putAgent(session.id, { ...agent, state: 'removing' });
  if (host && host.state === 'up') {
    await removeAgentFromHost(new HostAdmin(runtime.pool, host, runtime.env), session.id, agent);
  }
  await rm(dirname(agent.keyFile), { recursive: true, force: true });
  runtime.store.putAgent(session.id, { ...agent, state: 'removed' });
  runtime.events.emit({ code: 'agent.removed', level: 'info', message: `agent ${agent.name} revoked: key removed, ${agent.isolation === 'accounts' ? `account ${agent.account} deleted` : 'directory deleted'} on ${agent.host}`, session: session.id, host: agent.host, data: { agent: agent.name, account: agent.account } });
  return true;
}
