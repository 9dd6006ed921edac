/**
 * Joining a running task's terminal (`graft attach`): the tmux session its process runs in on
 * its host (see task-process.ts), on a socket in the agent's 0700 task directory, reached as the
 * agent over its own key with OpenSSH's client, which is the right tool for a person's terminal.
 */
import { agentCommand } from '../hosts/agent-access.js';
import { HostShell } from '../hosts/host-shell.js';
import type { AgentRecord } from '../model/agent.js';
import { interactiveSshArgv } from '../agents/interactive-ssh.js';
import { NotFoundError, UsageError } from '../errors.js';
import type { HostRecord } from '../model/host.js';
import type { GraftRuntime } from '../runtime.js';
import { requireRun } from './require-run.js';
import { attachMarkerName, taskDir, terminalSocket } from './task-process.js';

/** tmux's default prefix then `d`: how a person leaves without stopping the task. */
export const detachKeys = 'Ctrl-b d';

export interface AttachRequest {
  task: string;
  /** Let the person type into the terminal (default: watch only). */
  write: boolean;
  /** Who attaches, for the audit log. */
  by: string;
  session?: string;
  /** Whether the caller has a terminal to give ssh; checked once the task is known to have one. */
  hasTerminal: boolean;
}

export interface TaskTerminal {
  session: string;
  task: string;
  agent: string;
  host: string;
  mode: 'read-only' | 'write';
  /** The `ssh` argv that joins the terminal. */
  sshArgv: string[];
}

/**
 * The shell command, as the agent, that joins the task's terminal: it marks the task as watched
 * for as long as it lives and wakes the terminal's viewer, which shows the log only then (see
 * launcherScript), before running tmux.
 */
export function attachCommand(write: boolean): string {
  return [
    `d="$HOME"/${taskDir}; m="$d"/${attachMarkerName}$$; : > "$m"`,
    `trap 'rm -f "$m"' EXIT; trap 'exit 129' HUP; trap 'exit 130' INT; trap 'exit 143' TERM`,
    'kill -USR1 "$(cat "$d"/viewer.pid 2>/dev/null)" 2>/dev/null',
    `tmux -S "$HOME"/${terminalSocket} attach-session -t task${write ? '' : ' -r'}`,
  ].join('; ');
}

/**
 * Finds the running task's terminal, checks on its host that it is there, and records the attach
 * in the session's audit log. The caller runs `ssh` with the returned argv on a terminal.
 */
export async function openTaskTerminal(runtime: GraftRuntime, request: AttachRequest): Promise<TaskTerminal> {
  const { session, run, runs } = requireRun(runtime.store, request.session);
  const name = request.task;
  if (!Object.hasOwn(run.graph.tasks, name))
    throw new NotFoundError(`session ${session.id} has no task ${name}`, [`Tasks: ${Object.keys(run.graph.tasks).join(', ')}`]);
  const task = runs.getTask(session.id, name)!;
  if (task.state !== 'running')
    throw new UsageError(`${name} is not running (it is ${task.state}); only a running task has a terminal to attach to`, [
      `See its output: graft logs ${name}`,
    ]);
  const agent = runtime.store.getAgent(session.id, task.agent!);
  const host = runtime.store.listHosts(session.id).find((h) => h.name === task.host);
  if (!agent || agent.state !== 'ready' || !host) throw new NotFoundError(`${name} is running but its agent is not ready`, ['Try again in a moment.']);
  if (!agent.interactive)
    throw new UsageError(`${name} was started by an older graft whose agent keys allow no terminal`, [`Watch its output instead: graft logs ${name} -f`]);
  await requireTerminal(runtime, session.id, agent, host, name);
  if (!request.hasTerminal)
    throw new UsageError('graft attach needs a terminal (stdin and stdout are not both one)', [`Follow the output without one: graft logs ${name} -f`]);
  const mode = request.write ? 'write' : 'read-only';
  runtime.events.emit({
    code: 'task.attached',
    level: 'info',
    message: `${name}: ${request.by} attached to its terminal (${mode})`,
    session: session.id,
    host: host.name,
    data: { task: name, agent: agent.name, by: request.by, mode },
  });
  const sshArgv = interactiveSshArgv(agent, host, [agentCommand(session.id, agent, attachCommand(request.write))], true);
  return { session: session.id, task: name, agent: agent.name, host: host.name, mode, sshArgv };
}

/** The task's tmux session is there, or a UsageError says why not. */
async function requireTerminal(runtime: GraftRuntime, sessionId: string, agent: AgentRecord, host: HostRecord, task: string): Promise<void> {
  const probe = `command -v tmux >/dev/null 2>&1 || { echo no-tmux; exit 0; }; tmux -S "$HOME"/${terminalSocket} has-session -t task 2>/dev/null && echo terminal || echo none`;
  const result = await HostShell.agent(runtime.pool, sessionId, agent, host).exec(probe, { timeoutMs: 30_000 });
  const answer = result.stdout.trim();
  if (answer === 'terminal') return;
  if (answer === 'no-tmux')
    throw new UsageError(`${task} runs without a terminal: tmux is not installed on ${host.name}`, [
      `Install tmux on ${host.name} for tasks started from now on.`,
      `Watch its output instead: graft logs ${task} -f`,
    ]);
  throw new UsageError(`${task} runs without a terminal on ${host.name} (it was started without tmux, or has just ended)`, [
    `Watch its output instead: graft logs ${task} -f`,
  ]);
}

/** Records in the audit log that the person left the terminal (the task runs on). */
export function recordDetach(runtime: GraftRuntime, terminal: TaskTerminal, by: string, exitCode: number | null): void {
  runtime.events.emit({
    code: 'task.detached',
    level: 'info',
    message: `${terminal.task}: ${by} left its terminal`,
    session: terminal.session,
    host: terminal.host,
    data: { task: terminal.task, agent: terminal.agent, by, mode: terminal.mode, sshExit: exitCode },
  });
}
