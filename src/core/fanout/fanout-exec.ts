import pLimit from 'p-limit';
import type { EventSink } from '../events.js';
import { asGraftError, ExitCode, SshError } from '../errors.js';
import type { HostRecord } from '../provisioners/provisioner.js';
import type { ExecOptions, ExecResult, SshEndpoint } from '../ssh/types.js';

/** Anything that can run a command on an endpoint: the SSH pool in production. */
export interface RemoteExecutor {
  exec(endpoint: SshEndpoint, command: string, options?: ExecOptions): Promise<ExecResult>;
}

export interface FanoutOptions {
  /** How many hosts at once. */
  concurrency: number;
  /** Per-host limit for connecting plus running. */
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
  /** Why the command could not run (unreachable, refused host key, timeout). */
  error?: { code: string; message: string; exitCode: number };
}

/**
 * Runs one command on many hosts with bounded concurrency. A host that fails, hangs or is
 * unreachable costs at most its own timeout and never stops the others.
 */
export async function fanoutExec(executor: RemoteExecutor, hosts: HostRecord[], command: string, options: FanoutOptions): Promise<HostExecRow[]> {
  const limit = pLimit(Math.max(1, options.concurrency));
  options.events.emit({ code: 'exec.started', level: 'debug', message: `running on ${hosts.length} host(s): ${command}`, session: options.sessionId, data: { hosts: hosts.length } });
  const rows = await Promise.all(hosts.map((host) => limit(() => runOnHost(executor, host, command, options))));
  const failed = rows.filter((r) => !r.ok).length;
  options.events.emit({ code: 'exec.finished', level: 'debug', message: `${rows.length - failed} ok, ${failed} failed`, session: options.sessionId, data: { ok: rows.length - failed, failed } });
  return rows;
}

async function runOnHost(executor: RemoteExecutor, host: HostRecord, command: string, options: FanoutOptions): Promise<HostExecRow> {
  const started = performance.now();
  const base = { host: host.name, address: `${host.address}:${host.port}` };
  let row: HostExecRow;
  try {
    const result = await withDeadline(executor.exec(options.endpointFor(host), command, { timeoutMs: options.timeoutMs }), options.timeoutMs, host);
    row = {
      ...base,
      ok: result.exitCode === 0,
      exitCode: result.exitCode,
      signal: result.signal,
      durationMs: Math.round(result.durationMs),
      stdout: head(result.stdout, options.headLines),
      stderr: head(result.stderr, options.headLines),
      truncated: result.truncated,
    };
  } catch (thrown) {
    const error = asGraftError(thrown);
    row = { ...base, ok: false, exitCode: null, signal: null, durationMs: Math.round(performance.now() - started), stdout: [], stderr: [], truncated: false, error: { code: error.code, message: error.message, exitCode: error.exitCode } };
  }
  options.events.emit({ code: 'exec.host.done', level: 'debug', message: row.ok ? 'ok' : `failed: ${row.error?.message ?? `exit ${row.exitCode ?? row.signal}`}`, session: options.sessionId, host: host.name, data: { exitCode: row.exitCode, durationMs: row.durationMs } });
  return row;
}

/** The per-host timeout covers connecting too, not only the command. */
function withDeadline<T>(work: Promise<T>, timeoutMs: number | undefined, host: HostRecord): Promise<T> {
  if (!timeoutMs) return work;
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new SshError(`${host.name} (${host.address}:${host.port}) did not finish within ${timeoutMs} ms`, 'SSH_TIMEOUT')), timeoutMs);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}

function head(text: string, lines: number): string[] {
  if (lines <= 0 || text === '') return [];
  const all = text.replace(/\n$/, '').split('\n');
  return all.length > lines ? [...all.slice(0, lines), `… ${all.length - lines} more line(s)`] : all;
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
