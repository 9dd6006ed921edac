import type { Harness } from './harness.js';
import { cliInvocation, envDefaults, modelFlag } from './cli-invocation.js';
import { claudeEnvironment } from './cli-environment.js';

/**
 * Claude Code in print mode: `claude -p` reads the prompt from stdin, works in the worktree and
 * prints its final answer (text) on stdout. In print mode a tool that needs permission is denied
 * rather than asked about, so an unattended agent runs with `bypassPermissions`; its isolation
 * is graft's (own account, own worktree), not Claude Code's prompts. Claude Code refuses that
 * mode as root (docs/harnesses.md).
 */
export const claudeHarness: Harness = {
  name: 'claude',
  apiBaseUrlSetting: 'GRAFT_ANTHROPIC_BASE_URL',
  invoke: (task) =>
    cliInvocation(task, {
      binary: 'claude',
      argv: ['-p', '--permission-mode', 'bypassPermissions', ...modelFlag('--model', task.agent.model), ...task.agent.args],
      // Claude Code's documented opt-outs unless the agent has `telemetry: true`: no telemetry, error
      // reports, update checks or other traffic than the API itself (e.g. its `HEAD /api/hello`
      // probe). A granted secret of the same name wins.
      setup: task.agent.telemetry
        ? []
        : envDefaults({ CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1', DISABLE_TELEMETRY: '1', DISABLE_ERROR_REPORTING: '1', DISABLE_AUTOUPDATER: '1' }),
      credentials: ['ANTHROPIC_API_KEY', 'CLAUDE_CODE_OAUTH_TOKEN'],
      env: claudeEnvironment(task),
    }),
};
