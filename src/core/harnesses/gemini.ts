import type { Harness } from './harness.js';
import { cliInvocation, envDefaults, modelFlag } from './cli-invocation.js';
import { geminiEnvironment, vendorBaseUrl } from './cli-environment.js';
import { taskFilesDir } from './task-files.js';

const settingsFileName = 'gemini-settings.json';

/**
 * Gemini CLI headless: `-p` forces non-interactive mode and is appended to what stdin holds, so
 * the prompt file arrives on stdin and `-p` carries only a fixed closing line. `--approval-mode
 * yolo` approves every tool call (nobody is there to approve). GEMINI_CLI_TRUST_WORKSPACE trusts
 * the worktree for the run: where folder trust is on, headless mode otherwise exits at start
 * (exit 55). Graft's settings for the CLI become the account's own `~/.gemini/settings.json` only
 * when it has none (a fresh agent account never does), so the host's system settings still win.
 * Gemini's system-defaults layer would be the natural place, but it insists on root-owned
 * directories, which an agent's home is not.
 */
export const geminiHarness: Harness = {
  name: 'gemini',
  apiBaseUrlSetting: 'GRAFT_GEMINI_BASE_URL',
  invoke: (task) =>
    cliInvocation(task, {
      binary: 'gemini',
      argv: ['--approval-mode', 'yolo', ...modelFlag('--model', task.agent.model), ...task.agent.args, '-p', geminiClosingLine],
      setup: [
        ...envDefaults({ GEMINI_CLI_TRUST_WORKSPACE: 'true', ...(task.agent.telemetry ? {} : { GEMINI_TELEMETRY_ENABLED: 'false' }) }),
        // GEMINI_CLI_HOME, when set, is where Gemini CLI looks for .gemini instead of $HOME.
        'gemini_dir="${GEMINI_CLI_HOME:-$HOME}/.gemini"',
        `if [ ! -e "$gemini_dir/settings.json" ]; then mkdir -p "$gemini_dir" && cp "$HOME/${taskFilesDir}/${settingsFileName}" "$gemini_dir/settings.json"; fi`,
      ],
      files: [
        {
          name: settingsFileName,
          content: `${JSON.stringify(geminiSettings(vendorBaseUrl(task, 'gemini') !== undefined, task.agent.telemetry === true), null, 2)}\n`,
        },
      ],
      credentials: ['GEMINI_API_KEY', 'GOOGLE_API_KEY'],
      env: geminiEnvironment(task),
    }),
};

/**
 * Usage statistics and telemetry off unless the agent has `telemetry: true`. With a base URL (the
 * gateway's or a configured one), the API-key auth type too: Gemini CLI 0.61 turns
 * GOOGLE_GEMINI_BASE_URL into a `gateway` auth type that its headless mode then refuses ("Invalid
 * auth method selected"); a selected type keeps GEMINI_API_KEY's and still sends requests to the
 * base URL. (Without a base URL the environment picks, Vertex AI included.)
 */
function geminiSettings(withBaseUrl: boolean, telemetry: boolean): Record<string, unknown> {
  return {
    ...(telemetry ? {} : { privacy: { usageStatisticsEnabled: false }, telemetry: { enabled: false } }),
    ...(withBaseUrl ? { security: { auth: { selectedType: 'gemini-api-key' } } } : {}),
  };
}

/** What `-p` adds after the prompt read from stdin. */
export const geminiClosingLine = 'Carry out the task described above.';
