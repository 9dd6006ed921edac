import type { AgentRecord } from '../model/agent.js';
import type { Redactor } from '../secrets/redactor.js';
import type { HostShell } from './host-shell.js';

/**
 * Reads the agent's granted secret values back from its host into the redactor, so output of
 * its commands that echoes one is hidden in logs and --json like everything else.
 */
export async function learnAgentSecrets(shell: HostShell, agent: AgentRecord, redactor: Redactor): Promise<void> {
  if (agent.secrets.length === 0) return;
  const values: Buffer[] = [];
  await shell.exec('cd .graft/secrets && for f in *; do cat -- "$f"; printf "\\0"; done', {
    timeoutMs: 30_000,
    onStdout: (chunk) => values.push(chunk),
  });
  for (const value of Buffer.concat(values).toString('utf8').split('\0')) redactor.add(value);
}
