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

/** What each exit code means, in a line, as `graft --help` says it (README "Exit codes" says more). */
export const exitCodeMeanings = {
  ok: 'success',
  remoteFailure: 'the command ran, but failed on a host; run/resume: a task failed or was blocked',
  usage: 'bad flags or arguments',
  config: 'an input file (inventory, graph, settings) is invalid; every problem is listed',
  notFound: 'the named session, host or agent does not exist',
  unreachable: 'a host could not be reached or logged into, or timed out',
  security: 'a security check refused (host key mismatch, expired key, wrong identity)',
  provider: 'a provisioner failed (local sshd, cloud API)',
  state: 'the state store is unusable (unwritable, or from a newer graft)',
  conflict: "an agent's bases conflict",
  interrupted: 'interrupted (SIGINT); run/resume: tasks keep running, `graft resume` picks them up',
  bug: 'a bug in graft',
} as const satisfies Record<keyof typeof ExitCode, string>;

/**
 * Every error code graft reports (`error.code` in --json, the first word of a failure in the
 * logs), with the exit code it comes with and what it means. A code not listed here does not
 * type-check; README "Error codes" lists them all (a unit test holds it to this table).
 */
export const errorCodes = {
  USAGE: ['usage', 'bad flags or arguments, or a request that cannot be done as asked'],
  CONFIG_INVALID: ['config', 'an input file (inventory, graph, settings) is invalid; every problem is listed'],
  NOT_FOUND: ['notFound', 'a named session, host, agent, task or run does not exist'],
  HOST_GONE: ['state', 'a task names a host that is no longer in its session'],
  SESSION_ENDED: ['provider', 'the session was torn down while its hosts were coming up'],
  SSH_UNREACHABLE: ['unreachable', 'a host refused or did not route the connection'],
  SSH_TIMEOUT: ['unreachable', 'a connection or a command timed out'],
  SSH_AUTH: ['unreachable', 'a login was refused (key, account), or no key or ssh-agent was given'],
  SSH_DISCONNECTED: ['unreachable', 'a connection dropped, or the SSH handshake failed'],
  SSH_CHANNEL: ['unreachable', 'a host would not open a channel on a live connection'],
  HOST_KEY_MISMATCH: ['security', 'a host presented a key other than the pinned one'],
  HOST_KEY_UNPINNED: ['security', 'a host has no pinned key and trust on first use was not asked for'],
  KEY_EXPIRED: ['security', "an agent's key or certificate is past its expiry"],
  ROLE_REFUSED: ['security', "an operator's role on a session (team mode) does not allow what was asked"],
  IDENTITY_MISMATCH: ['security', 'a peer presented an identity other than the one expected'],
  HOST_ADMIN_FAILED: ['remoteFailure', 'the host tool refused or failed (account, key, files, rules)'],
  HOST_UNSUPPORTED: ['provider', 'a host lacks what graft needs (a tool, sudo, an sshd setting)'],
  GIT_MISSING: ['remoteFailure', 'git is not installed on a host'],
  LOCAL_GIT_MISSING: ['usage', 'git cannot be run on this machine'],
  GIT_FAILED: ['remoteFailure', 'a git command on a host failed'],
  MERGE_CONFLICT: ['conflict', "an agent's bases conflict; the message names the files and branches"],
  REVOKE_FAILED: ['unreachable', 'an agent could not be revoked on its host; `agent rm` or `down` tries again'],
  LEASE_LOST: ['state', "another controller took the run over (this one's lease ran out); this one stopped writing to it"],
  DETACH_FAILED: ['state', 'the background controller of `run --detach` stopped before its session started'],
  TEARDOWN_INCOMPLETE: ['provider', 'a session could not be torn down completely; what is left is listed'],
  GC_INCOMPLETE: ['provider', 'gc could not remove everything it found; what is left is listed'],
  HOSTS_FAILED: ['provider', 'one or more hosts failed to come up'],
  PROVIDER_FAILED: ['provider', 'a provisioner failed to create, list or destroy hosts'],
  LOCAL_TOO_MANY: ['provider', 'more local hosts were asked for than this machine allows'],
  LOCAL_ACCOUNT_FAILED: ['provider', 'the session admin account for local hosts could not be made'],
  LOCAL_ACCOUNT_FOREIGN: ['provider', "a local account of the name graft needs exists and is not graft's"],
  LOCAL_DESTROY_FAILED: ['provider', 'local hosts could not be stopped or removed'],
  SSHD_MISSING: ['provider', 'no sshd binary on this machine (install openssh-server)'],
  SSHD_EXITED: ['provider', 'a local sshd exited while starting'],
  SSHD_NO_BANNER: ['provider', 'a local sshd started but never answered'],
  SSHD_STOP_FAILED: ['provider', 'a local sshd would not stop'],
  CLOUD_NO_CAPACITY: ['provider', 'no placement had capacity for the VMs'],
  CLOUD_NO_PLACEMENT: ['provider', 'no region, zone or subnet was given or found for the VMs'],
  CLOUD_NO_ADDRESS: ['provider', 'a VM came up without an address graft can reach'],
  CLOUD_NO_CONTROLLER_ADDRESS: ['provider', "this machine's address, as the VMs see it, could not be told"],
  CLOUD_VM_STOPPED: ['provider', 'a VM stopped (its dead-man switch, or the provider)'],
  CLOUD_EXTEND_FAILED: ['provider', "a VM's end could not be moved (`graft extend`)"],
  CLOUD_DESTROY_INCOMPLETE: ['provider', 'some VMs or security groups could not be removed'],
  EC2_NO_IMAGE: ['provider', 'no machine image was given or found'],
  EC2_NO_SUBNET: ['provider', 'no subnet was given or found'],
  EC2_SUBNETS_SPLIT: ['provider', 'the subnets given are in more than one VPC'],
  EC2_RUN_EMPTY: ['provider', 'EC2 accepted a launch and returned no instance'],
  GCE_API_FAILED: ['provider', 'a Compute Engine API call failed'],
  GCE_NO_OPERATION: ['provider', 'Compute Engine returned no operation to wait on'],
  DASHBOARD_NOT_BUILT: ['bug', "the dashboard's page is missing from this build (npm run build)"],
  STATE_UNUSABLE: ['state', 'the state store is unwritable, locked, or from a newer graft'],
  BUG: ['bug', 'a bug in graft'],
} as const satisfies Record<string, readonly [keyof typeof ExitCode, string]>;

/** The exit code an error code comes with. */
export function exitCodeOf(code: ErrorCode): ExitCodeValue {
  return code in errorCodes ? ExitCode[errorCodes[code as keyof typeof errorCodes][0]] : ExitCode.provider;
}

/** A registered code, or a cloud API's own error code under `EC2_` or `GCE_` (exit code 7). */
export type ErrorCode = keyof typeof errorCodes | `EC2_${string}` | `GCE_${string}`;

export interface GraftErrorOptions {
  /** Stable machine-readable code, e.g. `HOST_KEY_MISMATCH` (errorCodes). */
  code: ErrorCode;
  /** Default: the code's own (errorCodes); cloud APIs' codes exit 7. */
  exitCode?: ExitCodeValue;
  /** What the user can do next, one hint per line. */
  actions?: string[];
  cause?: unknown;
  /** Machine-readable facts for `--json` callers (e.g. the session a failed `up` left). */
  details?: Record<string, unknown>;
}

export class GraftError extends Error {
  readonly code: ErrorCode;
  readonly exitCode: ExitCodeValue;
  readonly actions: string[];
  readonly details?: Record<string, unknown>;

  constructor(message: string, options: GraftErrorOptions) {
    super(message, { cause: options.cause });
    this.name = new.target.name;
    this.code = options.code;
    this.exitCode = options.exitCode ?? exitCodeOf(options.code);
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
    if (problems.length > maxProblemsInMessage)
      shown.push(`… and ${problems.length - maxProblemsInMessage} more problems (${problems.length} in all; --json lists every one)`);
    super(shown.join('\n'), { code: 'CONFIG_INVALID', actions, details: { problems } });
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
    super(message, { code: 'USAGE', actions });
  }
}

export class NotFoundError extends GraftError {
  constructor(message: string, actions: string[] = []) {
    super(message, { code: 'NOT_FOUND', actions });
  }
}

/** Connecting, authenticating or running over SSH failed. `code` says which. */
export class SshError extends GraftError {
  constructor(
    message: string,
    code: 'SSH_UNREACHABLE' | 'SSH_TIMEOUT' | 'SSH_AUTH' | 'SSH_DISCONNECTED' | 'SSH_CHANNEL',
    options: { cause?: unknown; actions?: string[] } = {},
  ) {
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
  constructor(message: string, options: { code?: ErrorCode; cause?: unknown; actions?: string[] } = {}) {
    super(message, { code: options.code ?? 'PROVIDER_FAILED', exitCode: ExitCode.provider, cause: options.cause, actions: options.actions });
  }
}

export class StateError extends GraftError {
  constructor(message: string, options: { cause?: unknown; actions?: string[] } = {}) {
    super(message, { code: 'STATE_UNUSABLE', ...options });
  }
}

/** Something that should never happen did: a bug in graft, reported with its stack. */
export class BugError extends GraftError {
  constructor(message: string, cause?: unknown) {
    super(message, { code: 'BUG', cause, actions: ['This is a bug in graft; please report it with the output of the command run with GRAFT_DEBUG=1.'] });
  }
}

/** Wraps anything thrown into a GraftError without losing it. */
export function asGraftError(error: unknown): GraftError {
  if (error instanceof GraftError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new BugError(message, error);
}
