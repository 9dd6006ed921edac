import type { Harness } from './harness.js';
import { cliInvocation, modelFlag } from './cli-invocation.js';

/**
 * Gemini CLI headless: `-p` forces non-interactive mode and is appended to what stdin holds, so
 * the prompt file arrives on stdin and `-p` carries only a fixed closing line. `--approval-mode
 * yolo` approves every tool call (nobody is there to approve). GEMINI_TRUST_WORKSPACE trusts the
 * worktree for the run: where folder trust is on, headless mode otherwise exits at start.
 */
export const geminiHarness: Harness = {
  name: 'gemini',
  invoke: (task) =>
    cliInvocation(task, {
      binary: 'gemini',
      argv: ['--approval-mode', 'yolo', ...modelFlag('--model', task.agent.model), ...task.agent.args, '-p', geminiClosingLine],
      setup: [': "${GEMINI_TRUST_WORKSPACE:=true}"', 'export GEMINI_TRUST_WORKSPACE'],
      credentials: ['GEMINI_API_KEY', 'GOOGLE_API_KEY'],
    }),
};

/** What `-p` adds after the prompt read from stdin. */
export const geminiClosingLine = 'Carry out the task described above.';
