/**
 * How core code runs something on a host: one shell per host and account, the only thing that
 * knows how that account is reached (its endpoint, its jump hosts, its key) and how a command is
 * wrapped for it (an agent's home, secrets and shared-account marker). Everything that reaches a
 * host — the host tool, git over SSH, a task's process, its log, a probe — goes through one.
 */
import type { AgentRecord } from '../model/agent.js';
import type { HostRecord } from '../model/host.js';
import { shellQuote } from '../shell-quote.js';
import type { SshConnection, SshPool } from '../ssh/index.js';
import type { ExecOptions, ExecResult, SshEndpoint } from '../ssh/types.js';
import { agentCommand, agentEndpoint } from './agent-access.js';
import { adminEndpoint } from './endpoints.js';

export class HostShell {
  private constructor(
    readonly pool: SshPool,
    readonly host: HostRecord,
    readonly endpoint: SshEndpoint,
    private readonly wrap: (command: string, cwd?: string) => string,
  ) {}

  /** The host's admin login (root, a sudoer, or the shared login of its agents). */
  static admin(pool: SshPool, host: HostRecord, env: NodeJS.ProcessEnv = process.env): HostShell {
    return new HostShell(pool, host, adminEndpoint(host, env), (command, cwd) => (cwd === undefined ? command : `cd ${shellQuote(cwd)} && ${command}`));
  }

  /** An agent's own account, with its own key: commands run in its home with its granted secrets. */
  static agent(pool: SshPool, sessionId: string, agent: AgentRecord, host: HostRecord): HostShell {
    return new HostShell(pool, host, agentEndpoint(agent, host), (command, cwd) => agentCommand(sessionId, agent, command, cwd));
  }

  /** Who this shell is, for messages: `agent@host` or the host's name. */
  get label(): string {
    return this.endpoint.label;
  }

  /** Runs a command; `cwd` is relative to the account's home (an agent's) or the login's. */
  exec(command: string, options: ExecOptions & { cwd?: string } = {}): Promise<ExecResult> {
    const { cwd, ...rest } = options;
    return this.pool.exec(this.endpoint, this.wrap(command, cwd), rest);
  }

  /** Resolves once the account answers; throws when it cannot be reached in time. */
  async probe(timeoutMs: number, signal?: AbortSignal): Promise<void> {
    await this.pool.exec(this.endpoint, 'true', { timeoutMs, signal });
  }

  /** The pooled connection itself, for what is not a command: SFTP, port forwarding. */
  connection(signal?: AbortSignal): Promise<SshConnection> {
    return this.pool.connection(this.endpoint, { signal });
  }
}
