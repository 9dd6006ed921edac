/**
 * A task's process on its host: launched as the agent, in its own session (setsid) so it outlives
 * the controller's connection and its whole process group can be killed; its output goes to a file
 * in the agent's home, its exit status to another, both written by a wrapper on the host. The
 * controller watches over one SSH exec per task; a resumed controller re-attaches by pid.
 */
import { agentCommand, agentEndpoint } from '../agents/agent-access.js';
import type { AgentRecord } from '../agents/agent-record.js';
import type { HarnessInvocation } from '../harnesses/harness.js';
import type { HostRecord } from '../provisioners/provisioner.js';
import { channelUrlFile } from '../channel/agent-helper.js';
import { shellQuote } from '../shell-quote.js';
import type { SshPool } from '../ssh/index.js';

/** The task's directory under the agent's home. */
export const taskDir = '.graft/task';

export interface LaunchRequest {
  invocation: HarnessInvocation;
  /** The agent's worktree (absolute), the process's cwd. */
  workdir: string;
  /** GRAFT_* variables for the task (names only of the kind `[A-Z_]+`). */
  env: Record<string, string>;
  /** Directories prepended to PATH (where `graft-agent` is). */
  path: string[];
  /** Why the harness needs each required command, for the error when one is missing. */
  harness: string;
  /** The agent channel's URL on the host, for `graft-agent` (written to its URL file). */
  channelUrl?: string;
}

/** How an attempt's process ended. */
export interface ProcessEnd {
  exitCode: number | null;
  /** The process group was gone without an exit status (killed from outside, host rebooted). */
  vanished: boolean;
}

/** Exit status the launcher uses when a required command is missing; no task process started. */
export const missingCommandExit = 127;

const base64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');

/**
 * The launcher, sent on stdin (never on a command line: prompts and secrets stay out of process
 * lists and out of quoting): writes the files, checks the required commands, starts the wrapper
 * detached, prints `pid <n>`, then waits for it and prints `exit <status>`. Launching twice is
 * harmless: a pid file already there means the process was started, and it is watched instead.
 */
export function launcherScript(request: LaunchRequest): string {
  const q = shellQuote;
  const files = request.invocation.files.map((f) => `printf '%s' '${base64(f.content)}' | base64 -d > "$d"/${q(f.name)}`);
  // Sourced by the wrapper with `set -a`: every value quoted, PATH extended, nothing evaluated.
  const env = [...Object.entries(request.env).map(([k, v]) => `${k}=${q(v)}`), `PATH=${request.path.map((p) => q(p)).join(':')}:"$PATH"`].join('\n') + '\n';
  const wrapper = [
    'd="$1"',
    'set -a; . "$d"/env; set +a',
    `sh "$d"/run.sh`,
    'status=$?',
    'echo "$status" > "$d"/exit.tmp && mv "$d"/exit.tmp "$d"/exit',
  ].join('\n');
  return [
    'set -e',
    'umask 077',
    `d="$HOME"/${taskDir}`,
    'mkdir -p "$d"',
    'if [ -f "$d"/pid ]; then pid=$(cat "$d"/pid); echo "pid $pid"; else',
    ...request.invocation.requires.map(
      (c) => `  command -v ${q(c)} >/dev/null 2>&1 || { echo ${q(`graft: ${c} is not installed on this host (the ${request.harness} harness needs it)`)} >&2; exit ${missingCommandExit}; }`,
    ),
    ...files.map((line) => `  ${line}`),
    `  printf '%s' '${base64(request.invocation.script)}' | base64 -d > "$d"/run.sh`,
    `  printf '%s' '${base64(wrapper)}' | base64 -d > "$d"/wrapper.sh`,
    `  printf '%s' '${base64(env)}' | base64 -d > "$d"/env`,
    ...(request.channelUrl ? [`  printf '%s\\n' ${q(request.channelUrl)} > "$HOME"/${channelUrlFile}`] : []),
    `  cd ${q(request.workdir)}`,
    // Not a group leader in a non-interactive shell, so setsid does not fork: $! is the new
    // session's leader, and its pid is the process group to kill.
    '  setsid sh "$d"/wrapper.sh "$d" </dev/null >"$d"/output.log 2>&1 &',
    '  pid=$!',
    '  echo "$pid" > "$d"/pid.tmp && mv "$d"/pid.tmp "$d"/pid',
    '  echo "pid $pid"',
    'fi',
    'set +e',
    watchLoop(),
  ].join('\n');
}

/** Waits (as the agent) until the process is gone, then prints `exit <status>` or `exit vanished`. */
function watchLoop(): string {
  return [
    // A child of this shell is waited for at once; an adopted one (after resume) is polled.
    'wait "$pid" 2>/dev/null',
    'while kill -0 "$pid" 2>/dev/null; do sleep 0.2; done',
    'if [ -f "$d"/exit ]; then echo "exit $(cat "$d"/exit)"; else echo "exit vanished"; fi',
  ].join('\n');
}

/** Starts (or re-attaches to) the task's process; `onPid` hears its pid as soon as it runs. Resolves when it ends. */
export async function runTaskProcess(pool: SshPool, sessionId: string, agent: AgentRecord, host: HostRecord, script: string, onPid: (pid: number) => void, signal?: AbortSignal): Promise<ProcessEnd> {
  let buffered = '';
  let end: ProcessEnd | undefined;
  const result = await pool.exec(agentEndpoint(agent, host), agentCommand(sessionId, agent, 'sh -s'), {
    stdin: script,
    signal,
    onStdout: (chunk) => {
      buffered += chunk.toString('utf8');
      let newline: number;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        const [word, value] = line.split(' ');
        if (word === 'pid' && value) onPid(Number(value));
        if (word === 'exit') end = value === 'vanished' ? { exitCode: null, vanished: true } : { exitCode: Number(value), vanished: false };
      }
    },
  });
  if (end) return end;
  if (result.exitCode === missingCommandExit) throw new MissingCommandError(result.stderr.trim());
  throw new Error(`the task's launcher ended without a result (exit ${result.exitCode ?? result.signal}): ${result.stderr.trim().slice(-500)}`);
}

/** A command the harness needs is not on the host: retrying elsewhere with the same hosts would not help. */
export class MissingCommandError extends Error {}

/** Re-attaches to a process started by an earlier controller: waits for it like the launcher does. */
export function reattachScript(): string {
  return [`d="$HOME"/${taskDir}`, 'if [ ! -f "$d"/pid ]; then echo "nopid"; exit 0; fi', 'pid=$(cat "$d"/pid)', 'echo "pid $pid"', watchLoop()].join('\n');
}

/**
 * Kills the task's whole process group (as the agent): a timeout, a cancel, an attempt stranded
 * on a host that was lost. Without `pid`, the one the launcher wrote on the host is used.
 */
export async function killTaskProcess(pool: SshPool, sessionId: string, agent: AgentRecord, host: HostRecord, pid?: number): Promise<void> {
  const which = pid ? `pid=${pid}` : `pid=$(cat "$HOME"/${taskDir}/pid 2>/dev/null); [ -n "$pid" ] || exit 0`;
  // dash's kill takes no `--`: after the signal, a negative number is a process group.
  const command = `${which}; kill -TERM -$pid 2>/dev/null; sleep 0.5; kill -KILL -$pid 2>/dev/null; true`;
  await pool.exec(agentEndpoint(agent, host), agentCommand(sessionId, agent, command), { timeoutMs: 15_000 });
}
