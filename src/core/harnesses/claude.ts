import type { Harness } from './harness.js';
import { cliInvocation, modelFlag } from './cli-invocation.js';

/**
 * Claude Code in print mode: `claude -p` reads the prompt from stdin, works in the worktree and
 * prints its final answer (text) on stdout. In print mode a tool that needs permission is denied
 * rather than asked about, so an unattended agent runs with `bypassPermissions`; its isolation
 * is graft's (own account, own worktree), not Claude Code's prompts. Claude Code refuses that
 * mode as root (docs/harnesses.md).
 */
export const claudeHarness: Harness = {
  name: 'claude',
  invoke: (task) =>
    cliInvocation(task, {
      binary: 'claude',
      argv: ['-p', '--permission-mode', 'bypassPermissions', ...modelFlag('--model', task.agent.model), ...task.agent.args],
      credentials: ['ANTHROPIC_API_KEY', 'CLAUDE_CODE_OAUTH_TOKEN'],
    }),
};
