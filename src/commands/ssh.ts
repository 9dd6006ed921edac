import { Args } from '@oclif/core';
import { spawnSync } from 'node:child_process';
import { GraftCommand } from '../cli/base-command.js';
import { sessionFlag } from '../cli/flags.js';
import { requireReadyAgent } from '../core/agents/find-agent.js';
import { interactiveSshArgv } from '../core/agents/interactive-ssh.js';
import { requireSession } from '../core/session/resolve-session.js';

export default class Ssh extends GraftCommand<typeof Ssh> {
  static override summary = 'Open an interactive shell as an agent.';
  static override description =
    "Starts OpenSSH's ssh with the agent's own key and the host's pinned key (nothing else is trusted), as the agent's account, with a terminal. The agent must have been created with --interactive. Words after -- run instead of a login shell.";
  static override examples = ['<%= config.bin %> ssh debug', '<%= config.bin %> ssh debug -- htop'];

  static override strict = false;
  static override args = {
    name: Args.string({ description: 'Agent name.', required: true }),
  };

  static override flags = {
    session: sessionFlag,
  };

  async run(): Promise<{ agent: string; exitCode: number | null }> {
    const runtime = this.runtime();
    const session = requireSession(runtime.store, this.flags.session);
    this.joinSession(session, 'owner', 'ssh');
    this.logToSession(session.id);
    const { agent, host } = requireReadyAgent(runtime.store, session, this.args.name);
    this.events.emit({ code: 'exec.started', level: 'debug', message: `interactive shell as agent ${agent.name}`, session: session.id, host: host.name });
    const result = spawnSync('ssh', interactiveSshArgv(agent, host, this.rest.slice(1), Boolean(process.stdin.isTTY)), { stdio: 'inherit' });
    if (result.error) throw result.error;
    this.setExitCode(result.status ?? 1);
    return { agent: agent.name, exitCode: result.status };
  }
}
