import { UsageError } from '../errors.js';
import { validateAgentName } from '../identity/spiffe-id.js';

/** Linux account names are at most 32 characters. */
export const maxAccountLength = 32;

/** `graft-<session>-<agent>`: the agent's Unix account, unique per session and host. */
export function agentAccountName(sessionId: string, agent: string): string {
  return `graft-${sessionId}-${agent}`;
}

/** Checks an agent name for identity, account and path use; hostile names are refused, never quoted into shape. */
export function checkAgentName(sessionId: string, name: string): string {
  const account = agentAccountName(sessionId, name);
  if (account.length > maxAccountLength) {
    throw new UsageError(`agent name "${name}" is too long: its account ${account} would exceed ${maxAccountLength} characters`, [
      `Use at most ${maxAccountLength - agentAccountName(sessionId, '').length} characters.`,
    ]);
  }
  return validateAgentName(name);
}

/** The marker tagging a shared-account agent's key line and processes. */
export function sharedAgentMarker(sessionId: string, agent: string): string {
  return `graft-agent:${sessionId}:${agent}:`;
}
