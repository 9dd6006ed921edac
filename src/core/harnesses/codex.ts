import type { Harness } from './harness.js';
import { cliInvocation, modelFlag } from './cli-invocation.js';
import { codexEnvironment, vendorBaseUrl } from './cli-environment.js';

/**
 * OpenAI Codex CLI: `codex exec` is its non-interactive mode and `-` as the prompt reads it from
 * stdin; progress goes to stderr, the final message to stdout. Codex's own sandbox would block
 * the network (the `graft-agent` channel included), so the agent runs with
 * `--dangerously-bypass-approvals-and-sandbox`, which Codex documents for environments isolated
 * from outside: here, the agent's own account and worktree.
 */
export const codexHarness: Harness = {
  name: 'codex',
  apiBaseUrlSetting: 'GRAFT_OPENAI_BASE_URL',
  invoke: (task) =>
    cliInvocation(task, {
      binary: 'codex',
      argv: [
        'exec',
        ...codexConfig(vendorBaseUrl(task, 'openai'), task.agent.telemetry),
        '--dangerously-bypass-approvals-and-sandbox',
        ...modelFlag('--model', task.agent.model),
        ...task.agent.args,
        '-',
      ],
      // `codex exec` authenticates from CODEX_API_KEY; OPENAI_API_KEY, the name most people hold
      // the key under, is passed on when CODEX_API_KEY is not granted.
      setup: ['if [ -z "${CODEX_API_KEY:-}" ] && [ -n "${OPENAI_API_KEY:-}" ]; then CODEX_API_KEY=$OPENAI_API_KEY; export CODEX_API_KEY; fi'],
      credentials: ['CODEX_API_KEY', 'OPENAI_API_KEY'],
      env: codexEnvironment(task),
    }),
};

/**
 * `-c` overrides of Codex's config.toml (the agent's own `args` come later and win): analytics
 * off unless the agent has `telemetry: true`, and with a base URL (the gateway's or a configured
 * one) a model provider of graft's own for it. Codex's built-in `openai` provider would try a
 * WebSocket to the same URL first (and ignores OPENAI_BASE_URL); a custom provider speaks the
 * Responses API over HTTPS with SSE, authenticated from CODEX_API_KEY.
 */
function codexConfig(baseUrl: string | undefined, telemetry: boolean | undefined): string[] {
  const provider = baseUrl
    ? [
        '-c',
        'model_provider="graft"',
        '-c',
        `model_providers.graft={ name = "graft", base_url = ${JSON.stringify(baseUrl)}, env_key = "CODEX_API_KEY", wire_api = "responses" }`,
      ]
    : [];
  return [...(telemetry ? [] : ['-c', 'analytics.enabled=false']), ...provider];
}
