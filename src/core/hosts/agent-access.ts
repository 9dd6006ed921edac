import { readFileSync } from 'node:fs';
import type { HostRecord } from '../model/host.js';
import { shellQuote } from '../shell-quote.js';
import { adminEndpoint } from './endpoints.js';
import type { SshEndpoint } from '../ssh/types.js';
import type { AgentRecord } from '../model/agent.js';
import { sharedAgentMarker } from './agent-names.js';

/**
 * How to reach an agent: its own account (or the shared login), its own key, the host's pinned
 * keys; through the host's jump hosts, logged in to as the admin (the agent's key is only
 * accepted by its own host).
 */
export function agentEndpoint(agent: AgentRecord, host: HostRecord): SshEndpoint {
  return {
    label: `${agent.name}@${host.name}`,
    host: host.address,
    port: host.port,
    username: agent.account,
    hostKeys: host.hostKeys,
    privateKey: readFileSync(agent.keyFile),
    ...(host.jump ? { jump: adminEndpoint(host.jump) } : {}),
  };
}

/**
 * Wraps a command so it runs in the agent's home (or `cwd`, relative to it) with its granted
 * secrets in the environment (read from its 0600 file there, never from the command line).
 * Shared-account agents also get their directory as HOME and a GRAFT_AGENT marker by which
 * revocation finds their processes.
 */
export function agentCommand(sessionId: string, agent: AgentRecord, command: string, cwd?: string): string {
  const setup = [`cd ${shellQuote(agent.home)}`, '{ [ ! -f .graft/secrets.env ] || { set -a && . ./.graft/secrets.env && set +a; }; }'];
  if (cwd !== undefined) setup.push(`cd ${shellQuote(cwd)}`);
  if (agent.isolation === 'shared-account') {
    setup.unshift(`export HOME=${shellQuote(agent.home)} GRAFT_AGENT=${shellQuote(sharedAgentMarker(sessionId, agent.name))}`);
  }
  // Joined with &&: if the home is gone, nothing runs anywhere else.
  return `${setup.join(' && ')} && exec sh -c ${shellQuote(command)}`;
}
