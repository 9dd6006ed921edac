/**
 * Typed errors for the whole of graft. Every failure a user can see is a
 * GraftError with a stable code, an exit code from the published table
 * (README "Exit codes") and, where the user can act, hints in `actions`.
 * Errors are classified by type, never by matching message text.
 */

/** The published exit-code table. Keep README.md in step. */
export const ExitCode = {
  ok: 0,
  /** The command ran, but work on one or more hosts failed (a remote command exited non-zero). */
  remoteFailure: 1,
  /** Bad flags or arguments. */
  usage: 2,
  /** An input file (inventory, graph, settings) is invalid. */
  config: 3,
  /** A named session, host or agent does not exist. */
  notFound: 4,
  /** A host could not be reached or authenticated, or a connection timed out. */
  unreachable: 5,
  /** A security check refused to go on: host key mismatch, expired or wrong key or identity. */
  security: 6,
  /** A provisioner (local sshd, cloud API) failed to create, list or destroy hosts. */
  provider: 7,
  /** The state store is unusable (locked, corrupt, or from a newer graft). */
  state: 8,
  /** Merging several bases for an agent conflicted; the message names the files and branches. */
  conflict: 9,
  /** Interrupted by the user (SIGINT). */
  interrupted: 130,
  /** A bug in graft. */
  bug: 70,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export interface GraftErrorOptions {
  /** Stable machine-readable code, e.g. `HOST_KEY_MISMATCH`. */
  code: string;
  exitCode: ExitCodeValue;
  /** What the user can do next, one hint per line. */
  actions?: string[];
  cause?: unknown;
  /** Machine-readable facts for `--json` callers (e.g. the session a failed `up` left). */
  details?: Record<string, unknown>;
}

export class GraftError extends Error {
  readonly code: string;
  readonly exitCode: ExitCodeValue;
  readonly actions: string[];
  readonly details?: Record<string, unknown>;

  constructor(message: string, options: GraftErrorOptions) {
    super(message, { cause: options.cause });
    this.name = new.target.name;
    this.code = options.code;
    this.exitCode = options.exitCode;
    this.actions = options.actions ?? [];
    this.details = options.details;
  }
}

/** One problem found in an input file: where and what. */
export interface ConfigProblem {
  file: string;
  /** Path inside the file, e.g. `all.children.web.hosts.web01.ansible_port`; empty for the whole file. */
  path: string;
  /** 1-based line of the file the problem is on, when the reader knows it. */
  line?: number;
  message: string;
}

/** Problems listed in a ConfigError's message; `details.problems` (--json) keeps them all. */
export const maxProblemsInMessage = 100;

/** An input file is invalid. Carries every problem found, not just the first. */
export class ConfigError extends GraftError {
  readonly problems: ConfigProblem[];

  constructor(problems: ConfigProblem[], actions: string[] = []) {
    // A damaged file can hold tens of thousands of problems; a terminal needs the first ones.
    const shown = problems.slice(0, maxProblemsInMessage).map(formatProblem);
    if (problems.length > maxProblemsInMessage) shown.push(`… and ${problems.length - maxProblemsInMessage} more problems (${problems.length} in all; --json lists every one)`);
    super(shown.join('\n'), { code: 'CONFIG_INVALID', exitCode: ExitCode.config, actions, details: { problems } });
    this.problems = problems;
  }
}

/** `file: path: message`, or `file:line: path: message` when the line is known (the form editors jump to). */
export function formatProblem(p: ConfigProblem): string {
  const where = p.line === undefined ? p.file : `${p.file}:${p.line}`;
  return p.path ? `${where}: ${p.path}: ${p.message}` : `${where}: ${p.message}`;
}

export class UsageError extends GraftError {
  constructor(message: string, actions: string[] = []) {
    super(message, { code: 'USAGE', exitCode: ExitCode.usage, actions });
  }
}

export class NotFoundError extends GraftError {
  constructor(message: string, actions: string[] = []) {
    super(message, { code: 'NOT_FOUND', exitCode: ExitCode.notFound, actions });
  }
}

/** Connecting, authenticating or running over SSH failed. `code` says which. */
export class SshError extends GraftError {
  constructor(message: string, code: 'SSH_UNREACHABLE' | 'SSH_TIMEOUT' | 'SSH_AUTH' | 'SSH_DISCONNECTED' | 'SSH_CHANNEL', options: { cause?: unknown; actions?: string[] } = {}) {
    super(message, { code, exitCode: ExitCode.unreachable, ...options });
  }
}

/** A security check refused to proceed. Never downgraded to a warning. */
export class SecurityError extends GraftError {
  constructor(message: string, code: 'HOST_KEY_MISMATCH' | 'HOST_KEY_UNPINNED' | 'KEY_EXPIRED' | 'IDENTITY_MISMATCH', actions: string[] = []) {
    super(message, { code, exitCode: ExitCode.security, actions });
  }
}

export class ProviderError extends GraftError {
  constructor(message: string, options: { code?: string; cause?: unknown; actions?: string[] } = {}) {
    super(message, { code: options.code ?? 'PROVIDER_FAILED', exitCode: ExitCode.provider, cause: options.cause, actions: options.actions });
  }
}

export class StateError extends GraftError {
  constructor(message: string, options: { cause?: unknown; actions?: string[] } = {}) {
    super(message, { code: 'STATE_UNUSABLE', exitCode: ExitCode.state, ...options });
  }
}

/** Something that should never happen did: a bug in graft, reported with its stack. */
export class BugError extends GraftError {
  constructor(message: string, cause?: unknown) {
    super(message, { code: 'BUG', exitCode: ExitCode.bug, cause, actions: ['This is a bug in graft; please report it with the output of the command run with GRAFT_DEBUG=1.'] });
  }
}

/** Wraps anything thrown into a GraftError without losing it. */
export function asGraftError(error: unknown): GraftError {
  if (error instanceof GraftError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new BugError(message, error);
}
