import { rm } from 'node:fs/promises';
import { failpoint } from '../failpoints.js';
import { dirname } from 'node:path';
import { GraftError, SshError } from '../errors.js';
import type { GraftRuntime } from '../runtime.js';
import { PoolStore } from '../state/pool-store.js';
import type { SessionRow } from '../state/store.js';
import { sharedAgentMarker } from '../hosts/agent-names.js';
import type { AgentRecord } from '../model/agent.js';
import { HostAdmin } from '../hosts/host-admin.js';

/** Kills the agent's processes and removes its key line, account and home (or shared directory) on its host. */
export async function removeAgentFromHost(admin: HostAdmin, sessionId: string, agent: AgentRecord): Promise<void> {
  if (agent.isolation === 'shared-account') {
    await admin.run(
      ['shared-remove', agent.home, admin.host.meta.agentKeysFile ?? '.ssh/authorized_keys', sharedAgentMarker(sessionId, agent.name)],
      undefined,
      false,
    );
  } else if (agent.pooled) {
    // Key, secrets and processes now; the account and home in a later batch (see account-pool.ts).
    await admin.revokePooled(agent.account);
  } else {
    await admin.run(['remove', agent.account]);
  }
}

/**
 * Revokes an agent: on its host (processes, key, account, home) and on the controller (its
 * private key). Idempotent: an agent already removed returns false. When its host cannot be
 * reached the agent stays `revoke-failed` and this throws: a revocation is never reported
 * that did not happen (its key still expires at the session's end).
 */
export async function removeAgent(runtime: GraftRuntime, session: SessionRow, agent: AgentRecord): Promise<boolean> {
  if (agent.state === 'removed') return false;
  const host = runtime.store.listHosts(session.id).find((h) => h.name === agent.host);
  runtime.store.putAgent(session.id, { ...agent, state: 'removing' });
  try {
    if (!host || host.state !== 'up') throw new SshError(`host ${agent.host} is ${host?.state ?? 'unknown'}`, 'SSH_UNREACHABLE');
    await removeAgentFromHost(new HostAdmin(runtime.pool, host, runtime.env), session.id, agent);
    failpoint('agent.revoked-on-host');
  } catch (error) {
    runtime.store.putAgent(session.id, { ...agent, state: 'revoke-failed', error: (error as Error).message });
    throw new GraftError(
      `agent ${agent.name} could not be revoked on ${agent.host}: ${(error as Error).message}; its key still expires at ${agent.keyExpiresAt}`,
      {
        code: 'REVOKE_FAILED',
        cause: error,
        actions: [`Try again when the host is reachable: graft agent rm ${agent.name}`],
      },
    );
  }
  if (agent.pooled) new PoolStore(runtime.store).mark(session.id, agent.host, [agent.account], 'spent');
  await rm(dirname(agent.keyFile), { recursive: true, force: true });
  runtime.store.putAgent(session.id, { ...agent, state: 'removed' });
  runtime.events.emit({
    code: 'agent.removed',
    level: 'info',
    message: `agent ${agent.name} revoked: key removed, ${agent.pooled ? `processes of ${agent.account} killed (the account is deleted in a later batch)` : agent.isolation === 'accounts' ? `account ${agent.account} deleted` : 'directory deleted'} on ${agent.host}`,
    session: session.id,
    host: agent.host,
    data: { agent: agent.name, account: agent.account },
  });
  return true;
}
