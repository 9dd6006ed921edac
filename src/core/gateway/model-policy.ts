/**
 * Which models an agent may call through the gateway: its `models:` globs, or by default its
 * own `model:` plus the helper models its CLI is documented to call by itself (docs/gateway.md,
 * "Model policy"). An agent with neither may call any model of its vendor.
 */
import { minimatch } from 'minimatch';
import type { AgentSpec, HarnessName } from '../model/graph.js';

/**
 * Models each CLI calls on its own, besides the one it is given: Claude Code its small, fast
 * model (Haiku) for titles, summaries and quick checks; Gemini CLI its Flash and Flash-Lite
 * models for routing, loop detection and summaries. Codex uses its session model throughout.
 */
export const helperModels: Record<HarnessName, readonly string[]> = {
  claude: ['claude-haiku-*'],
  gemini: ['gemini-*flash*'],
  codex: [],
  shell: [],
};

/** Claude Code's aliases (`sonnet`, `opus[1m]`) name a family; the API sees its full model name. */
function modelPatterns(harness: HarnessName, model: string): string[] {
  if (harness !== 'claude' || model.startsWith('claude-')) return [model];
  const family = model.replace(/\[[^\]]*\]$/, '');
  if (family === 'opusplan') return ['claude-opus-*', 'claude-sonnet-*'];
  if (family === 'best' || family === 'default') return ['claude-*'];
  return [`claude-${family}-*`];
}

/** The allow-list the gateway applies to an agent's requests. */
export function allowedModels(agent: Pick<AgentSpec, 'harness' | 'model' | 'models'>): string[] {
  if (agent.models && agent.models.length > 0) return [...agent.models];
  if (!agent.model) return ['*'];
  return [...modelPatterns(agent.harness, agent.model), ...helperModels[agent.harness]];
}

/** Whether `model` matches one of the globs (`*`, `?`, `[...]`; case-sensitive, as vendors' names are). */
export function modelAllowed(model: string, patterns: readonly string[]): boolean {
  return patterns.some((pattern) => minimatch(model, pattern));
}
