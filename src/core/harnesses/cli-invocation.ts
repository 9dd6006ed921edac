import { BugError } from '../errors.js';
import { shellQuote } from '../shell-quote.js';
import { agentPrompt } from './agent-prompt.js';
import type { HarnessInvocation, HarnessTask } from './harness.js';
import { exportPromptFile, promptFileName } from './task-files.js';

/** How one agent CLI is started for a task: its binary, its words, and how it authenticates. */
export interface AgentCli {
  binary: string;
  /** Every argument after the binary, the agent's own `args` included; each is quoted as one word. */
  argv: string[];
  /** Fixed script lines run before the CLI (graft's own text, never task input). */
  setup?: string[];
  /** Task files besides the prompt (graft's own content, e.g. a CLI's settings). */
  files?: HarnessInvocation['files'];
  /** Secret names the CLI authenticates with; one of them suffices. */
  credentials: string[];
  /** Environment set by graft (see HarnessInvocation.env). */
  env?: Record<string, string>;
}

/**
 * Turns an agent CLI into a harness invocation: the prompt goes into a task file and reaches the
 * CLI on stdin, so no task text is ever part of the script; the only task values on the command
 * line (model, extra args) are quoted word by word. `exec` makes the CLI's exit status the
 * script's and keeps it in the process group graft kills on timeout.
 */
export function cliInvocation(task: HarnessTask, cli: AgentCli): HarnessInvocation {
  const command = [cli.binary, ...cli.argv].map(shellQuote).join(' ');
  return {
    script: [...exportPromptFile(), ...(cli.setup ?? []), `exec ${command} < "$GRAFT_PROMPT_FILE"`, ''].join('\n'),
    requires: [cli.binary, 'git'],
    files: [{ name: promptFileName, content: agentPrompt(task) }, ...(cli.files ?? [])],
    credentials: cli.credentials,
    ...(cli.env && Object.keys(cli.env).length > 0 ? { env: cli.env } : {}),
  };
}

/** `[flag, model]`, or nothing so the CLI uses its own default model. */
export function modelFlag(flag: string, model: string | undefined): string[] {
  return model ? [flag, model] : [];
}

/**
 * Script lines that give each variable a value unless the agent's environment already has one
 * (a granted secret of that name overrides it). Values are graft's constants; `$HOME` expands.
 */
export function envDefaults(values: Record<string, string>): string[] {
  return Object.entries(values).flatMap(([name, value]) => {
    if (!/^[A-Z][A-Z0-9_]*$/.test(name) || /["`\\]|\$\(/.test(value)) throw new BugError(`default ${name}=${value} is not a plain variable and value`);
    return [`: "\${${name}:=${value}}"`, `export ${name}`];
  });
}

/** Script lines that set each variable, its value quoted as one word (a setting's value, never task input). */
export function envExports(values: Record<string, string | undefined>): string[] {
  return Object.entries(values).flatMap(([name, value]) => (value === undefined ? [] : [`${name}=${shellQuote(value)}`, `export ${name}`]));
}
