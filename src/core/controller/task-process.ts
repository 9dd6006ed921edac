/**
 * A task's process on its host: launched as the agent, in its own session so it outlives the
 * controller's connection and its whole process group can be killed; its output goes to a file
 * in the agent's home, its exit status to another, both written by a wrapper on the host. The
 * controller watches over one SSH exec per task; a resumed controller re-attaches by pid.
 *
 * Where the host has tmux, that session is the pane of a detached tmux session on a socket of the
 * agent's own (`graft attach` joins it): the pane's process leads its own session and process
 * group just as setsid's would, its output still goes straight to the same file (the terminal
 * shows that file), and its stdin is the terminal a person may type into. Without tmux the task
 * starts under setsid as before, with no terminal.
 */
import type { HostShell } from '../hosts/host-shell.js';
import type { HarnessInvocation } from '../harnesses/harness.js';
import { limitHits } from '../hosts/limits.js';
import { type LimitHit } from '../model/guardrails.js';
import { channelUrlFile } from '../channel/agent-helper.js';
import { shellQuote } from '../shell-quote.js';

/** The task's directory under the agent's home. */
export const taskDir = '.graft/task';
/** The task's tmux socket, in its 0700 task directory; the tmux session on it is named `task`. */
export const terminalSocket = `${taskDir}/tmux.sock`;

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
  /** A resource limit of the agent's cgroups that its processes hit (hosts/limits.ts). */
  limit?: LimitHit;
}

/** The agent's cgroups (one directory a line), written by the host tool when it has limits. */
const cgroupList = '"$HOME"/.graft/cgroup';

/** Exit status the launcher uses when a required command is missing; no task process started. */
export const missingCommandExit = 127;

/** The most the terminal shows of the log per poll; the rest of a flood is skipped there (not in the log). */
const viewerChunk = 64 * 1024;
/** How often the terminal looks at the log while someone is attached. */
const viewerPollSeconds = 0.3;
/** In the task directory: `attached.<pid>` while the shell of a `graft attach` with that pid lives. */
export const attachMarkerName = 'attached.';

/**
 * A shell statement writing `content` to the file at `target` (shell text, e.g. `"$d"/env`) with
 * dash's builtin printf: no process per file. The content is single-quoted, so nothing in it is
 * evaluated; it travels on the launcher's stdin, never on a command line.
 */
const writeStatement = (content: string, target: string) => `printf '%s' ${shellQuote(content)} > ${target}`;

/**
 * The launcher, sent on stdin (never on a command line: prompts and secrets stay out of process
 * lists and out of quoting): writes the files, checks the required commands, starts the wrapper
 * detached, prints `pid <n>`, then waits for it and prints `exit <status>`. Launching twice is
 * harmless: a pid file already there means the process was started, and it is watched instead.
 */
export function launcherScript(request: LaunchRequest): string {
  const q = shellQuote;
  const files = request.invocation.files.map((f) => writeStatement(f.content, `"$d"/${q(f.name)}`));
  // Sourced by the wrapper with `set -a`: every value quoted, PATH extended, nothing evaluated.
  const taskPath = `PATH=${request.path.map((p) => q(p)).join(':')}:"$PATH"`;
  const env = [...Object.entries(request.env).map(([k, v]) => `${k}=${q(v)}`), taskPath].join('\n') + '\n';
  const wrapper = [
    'd="$1"',
    'set -a; . "$d"/env; set +a',
    // Into the agent's cgroups before anything of the task runs; never run without them.
    // 0 is the process writing it: this shell, a subshell of the terminal's where tmux runs it.
    `if [ -f ${cgroupList} ]; then while read -r c; do echo 0 > "$c"/cgroup.procs || { echo "graft: cannot join the agent's cgroup $c" >&2; echo 125 > "$d"/exit; exit 125; }; done < ${cgroupList}; fi`,
    `sh "$d"/run.sh`,
    'status=$?',
    'echo "$status" > "$d"/exit.tmp && mv "$d"/exit.tmp "$d"/exit',
  ].join('\n');
  // The pane's process: the wrapper with the terminal as stdin and the log as stdout, as fast as
  // without tmux. The terminal shows what the log gains, at most 64 KiB a round: a pane takes
  // output at only a few MB/s, and a flood must neither slow the task nor keep tmux busy. It
  // looks only while someone is attached (`graft attach` leaves ~/.graft/task/attached.PID for as long as
  // its shell lives, and wakes the viewer with USR1): every look forks, and a hundred tasks
  // looking a few times a second, unwatched, kept two cores busy. Attaching shows the last
  // 64 KiB at once, then follows.
  // The exit file is written before this process ends; the watch reads it once it is gone.
  // While it runs it holds a lock on "$d"/alive (never passed to the task or the viewer), so the
  // watch, which is not its parent, sleeps in flock until it ends instead of polling its pid.
  const terminal = [
    'd="$1"',
    'f="$d"/output.log',
    ': > "$f"',
    'exec 9>"$d"/alive',
    'if command -v flock >/dev/null 2>&1 && flock 9; then : > "$d"/alive.held; fi',
    '(',
    '  shown=0 nap=',
    '  trap \'kill "$nap" 2>/dev/null; exit 0\' TERM',
    '  trap : USR1',
    '  while :; do',
    '    watched=',
    `    for m in "$d"/${attachMarkerName}*; do`,
    '      [ -e "$m" ] || continue',
    `      if kill -0 "\${m##*.}" 2>/dev/null; then watched=1; else rm -f "$m"; fi`,
    '    done',
    `    if [ -z "$watched" ]; then sleep 86400 & nap=$!; wait "$nap"; kill "$nap" 2>/dev/null; continue; fi`,
    '    size=$(wc -c < "$f")',
    '    if [ "$size" -gt "$shown" ]; then',
    `      if [ $((size - shown)) -gt ${viewerChunk} ]; then printf '\n[graft: %s bytes not shown here; graft logs has them]\n' $((size - shown - ${viewerChunk})); shown=$((size - ${viewerChunk})); fi`,
    '      tail -c +$((shown + 1)) "$f" | head -c $((size - shown))',
    '      shown=$size',
    '    fi',
    `    sleep ${viewerPollSeconds}`,
    '  done',
    ') 9>&- &',
    'viewer=$!',
    'echo "$viewer" > "$d"/viewer.pid',
    // The wrapper in a subshell of this one: a fork, not another shell to exec.
    '( set -- "$d"; . "$d"/wrapper.sh ) >> "$f" 2>&1 9>&-',
    'kill "$viewer" 2>/dev/null',
  ].join('\n');
  return [
    'set -e',
    'umask 077',
    `d="$HOME"/${taskDir}`,
    'mkdir -p "$d"',
    'if [ -f "$d"/pid ]; then read -r pid < "$d"/pid; echo "pid $pid"; else',
    ...request.invocation.requires.map(
      // Looked up on the PATH the task will have (GRAFT_AGENT_PATH included), in a subshell so it does not grow twice.
      (c) =>
        `  (${taskPath}; command -v ${q(c)}) >/dev/null 2>&1 || { echo ${q(`graft: ${c} is not installed on this host (the ${request.harness} harness needs it)`)} >&2; exit ${missingCommandExit}; }`,
    ),
    ...files.map((line) => `  ${line}`),
    `  ${writeStatement(request.invocation.script, '"$d"/run.sh')}`,
    `  ${writeStatement(wrapper, '"$d"/wrapper.sh')}`,
    `  ${writeStatement(terminal, '"$d"/terminal.sh')}`,
    `  ${writeStatement(env, '"$d"/env')}`,
    ...(request.channelUrl ? [`  printf '%s\\n' ${q(request.channelUrl)} > "$HOME"/${channelUrlFile}`] : []),
    `  cd ${q(request.workdir)}`,
    // No tmux.conf (the host's or the account's) shapes it; the command runs without a shell
    // (several words); -P prints the pane's pid at once, even for a process that ends at once.
    // A tmux that cannot start (e.g. a socket path too long) leaves the task to setsid.
    `  if command -v tmux >/dev/null 2>&1 && { [ ! -e "$d"/alive.held ] || rm -f "$d"/alive.held; } && pid=$(tmux -f /dev/null -S "$HOME"/${terminalSocket} new-session -d -s task -x 160 -y 48 -c "$PWD" -P -F '#{pane_pid}' sh "$d"/terminal.sh "$d") && [ -n "$pid" ]; then`,
    '    :',
    '  else',
    // Not a group leader in a non-interactive shell, so setsid does not fork: $! is the new
    // session's leader, and its pid is the process group to kill.
    '    setsid sh "$d"/wrapper.sh "$d" </dev/null >"$d"/output.log 2>&1 &',
    '    pid=$!',
    '  fi',
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
    // A child of this shell is waited for at once; a tmux pane is waited for on its lock; one
    // without the lock (no flock) is polled.
    // The files are read with the shell's own read: no process per look.
    'wait "$pid" 2>/dev/null',
    // Once the lock is had, the pane's shell has ended (its exit file written before); tmux may not
    // have reaped it yet, which no longer matters.
    'while kill -0 "$pid" 2>/dev/null; do',
    '  if [ -f "$d"/alive.held ]; then exec 8<"$d"/alive; flock 8 2>/dev/null && break; exec 8<&-; fi',
    '  sleep 0.2',
    'done',
    // Which limit the processes hit, read as the agent from its cgroups (this shell is outside them).
    `if [ -f ${cgroupList} ]; then while read -r c; do`,
    '  if [ -f "$c"/pids.events ] && read -r k v < "$c"/pids.events && [ "$k" = max ] && [ "$v" != 0 ]; then echo "limit pids-limit"; fi',
    '  if [ -f "$c"/memory.oom_control ]; then while read -r k v; do [ "$k" != oom_kill ] || [ "$v" = 0 ] || echo "limit oom"; done < "$c"/memory.oom_control; fi',
    `done < ${cgroupList}; fi`,
    'if [ -f "$d"/exit ] && read -r status < "$d"/exit; then echo "exit $status"; else echo "exit vanished"; fi',
  ].join('\n');
}

/** Starts (or re-attaches to) the task's process; `onPid` hears its pid as soon as it runs. Resolves when it ends. */
export async function runTaskProcess(shell: HostShell, script: string, onPid: (pid: number) => void, signal?: AbortSignal): Promise<ProcessEnd> {
  let buffered = '';
  let end: ProcessEnd | undefined;
  let limit: LimitHit | undefined;
  const result = await shell.exec('sh -s', {
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
        if (word === 'limit' && (limitHits as readonly string[]).includes(value ?? '')) limit ??= value as LimitHit;
        if (word === 'exit') end = value === 'vanished' ? { exitCode: null, vanished: true } : { exitCode: Number(value), vanished: false };
      }
    },
  });
  if (end) return limit ? { ...end, limit } : end;
  if (result.exitCode === missingCommandExit) throw new MissingCommandError(result.stderr.trim());
  throw new Error(`the task's launcher ended without a result (exit ${result.exitCode ?? result.signal}): ${result.stderr.trim().slice(-500)}`);
}

/** A command the harness needs is not on the host: retrying elsewhere with the same hosts would not help. */
export class MissingCommandError extends Error {}

/** Re-attaches to a process started by an earlier controller: waits for it like the launcher does. */
export function reattachScript(): string {
  return [`d="$HOME"/${taskDir}`, 'if [ ! -f "$d"/pid ]; then echo "nopid"; exit 0; fi', 'read -r pid < "$d"/pid', 'echo "pid $pid"', watchLoop()].join('\n');
}

/**
 * Kills the task's whole process group (as the agent): a timeout, a cancel, an attempt stranded
 * on a host that was lost. Without `pid`, the one the launcher wrote on the host is used.
 */
export async function killTaskProcess(shell: HostShell, pid?: number): Promise<void> {
  const which = pid ? `pid=${pid}` : `pid=$(cat "$HOME"/${taskDir}/pid 2>/dev/null); [ -n "$pid" ] || exit 0`;
  // dash's kill takes no `--`: after the signal, a negative number is a process group.
  const command = `${which}; kill -TERM -$pid 2>/dev/null; sleep 0.5; kill -KILL -$pid 2>/dev/null; true`;
  await shell.exec(command, { timeoutMs: 15_000 });
}
