import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { BugError, GraftError, ExitCode, SshError, UsageError } from '../errors.js';
import type { HostRecord } from '../model/host.js';
import type { AgentRecord } from '../model/agent.js';
import { isIpAddress } from './authorized-key.js';
import { egressArgument, type EgressRules } from './egress.js';
import { parseHostFacts, type HostFacts } from './host-facts.js';
import { limitsArgument } from './limits.js';
import { type ResourceLimits } from '../model/guardrails.js';
import { assetPath } from '../package-assets.js';
import { ProgressDeadline } from './progress-deadline.js';
import { HostShell } from './host-shell.js';
import { shellQuote } from '../shell-quote.js';
import { oncePerPool, type SshPool } from '../ssh/index.js';
import type { ExecResult } from '../ssh/types.js';

/** How long a subcommand may run once the host has started it. */
const timeoutMs = 60_000;
/**
 * How long a subcommand that queues for the host's account lock may wait for it. A slow or busy
 * host slows the run rather than failing it; a dead one is noticed sooner, by its keepalives.
 */
const queueBoundMs = 15 * 60_000;
/** What the host tool prints once it holds the account lock: the deadline counts from there. */
const startedLine = 'graft-host: started';
/** What it prints as a long batch goes on (pool-delete, after each account): the deadline starts again. */
const workingLine = 'graft-host: working';
/** Subcommands that queue for the account lock or the network rules' lock (see provisioners/host/agent-account.sh). */
const queueing = new Set(['create', 'provision', 'remove', 'pool-fill', 'pool-delete', 'pool-claim', 'pool-revoke']);
/** The parts of the host tool that agent-account.sh includes, each where its include line stands. */
const includedParts = ['sshd-keys.sh', 'egress.sh', 'limits.sh', 'privacy.sh', 'account-pool.sh'];

let script: { content: Buffer; remotePath: string } | undefined;
/**
 * The tool's bytes (agent-account.sh with its parts included) and its content-addressed path on
 * hosts: a new graft never runs an old copy, and a copy is never rewritten in place.
 */
function hostScript(): { content: Buffer; remotePath: string } {
  if (!script) {
    let text = readFileSync(assetPath('provisioners', 'host', 'agent-account.sh'), 'utf8');
    for (const part of includedParts) {
      const includeLine = `# graft: include ${part}\n`;
      if (!text.includes(includeLine)) throw new BugError(`provisioners/host/agent-account.sh lost its include line for ${part}`);
      text = text.replace(includeLine, () => readFileSync(assetPath('provisioners', 'host', part), 'utf8'));
    }
    const content = Buffer.from(text);
    script = { content, remotePath: `.graft/bin/agent-account-${createHash('sha256').update(content).digest('hex').slice(0, 12)}.sh` };
  }
  return script;
}

/** Uploads in flight or done, per pool and host, so concurrent agent creations upload once. */
const uploads = new WeakMap<SshPool, Map<string, Promise<void>>>();
/** The controller's address as each host sees it, asked once per pool and host. */
const addresses = new WeakMap<SshPool, Map<string, Promise<string>>>();
/** Hosts' facts asked or known, per pool and host: a host's first agents, made at once, ask once. */
const facts = new WeakMap<SshPool, Map<string, Promise<HostFacts>>>();

/** A file for an agent's home: its path there, and its content. */
export interface AgentFile {
  path: string;
  content: string;
}

/** What the host enforces for an agent's account: where it may connect, and what it may use. */
export interface Guardrails {
  egress?: EgressRules;
  limits?: ResourceLimits;
}

/** The host tool's optional EGRESS and LIMITS arguments ('' for one that is not set). */
function guardrailArguments({ egress, limits }: Guardrails): string[] {
  const limitsArg = limitsArgument(limits);
  const egressArg = egressArgument(egress)[0] ?? '';
  return limitsArg ? [egressArg, limitsArg] : egressArg ? [egressArg] : [];
}

/** The host tool's input for an agent: its key line, then one line per file, "PATH BASE64". */
function agentInput(keyLine: string, files: AgentFile[]): string {
  // A path is graft's own, never blank or spaced.
  const odd = files.find((f) => !/^[A-Za-z0-9._/-]+$/.test(f.path));
  if (odd)
    throw new UsageError(`cannot write agent file ${JSON.stringify(odd.path)}: graft's agent files are named with letters, digits, '.', '_', '-' and '/'`);
  return `${keyLine}\n${files.map((f) => `${f.path} ${Buffer.from(f.content, 'utf8').toString('base64')}\n`).join('')}`;
}

export class HostAdmin {
  /** The host's admin login, that every subcommand runs over. */
  private readonly shell: HostShell;

  constructor(
    private readonly pool: SshPool,
    readonly host: HostRecord,
    env: NodeJS.ProcessEnv,
  ) {
    this.shell = HostShell.admin(pool, host, env);
  }

  /**
   * The shell command that runs one subcommand, for callers that make it part of a longer
   * command over the admin's connection. It assumes the tool is on the host: `ensureTool` first,
   * or guard it with `toolPresent`.
   */
  commandLine(args: string[], privileged = true): string {
    const sudo = privileged && this.host.user !== 'root' ? 'sudo -n ' : '';
    return `${sudo}sh "$HOME/${hostScript().remotePath}" ${args.map(shellQuote).join(' ')}`;
  }

  /** A shell test, true when this graft's tool is on the host. */
  toolPresent(): string {
    return `[ -f "$HOME/${hostScript().remotePath}" ]`;
  }

  /** Runs one subcommand; fails with the tool's own message when it refuses. */
  async run(args: string[], stdin?: string, privileged = true): Promise<string> {
    await this.ensureTool();
    const command = this.commandLine(args, privileged);
    const sudo = privileged && this.host.user !== 'root';
    const result: ExecResult = queueing.has(args[0]!)
      ? await this.execQueued(args[0]!, command, stdin ?? '')
      : await this.shell.exec(command, { timeoutMs, stdin: stdin ?? '' });
    result.stdout = result.stdout
      .split('\n')
      .filter((line) => line !== startedLine && line !== workingLine)
      .join('\n');
    if (result.exitCode !== 0) {
      throw new GraftError(`${this.host.name}: ${args[0]} ${args[1] ?? ''} failed: ${result.stderr.trim() || `exit ${result.exitCode ?? result.signal}`}`, {
        code: 'HOST_ADMIN_FAILED',
        exitCode: ExitCode.remoteFailure,
        actions: sudo ? [`Check that ${this.host.user} on ${this.host.name} can run sudo without a password, or set graft_isolation: shared-account.`] : [],
      });
    }
    return result.stdout.trim();
  }

  /**
   * Runs a subcommand that waits for the host's account lock: its deadline starts when the host
   * tool says it holds the lock, so a queue of other agents' accounts (or a host slowed by load)
   * makes it later, not failed, and starts again each time a long batch says it is still working,
   * so a big batch is bounded by its progress, not its size. The wait itself is bounded only loosely.
   */
  private execQueued(subcommand: string, command: string, stdin: string): Promise<ExecResult> {
    const abort = new AbortController();
    const deadline = new ProgressDeadline({
      queueMs: queueBoundMs,
      stepMs: timeoutMs,
      startedLine,
      workingLine,
      label: `${this.host.name}: ${subcommand}`,
      onExpire: (message) => abort.abort(new SshError(message, 'SSH_TIMEOUT')),
    });
    return this.shell.exec(command, { stdin, signal: abort.signal, onStdout: (chunk) => deadline.feed(chunk) }).finally(() => deadline.stop());
  }

  /**
   * Makes a per-account agent in one call: its account, its key line in the root-owned key file,
   * and its files (0600, written as the account). Returns its home.
   */
  provision(account: string, keyLine: string, files: AgentFile[], guardrails: Guardrails = {}): Promise<string> {
    return this.run(['provision', account, ...guardrailArguments(guardrails)], agentInput(keyLine, files));
  }

  /**
   * Makes `count` keyless accounts for the session's pool under one lock on /etc/passwd
   * (`graft-<session>-<uid>`, each with an empty 0700 home).
   */
  async fillPool(sessionId: string, count: number): Promise<{ account: string; home: string }[]> {
    const out = await this.run(['pool-fill', sessionId, String(count)]);
    return out
      .split('\n')
      .filter((l) => l.startsWith('account '))
      .map((l) => {
        const [, account = '', home = ''] = l.split(' ');
        return { account, home };
      });
  }

  /** Gives a pool account to an agent: its key line and files. The host refuses a second claim of it. Returns its home. */
  async claimPooled(account: string, keyLine: string, files: AgentFile[], guardrails: Guardrails = {}, then?: string): Promise<string> {
    // `then` (shell, run as the account from its home once its files are written) goes in the same
    // call: one sudo and one round trip fewer per task than a separate as-agent.
    const out = await this.run(['pool-claim', account, ...guardrailArguments(guardrails)], agentInput(keyLine, files) + (then ? `graft:then\n${then}\n` : ''));
    // The home is the tool's last line, after whatever `then` printed.
    return out.trim().split('\n').at(-1)!;
  }

  /** Removes a pool account's key, secrets and identity and kills its processes; the account waits for `deletePooled`. */
  async revokePooled(account: string): Promise<void> {
    await this.run(['pool-revoke', account]);
  }

  /** Deletes pool accounts (revoked or never claimed) in one batch, or with 'all' every one of the session. Returns those deleted. */
  async deletePooled(sessionId: string, accounts: string[] | 'all'): Promise<string[]> {
    if (accounts !== 'all' && accounts.length === 0) return [];
    const out = await this.run(
      accounts === 'all' ? ['pool-delete', sessionId, '--all'] : ['pool-delete', sessionId],
      accounts === 'all' ? '' : `${accounts.join('\n')}\n`,
    );
    return out
      .split('\n')
      .filter((l) => l.startsWith('deleted '))
      .map((l) => l.slice('deleted '.length));
  }

  /** The session's pool accounts on the host, found by looking: never claimed, claimed (holding a key) or revoked. */
  async listPool(sessionId: string): Promise<{ account: string; state: 'ready' | 'claimed' | 'revoked' }[]> {
    const out = await this.run(['pool-list', sessionId]);
    return out
      .split('\n')
      .filter(Boolean)
      .map((l) => {
        const [account = '', state = ''] = l.split(' ');
        return { account, state: state as 'ready' | 'claimed' | 'revoked' };
      });
  }

  private get key(): string {
    return `${this.host.user}@${this.host.address}:${this.host.port}`;
  }

  /** Puts the tool on the host once: uploaded under a temporary name, then renamed, so no one runs a half-written copy. */
  ensureTool(): Promise<void> {
    return oncePerPool(uploads, this.pool, this.key, () => this.upload());
  }

  private async upload(): Promise<void> {
    const { content, remotePath } = hostScript();
    const connection = await this.shell.connection();
    const present = await connection.exec(`mkdir -p .graft/bin && chmod 0700 .graft && test -f ${remotePath}`, { timeoutMs });
    if (present.exitCode === 0) return;
    const temporary = `${remotePath}.${randomBytes(6).toString('hex')}.tmp`;
    await connection.putFile(content, temporary, 0o700);
    await connection.exec(`mv -f ${temporary} ${remotePath}`, { timeoutMs });
  }

  /**
   * Makes sure the sshd serving graft on the host reads agents' key lines from root-owned files:
   * cloud VMs have that from their first boot, local hosts from the sshd graft runs; elsewhere
   * the host tool adds a drop-in and reloads that sshd once. Refuses hosts where that cannot be
   * arranged: a key line in the agent's own home would be the agent's to rewrite.
   */
  async ensureAgentKeyLookup(): Promise<void> {
    if (this.host.provisioner === 'local') return;
    const answer = await this.run(['sshd-keys']);
    if (answer === 'ready') return;
    const reason = answer.replace(/^unsupported:?\s*/, '');
    throw new GraftError(
      `${this.host.name}: its sshd cannot look up agents' keys in /etc/graft/authorized_keys (${reason}), so they would have to live in agents' own homes, where agents could lift their restrictions`,
      {
        code: 'HOST_UNSUPPORTED',
        actions: [
          'Add "Include /etc/ssh/sshd_config.d/*.conf" at the top of the host\'s sshd_config and reload sshd, or set graft_isolation: shared-account for it.',
        ],
      },
    );
  }

  /** Writes a file (0600) into an agent's home or shared directory, as the agent's owner. */
  async putAgentFile(agent: AgentRecord, path: string, content: string): Promise<void> {
    if (agent.isolation === 'shared-account') await this.run(['shared-put', agent.home, path, '0600'], content, false);
    else await this.run(['put', agent.account, path, '0600'], content);
  }

  /**
   * How the host would enforce resource limits (`cgroup-v1`, `cgroup-v2` (not used yet) or
   * `none`), its size, and whether /proc hides other accounts' processes; with `hidepid`, the
   * host hides them first (provisioners/host/privacy.sh).
   */
  hostFacts(privacy?: 'hidepid'): Promise<HostFacts> {
    return oncePerPool(facts, this.pool, this.key, async () => parseHostFacts(await this.run(['host-facts', ...(privacy ? [privacy] : [])])));
  }

  /** The controller's address as this host sees it: what `from=` must name. */
  controllerAddress(): Promise<string> {
    return oncePerPool(addresses, this.pool, this.key, () => this.askControllerAddress());
  }

  private async askControllerAddress(): Promise<string> {
    const result = await this.shell.exec('echo "$SSH_CONNECTION"', { timeoutMs });
    const address = result.stdout.trim().split(/\s+/)[0] ?? '';
    if (!isIpAddress(address)) {
      throw new GraftError(`${this.host.name}: cannot tell the controller's address from SSH_CONNECTION ("${result.stdout.trim()}")`, {
        code: 'HOST_ADMIN_FAILED',
      });
    }
    return address;
  }
}
