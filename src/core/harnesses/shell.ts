import { shellQuote } from '../shell-quote.js';
import type { Harness } from './harness.js';
import { taskConfigError } from './harness-errors.js';
import { exportPromptFile, promptFileName, taskFileWord } from './task-files.js';

const commandFileName = 'command.sh';

/**
 * Runs a command (the task's, else its agent's) with POSIX sh. The command travels as a task file
 * and runs as its own script, so graft never splices it into a command line: it is evaluated
 * once, exactly as written. The task's prompt is a file too ($GRAFT_PROMPT_FILE) and the agent's
 * `args` are the command's positional parameters ($1, $2 ...).
 */
export const shellHarness: Harness = {
  name: 'shell',
  invoke(task) {
    const command = task.command ?? task.agent.command;
    if (!command?.trim()) {
      throw taskConfigError(
        task,
        `tasks.${task.task}.command`,
        'the shell harness needs a command, and neither the task nor its agent has one',
        'Set `command:` on the task or on its agent.',
      );
    }
    const args = task.agent.args.map(shellQuote).join(' ');
    return {
      script: [...exportPromptFile(), `exec sh ${taskFileWord(commandFileName)}${args ? ` ${args}` : ''}`, ''].join('\n'),
      requires: ['git'],
      files: [
        { name: commandFileName, content: command.endsWith('\n') ? command : `${command}\n` },
        { name: promptFileName, content: task.prompt ?? '' },
      ],
      credentials: [],
    };
  },
};
