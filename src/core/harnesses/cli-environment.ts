/**
 * Where each agent CLI sends its API calls and what it authenticates with, when graft decides:
 * through the session's model gateway (its route for the vendor, the task's token where the API
 * key would go), else to the base URL the controller was given for that vendor (a proxy, a
 * test's mock) with the agent's granted key. Neither: the CLI's own default and granted key.
 * docs/harnesses.md ("Through the model gateway", "Base URLs") gives the sources.
 */
import type { HarnessTask } from './harness.js';

/** The API base URL the CLI is pointed at, or undefined for its own default. */
export function vendorBaseUrl(task: HarnessTask, gatewayRoute: 'anthropic' | 'openai' | 'gemini'): string | undefined {
  return task.gateway ? `${task.gateway.url}/${gatewayRoute}` : task.apiBaseUrl;
}

/** Claude Code: ANTHROPIC_BASE_URL, and the gateway token as its API key. */
export function claudeEnvironment(task: HarnessTask): Record<string, string> {
  const url = vendorBaseUrl(task, 'anthropic');
  return { ...(url ? { ANTHROPIC_BASE_URL: url } : {}), ...(task.gateway ? { ANTHROPIC_API_KEY: task.gateway.token } : {}) };
}

/** Gemini CLI: GOOGLE_GEMINI_BASE_URL, and API-key auth with the gateway token (never Vertex AI through the gateway). */
export function geminiEnvironment(task: HarnessTask): Record<string, string> {
  const url = vendorBaseUrl(task, 'gemini');
  return {
    ...(url ? { GOOGLE_GEMINI_BASE_URL: url } : {}),
    ...(task.gateway ? { GEMINI_API_KEY: task.gateway.token, GOOGLE_GENAI_USE_VERTEXAI: 'false' } : {}),
  };
}

/** Codex: the gateway token as its API key (the base URL goes on its command line, see codex.ts). */
export function codexEnvironment(task: HarnessTask): Record<string, string> {
  return task.gateway ? { CODEX_API_KEY: task.gateway.token, OPENAI_API_KEY: task.gateway.token } : {};
}
