import type { AgentRecord, AgentWorkspace } from '../model/agent.js';
import { UsageError } from '../errors.js';

/** The agent's worktree, or a usage error saying how to give it one. */
export function requireWorkspace(agent: AgentRecord): AgentWorkspace {
  if (!agent.workspace) throw new UsageError(`agent ${agent.name} has no worktree`, ['Create agents with a worktree: graft agent create NAME --from main']);
  return agent.workspace;
}
