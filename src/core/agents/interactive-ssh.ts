import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { knownHostsName } from '../inventory/index.js';
import { UsageError } from '../errors.js';
import type { HostRecord, JumpHost } from '../model/host.js';
import { shellQuote } from '../shell-quote.js';
import type { AgentRecord } from '../model/agent.js';

/**
 * The OpenSSH client command line for an interactive shell as the agent: its own key only, the
 * host's pinned keys only (a known_hosts file written beside the agent's key), strict checking.
 * OpenSSH's client is the right tool for a human's terminal (escapes, resizing, job control).
 * A host behind jump hosts is reached through them by a ProxyCommand of the same strict kind per
 * hop, logged in as the admin; every hop's pinned keys go in the same known_hosts file.
 */
export function interactiveSshArgv(agent: AgentRecord, host: HostRecord, command: string[], terminal: boolean): string[] {
  if (!agent.interactive) {
    throw new UsageError(`agent ${agent.name} was created without a terminal on its key`, [
      `Create an interactive agent: graft agent create NAME --interactive`,
      `Or run a command: graft agent exec ${agent.name} -- COMMAND`,
    ]);
  }
  const knownHosts = join(dirname(agent.keyFile), 'known_hosts');
  const pinned = [host, ...jumpChain(host.jump)].flatMap((h) => h.hostKeys.map((k) => `${knownHostsName(h.address, h.port)} ${k}`));
  writeFileSync(knownHosts, pinned.join('\n') + '\n', { mode: 0o600 });
  return [
    ...(host.jump ? ['-o', `ProxyCommand=${escapePercent(jumpCommand(host.jump, host.address, host.port, knownHosts))}`] : []),
    '-i',
    agent.keyFile,
    '-o',
    'IdentitiesOnly=yes',
    '-o',
    'IdentityAgent=none',
    '-o',
    `UserKnownHostsFile=${knownHosts}`,
    '-o',
    'GlobalKnownHostsFile=/dev/null',
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    'BatchMode=yes',
    '-p',
    String(host.port),
    // A terminal is asked for only when there is one to give it.
    ...(terminal ? ['-t'] : []),
    `${agent.account}@${host.address}`,
    ...command,
  ];
}

function jumpChain(jump: JumpHost | undefined): JumpHost[] {
  return jump ? [jump, ...jumpChain(jump.jump)] : [];
}

/** `ssh -W target` through one hop (and, nested, the hops before it), checked as strictly as the agent's own login. */
function jumpCommand(jump: JumpHost, address: string, port: number, knownHosts: string): string {
  const argv = [
    'ssh',
    // The admin's key, or else the user's ssh-agent (as for the admin login itself).
    ...(jump.identityFile ? ['-i', jump.identityFile, '-o', 'IdentitiesOnly=yes', '-o', 'IdentityAgent=none'] : []),
    '-o',
    `UserKnownHostsFile=${knownHosts}`,
    '-o',
    'GlobalKnownHostsFile=/dev/null',
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    'BatchMode=yes',
    ...(jump.jump ? ['-o', `ProxyCommand=${escapePercent(jumpCommand(jump.jump, jump.address, jump.port, knownHosts))}`] : []),
    '-W',
    `${address.includes(':') ? `[${address}]` : address}:${port}`,
    '-p',
    String(jump.port),
    `${jump.user}@${jump.address}`,
  ];
  return argv.map((arg) => shellQuote(arg)).join(' ');
}

/** ssh expands `%` sequences in a ProxyCommand; graft's commands hold literal text only. */
function escapePercent(command: string): string {
  return command.replace(/%/g, '%%');
}
