import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { GraftError, ExitCode } from '../errors.js';
import type { HostRecord } from '../provisioners/provisioner.js';
import type { AgentRecord } from './agent-record.js';
import { isIpAddress } from './authorized-key.js';
import { assetPath } from '../package-assets.js';
import { adminEndpoint } from '../session/endpoints.js';
import { shellQuote } from '../shell-quote.js';
import { oncePerPool, type SshPool } from '../ssh/index.js';
import type { ExecResult } from '../ssh/types.js';

const timeoutMs = 60_000;

let script: { content: Buffer; remotePath: string } | undefined;
/** The tool's bytes and its content-addressed path on hosts: a new graft never runs an old copy, and a copy is never rewritten in place. */
function hostScript(): { content: Buffer; remotePath: string } {
  if (!script) {
    const content = readFileSync(assetPath('provisioners', 'host', 'agent-account.sh'));
    script = { content, remotePath: `.graft/bin/agent-account-${createHash('sha256').update(content).digest('hex').slice(0, 12)}.sh` };
  }
  return script;
}

/** Uploads in flight or done, per pool and host, so concurrent agent creations upload once. */
const uploads = new WeakMap<SshPool, Map<string, Promise<void>>>();
/** The controller's address as each host sees it, asked once per pool and host. */
const addresses = new WeakMap<SshPool, Map<string, Promise<string>>>();

/** A file for an agent's home: its path there, and its content. */
export interface AgentFile {
  path: string;
  content: string;
}

export class HostAdmin {
  constructor(
    private readonly pool: SshPool,
    readonly host: HostRecord,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

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
    const endpoint = adminEndpoint(this.host, this.env);
    await this.ensureTool();
    const command = this.commandLine(args, privileged);
    const sudo = privileged && this.host.user !== 'root';
    const result: ExecResult = await this.pool.exec(endpoint, command, { timeoutMs, stdin: stdin ?? '' });
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
   * Makes a per-account agent in one call: its account, its key line in the root-owned key file,
   * and its files (0600, written as the account). Returns its home.
   */
  provision(account: string, keyLine: string, files: AgentFile[]): Promise<string> {
    // One line per file, "PATH BASE64": a path is graft's own, never blank or spaced.
    const odd = files.find((f) => !/^[A-Za-z0-9._/-]+$/.test(f.path));
    if (odd) throw new GraftError(`cannot write agent file ${JSON.stringify(odd.path)}: graft's agent files are named with letters, digits, '.', '_', '-' and '/'`, { code: 'HOST_ADMIN_FAILED', exitCode: ExitCode.usage });
    const lines = files.map((f) => `${f.path} ${Buffer.from(f.content, 'utf8').toString('base64')}\n`);
    return this.run(['provision', account], `${keyLine}\n${lines.join('')}`);
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
    const connection = await this.pool.connection(adminEndpoint(this.host, this.env));
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
    throw new GraftError(`${this.host.name}: its sshd cannot look up agents' keys in /etc/graft/authorized_keys (${reason}), so they would have to live in agents' own homes, where agents could lift their restrictions`, {
      code: 'HOST_UNSUPPORTED',
      exitCode: ExitCode.provider,
      actions: ['Add "Include /etc/ssh/sshd_config.d/*.conf" at the top of the host\'s sshd_config and reload sshd, or set graft_isolation: shared-account for it.'],
    });
  }

  /** Writes a file (0600) into an agent's home or shared directory, as the agent's owner. */
  async putAgentFile(agent: AgentRecord, path: string, content: string): Promise<void> {
    if (agent.isolation === 'shared-account') await this.run(['shared-put', agent.home, path, '0600'], content, false);
    else await this.run(['put', agent.account, path, '0600'], content);
  }

  /** The controller's address as this host sees it: what `from=` must name. */
  controllerAddress(): Promise<string> {
    return oncePerPool(addresses, this.pool, this.key, () => this.askControllerAddress());
  }

  private async askControllerAddress(): Promise<string> {
    const result = await this.pool.exec(adminEndpoint(this.host, this.env), 'echo "$SSH_CONNECTION"', { timeoutMs });
    const address = result.stdout.trim().split(/\s+/)[0] ?? '';
    if (!isIpAddress(address)) {
      throw new GraftError(`${this.host.name}: cannot tell the controller's address from SSH_CONNECTION ("${result.stdout.trim()}")`, { code: 'HOST_ADMIN_FAILED', exitCode: ExitCode.remoteFailure });
    }
    return address;
  }
}
