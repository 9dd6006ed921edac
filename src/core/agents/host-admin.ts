import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GraftError, ExitCode } from '../errors.js';
import type { HostRecord } from '../provisioners/provisioner.js';
import { adminEndpoint } from '../session/endpoints.js';
import { shellQuote } from '../shell-quote.js';
import type { SshPool } from '../ssh/index.js';
import type { ExecResult } from '../ssh/types.js';

const scriptSource = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'provisioners', 'host', 'agent-account.sh');
const remoteScript = '.graft/bin/agent-account.sh';
const timeoutMs = 60_000;

/**
 * Runs graft's host-side account tool (provisioners/host/agent-account.sh) on a host over the
 * session admin login, through `sudo -n` unless the login is root. Contents travel on stdin.
 */
export class HostAdmin {
  private uploaded = false;

  constructor(
    private readonly pool: SshPool,
    readonly host: HostRecord,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  /** Runs one subcommand; fails with the tool's own message when it refuses. */
  async run(args: string[], stdin?: string, privileged = true): Promise<string> {
    const endpoint = adminEndpoint(this.host, this.env);
    if (!this.uploaded) {
      const connection = await this.pool.connection(endpoint);
      await connection.exec('mkdir -p .graft/bin && chmod 0700 .graft', { timeoutMs });
      await connection.putFile(readFileSync(scriptSource), remoteScript, 0o700);
      this.uploaded = true;
    }
    const sudo = privileged && this.host.user !== 'root' ? 'sudo -n ' : '';
    const command = `${sudo}sh "$HOME/${remoteScript}" ${args.map(shellQuote).join(' ')}`;
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

  /** The controller's address as this host sees it: what `from=` must name. */
  async controllerAddress(): Promise<string> {
    const result = await this.pool.exec(adminEndpoint(this.host, this.env), 'echo "$SSH_CONNECTION"', { timeoutMs });
    const address = result.stdout.trim().split(/\s+/)[0] ?? '';
    if (!/^[0-9A-Fa-f:.]+$/.test(address)) {
      throw new GraftError(`${this.host.name}: cannot tell the controller's address from SSH_CONNECTION ("${result.stdout.trim()}")`, { code: 'HOST_ADMIN_FAILED', exitCode: ExitCode.remoteFailure });
    }
    return address;
  }
}
