import type { Harness } from './harness.js';
import { cliInvocation, modelFlag } from './cli-invocation.js';

/**
 * OpenAI Codex CLI: `codex exec` is its non-interactive mode and `-` as the prompt reads it from
 * stdin; progress goes to stderr, the final message to stdout. Codex's own sandbox would block
 * the network (the `graft-agent` channel included), so the agent runs with
 * `--dangerously-bypass-approvals-and-sandbox`, which Codex documents for environments isolated
 * from outside: here, the agent's own account and worktree.
 */
export const codexHarness: Harness = {
  name: 'codex',
  invoke: (task) =>
    cliInvocation(task, {
      binary: 'codex',
      argv: ['exec', '--dangerously-bypass-approvals-and-sandbox', ...modelFlag('--model', task.agent.model), ...task.agent.args, '-'],
      // `codex exec` authenticates from CODEX_API_KEY; OPENAI_API_KEY, the name most people hold
      // the key under, is passed on when CODEX_API_KEY is not granted.
      setup: ['if [ -z "${CODEX_API_KEY:-}" ] && [ -n "${OPENAI_API_KEY:-}" ]; then CODEX_API_KEY=$OPENAI_API_KEY; export CODEX_API_KEY; fi'],
      credentials: ['CODEX_API_KEY', 'OPENAI_API_KEY'],
    }),
};
