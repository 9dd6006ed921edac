import type { HarnessTask } from './harness.js';

/**
 * What every LLM agent is told before its instructions: where it is, and how to use the
 * `graft-agent` channel to report, coordinate and finish. Short on purpose: it is paid for in
 * tokens on every task, and the agent's own instructions and prompt are what matter.
 */
export function agentPreamble(task: HarnessTask): string {
  return `You are the agent for task "${task.task}" in a graft session (${task.session}): several agents work on one repository at once, each in its own git worktree and branch. Yours is ${task.workdir} on branch ${task.branch}. No human watches your terminal; nobody will answer a question you print.

Talk to graft with the \`graft-agent\` command (on your PATH):
- \`graft-agent status "TEXT"\` — say what you are doing now, at each step.
- \`graft-agent inbox\` — read the messages sent to you. Check it between steps and act on what it says.
- \`graft-agent msg TASK "TEXT"\` — message the agent of another task by its task name; \`all\` reaches every agent, \`human\` the people running the session.
- \`graft-agent ask "QUESTION"\` — ask a human and wait for the answer. Only when you are blocked and cannot reasonably decide yourself.
- \`graft-agent done "SUMMARY"\` when the task is complete, or \`graft-agent fail "SUMMARY"\` when you cannot complete it. SUMMARY is one line telling the tasks after you what you did (or why not). This is your last action.

Commit your work to your branch as you go, with clear messages. Do not switch branches or push: graft collects your branch when you finish, and snapshots anything left uncommitted.`;
}
