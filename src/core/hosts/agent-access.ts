import { readFileSync } from 'node:fs';
import type { HostRecord } from '../model/host.js';
import { shellQuote } from '../shell-quote.js';
import type { Redactor } from '../secrets/redactor.js';
import { adminEndpoint } from './endpoints.js';
import type { SshPool } from '../ssh/index.js';
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

/**
 * Reads the agent's granted secret values back from its host into the redactor, so output of
 * its commands that echoes one is hidden in logs and --json like everything else.
 */
export async function learnAgentSecrets(pool: SshPool, sessionId: string, agent: AgentRecord, host: HostRecord, redactor: Redactor): Promise<void> {
  if (agent.secrets.length === 0) return;
  const values: Buffer[] = [];
  await pool.exec(agentEndpoint(agent, host), agentCommand(sessionId, agent, 'cd .graft/secrets && for f in *; do cat -- "$f"; printf "\\0"; done'), {
    timeoutMs: 30_000,
    onStdout: (chunk) => values.push(chunk),
  });
  for (const value of Buffer.concat(values).toString('utf8').split('\0')) redactor.add(value);
}
