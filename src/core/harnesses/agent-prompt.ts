import { agentPreamble } from './agent-preamble.js';
import type { HarnessTask } from './harness.js';
import { taskConfigError } from './harness-errors.js';

/**
 * The whole prompt an LLM agent receives, as one Markdown document: graft's preamble, the
 * agent's instructions, what the upstream tasks reported, then the task's own prompt. It travels
 * in a file, never on a command line.
 */
export function agentPrompt(task: HarnessTask): string {
  const instructions = task.agent.instructions?.trim();
  const prompt = task.prompt?.trim();
  if (!instructions && !prompt) {
    throw taskConfigError(
      task,
      `tasks.${task.task}.prompt`,
      'an LLM agent needs a prompt or instructions, and this task has neither',
      `Give the task a \`prompt:\` or its agent \`instructions:\`.`,
    );
  }
  const sections = [agentPreamble(task)];
  if (instructions) sections.push(`# Instructions\n\n${instructions}`);
  if (task.upstream.length > 0) sections.push(upstreamSection(task.upstream));
  sections.push(`# Your task: ${task.task}\n\n${prompt ?? 'Follow the instructions above.'}`);
  return `${sections.join('\n\n')}\n`;
}

function upstreamSection(upstream: HarnessTask['upstream']): string {
  const lines = upstream.map(({ task, branch, summary }) => `- ${task} (branch ${branch}): ${summary?.trim() || 'no summary reported'}`);
  return `# Tasks this one builds on\n\nTheir work is already merged into your worktree. What they reported:\n\n${lines.join('\n')}`;
}
