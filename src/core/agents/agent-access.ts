import { readFileSync } from 'node:fs';
import type { HostRecord } from '../provisioners/provisioner.js';
import { shellQuote } from '../shell-quote.js';
import type { SshEndpoint } from '../ssh/types.js';
import type { AgentRecord } from './agent-record.js';
import { sharedAgentMarker } from './agent-names.js';

/** How to reach an agent: its own account (or the shared login), its own key, the host's pinned keys. */
export function agentEndpoint(agent: AgentRecord, host: HostRecord): SshEndpoint {
  return {
    label: `${agent.name}@${host.name}`,
    host: host.address,
    port: host.port,
    username: agent.account,
    hostKeys: host.hostKeys,
    privateKey: readFileSync(agent.keyFile),
  };
}

/**
 * Wraps a command so it runs in the agent's home with its granted secrets in the environment
 * (read from its 0600 file there, never from the command line). Shared-account agents also
 * get their directory as HOME and a GRAFT_AGENT marker by which revocation finds their processes.
 */
export function agentCommand(sessionId: string, agent: AgentRecord, command: string): string {
  const setup = [`cd ${shellQuote(agent.home)}`, 'if [ -f .graft/secrets.env ]; then set -a; . ./.graft/secrets.env; set +a; fi'];
  if (agent.isolation === 'shared-account') {
    setup.unshift(`export HOME=${shellQuote(agent.home)} GRAFT_AGENT=${shellQuote(sharedAgentMarker(sessionId, agent.name))}`);
  }
  return `${setup.join(' && ')}; exec sh -c ${shellQuote(command)}`;
}
