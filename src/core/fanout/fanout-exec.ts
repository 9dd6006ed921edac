import pLimit from 'p-limit';
import type { EventSink } from '../events.js';
import { asGraftError, ExitCode, SshError } from '../errors.js';
import type { HostRecord } from '../model/host.js';
import type { ExecOptions, ExecResult, SshEndpoint } from '../ssh/types.js';

/**
 * Anything that can run a command on an endpoint: the SSH pool in production. It must honour
 * `options.signal`: when it aborts, stop connecting or kill the command, and reject with its reason.
 */
export interface RemoteExecutor {
  exec(endpoint: SshEndpoint, command: string, options?: ExecOptions): Promise<ExecResult>;
}

export interface FanoutOptions {
  /** How many hosts at once. */
  concurrency: number;
  /** Per-host limit for connecting plus running; it starts when the host's turn comes. */
  timeoutMs?: number;
  /** Lines of stdout and stderr kept per host in the row. */
  headLines: number;
  sessionId?: string;
  events: EventSink;
  endpointFor: (host: HostRecord) => SshEndpoint;
}

/** One host's outcome. `ok` is true only when the command ran and exited 0. */
export interface HostExecRow {
  host: string;
  address: string;
  ok: boolean;
  exitCode: number | null;
  signal: string | null;
  durationMs: number;
  stdout: string[];
  stderr: string[];
  truncated: boolean;
  /** Why the command could not run (unreachable, refused host key, timeout), and what to do about it. */
  error?: { code: string; message: string; exitCode: number; actions: string[] };
}

/**
 * Runs one command on many hosts with bounded concurrency. A host that fails, hangs or is
 * unreachable costs at most its own timeout and never stops the others.
 */
export async function fanoutExec(executor: RemoteExecutor, hosts: HostRecord[], command: string, options: FanoutOptions): Promise<HostExecRow[]> {
  const limit = pLimit(Math.max(1, options.concurrency));
  options.events.emit({
    code: 'exec.started',
    level: 'debug',
    message: `running on ${hosts.length} host(s): ${command}`,
    session: options.sessionId,
    data: { hosts: hosts.length },
  });
  const rows = await Promise.all(hosts.map((host) => limit(() => runOnHost(executor, host, command, options))));
  const failed = rows.filter((r) => !r.ok).length;
  options.events.emit({
    code: 'exec.finished',
    level: 'debug',
    message: `${rows.length - failed} ok, ${failed} failed`,
    session: options.sessionId,
    data: { ok: rows.length - failed, failed },
  });
  return rows;
}

async function runOnHost(executor: RemoteExecutor, host: HostRecord, command: string, options: FanoutOptions): Promise<HostExecRow> {
  const started = performance.now();
  const base = { host: host.name, address: `${host.address}:${host.port}` };
  const deadline = hostDeadline(host, options.timeoutMs);
  let row: HostExecRow;
  try {
    const result = await settledBy(executor.exec(options.endpointFor(host), command, { signal: deadline.signal }), deadline.signal);
    row = {
      ...base,
      ok: result.exitCode === 0,
      exitCode: result.exitCode,
      signal: result.signal,
      durationMs: Math.round(result.durationMs),
      stdout: head(result.stdout, options.headLines, result.truncated),
      stderr: head(result.stderr, options.headLines, result.truncated),
      truncated: result.truncated,
    };
  } catch (thrown) {
    const error = asGraftError(thrown);
    row = {
      ...base,
      ok: false,
      exitCode: null,
      signal: null,
      durationMs: Math.round(performance.now() - started),
      stdout: [],
      stderr: [],
      truncated: false,
      error: { code: error.code, message: error.message, exitCode: error.exitCode, actions: error.actions },
    };
  } finally {
    deadline.clear();
  }
  options.events.emit({
    code: 'exec.host.done',
    level: 'debug',
    message: row.ok ? 'ok' : `failed: ${row.error?.message ?? `exit ${row.exitCode ?? row.signal}`}`,
    session: options.sessionId,
    host: host.name,
    data: { exitCode: row.exitCode, durationMs: row.durationMs },
  });
  return row;
}

/**
 * The one deadline of a host: a signal that aborts with SSH_TIMEOUT. The executor bounds its
 * connect with it and kills the remote command when it fires, so nothing is left running.
 */
function hostDeadline(host: HostRecord, timeoutMs: number | undefined): { signal?: AbortSignal; clear(): void } {
  if (!timeoutMs) return { clear: () => undefined };
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new SshError(`${host.name} (${host.address}:${host.port}) did not finish within ${timeoutMs} ms`, 'SSH_TIMEOUT')),
    timeoutMs,
  );
  return { signal: controller.signal, clear: () => clearTimeout(timer) };
}

/**
 * The work, or the signal's reason once it aborts. Abort listeners all run synchronously inside
 * `abort()`, so the executor has already stopped its dial or killed the command before this
 * rejection is seen; this only guarantees the row arrives on time should an executor ignore the signal.
 */
function settledBy<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return work;
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    if (signal.aborted) onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** The first lines, and how many more there were (at least: a flood of output is only kept up to the buffer's limit). */
function head(text: string, lines: number, truncated: boolean): string[] {
  if (lines <= 0 || text === '') return [];
  const all = text.replace(/\n$/, '').split('\n');
  const more = truncated ? `… at least ${all.length - lines} more line(s) (output cut short: not all of it was kept)` : `… ${all.length - lines} more line(s)`;
  return all.length > lines ? [...all.slice(0, lines), more] : all;
}

/** The exit code of a fan-out: the most severe failure across hosts (see the README's table). */
export function fanoutExitCode(rows: HostExecRow[]): number {
  let code = 0;
  for (const row of rows) {
    const rowCode = row.ok ? ExitCode.ok : (row.error?.exitCode ?? ExitCode.remoteFailure);
    if (rank(rowCode) > rank(code)) code = rowCode;
  }
  return code;
}

// Security refusals outrank unreachable hosts, which outrank other errors, then failed commands.
const severity: number[] = [ExitCode.ok, ExitCode.remoteFailure, ExitCode.unreachable, ExitCode.security];
function rank(code: number): number {
  const known = severity.indexOf(code);
  return known === -1 ? 1.5 : known;
}
