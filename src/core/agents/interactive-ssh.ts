import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { knownHostsName } from '../inventory/index.js';
import { UsageError } from '../errors.js';
import type { HostRecord } from '../provisioners/provisioner.js';
import type { AgentRecord } from './agent-record.js';

/**
 * The OpenSSH client command line for an interactive shell as the agent: its own key only, the
 * host's pinned keys only (a known_hosts file written beside the agent's key), strict checking.
 * OpenSSH's client is the right tool for a human's terminal (escapes, resizing, job control).
 */
export function interactiveSshArgv(agent: AgentRecord, host: HostRecord, command: string[], terminal: boolean): string[] {
  if (!agent.interactive) {
    throw new UsageError(`agent ${agent.name} was created without a terminal on its key`, [`Create an interactive agent: graft agent create NAME --interactive`, `Or run a command: graft agent exec ${agent.name} -- COMMAND`]);
  }
  const knownHosts = join(dirname(agent.keyFile), 'known_hosts');
  writeFileSync(knownHosts, host.hostKeys.map((k) => `${knownHostsName(host.address, host.port)} ${k}`).join('\n') + '\n', { mode: 0o600 });
  return [
    '-i', agent.keyFile,
    '-o', 'IdentitiesOnly=yes',
    '-o', 'IdentityAgent=none',
    '-o', `UserKnownHostsFile=${knownHosts}`,
    '-o', 'GlobalKnownHostsFile=/dev/null',
    '-o', 'StrictHostKeyChecking=yes',
    '-o', 'BatchMode=yes',
    '-p', String(host.port),
    // A terminal is asked for only when there is one to give it.
    ...(terminal ? ['-t'] : []),
    `${agent.account}@${host.address}`,
    ...command,
  ];
}
