import { Args, Flags } from '@oclif/core';
import { GraftCommand } from '../../cli/base-command.js';
import { sessionFlag } from '../../cli/flags.js';
import { parseDuration } from '../../core/duration.js';
import { learnAgentSecrets } from '../../core/hosts/agent-secrets.js';
import { HostShell } from '../../core/hosts/host-shell.js';
import { requireReadyAgent } from '../../core/agents/find-agent.js';
import { UsageError } from '../../core/errors.js';
import { requireSession } from '../../core/session/resolve-session.js';

export default class AgentExec extends GraftCommand<typeof AgentExec> {
  static override summary = "Run a command as an agent, over the agent's own key.";
  static override description =
    "Runs the words after -- as the agent's own account (or in its directory, for shared-account agents), in its worktree when it has one (else its home; --cwd chooses), with its granted secrets in the environment, over a connection authenticated by the agent's own per-run key. Output streams as it comes; the exit code is the command's.";
  static override examples = [
    '<%= config.bin %> agent exec reviewer -- git status',
    "<%= config.bin %> agent exec reviewer --cwd . -- 'ls -la .graft/identity'",
  ];

  static override strict = false;
  static override args = {
    name: Args.string({ description: 'Agent name.', required: true }),
  };

  static override flags = {
    session: sessionFlag,
    timeout: Flags.string({ char: 't', description: 'Limit for connecting and running, e.g. 30s, 5m.', default: '1h', env: 'GRAFT_TIMEOUT' }),
    cwd: Flags.string({
      description: "Directory to run in, relative to the agent's home (or absolute). Default: its worktree, else its home.",
      env: 'GRAFT_AGENT_CWD',
    }),
  };

  async run(): Promise<{ agent: string; exitCode: number | null; signal: string | null; stdout: string; stderr: string }> {
    const command = this.rest.slice(1).join(' ');
    if (!command) throw new UsageError('no command given', ['Put the command after --, e.g.: graft agent exec NAME -- id']);
    const runtime = this.runtime();
    const session = requireSession(runtime.store, this.flags.session);
    this.joinSession(session, 'owner', 'agent exec');
    this.logToSession(session.id);
    const { agent, host } = requireReadyAgent(runtime.store, session, this.args.name);
    const shell = HostShell.agent(runtime.pool, session.id, agent, host);
    await learnAgentSecrets(shell, agent, runtime.redactor);
    const stream = !this.jsonEnabled();
    this.events.emit({ code: 'exec.started', level: 'debug', message: `agent ${agent.name} runs: ${command}`, session: session.id, host: host.name });
    const result = await shell.exec(command, {
      cwd: this.flags.cwd ?? agent.workspace?.workdir,
      timeoutMs: parseDuration('timeout', this.flags.timeout),
      onStdout: stream ? (chunk) => process.stdout.write(this.redact(chunk.toString('utf8'))) : undefined,
      onStderr: stream ? (chunk) => process.stderr.write(this.redact(chunk.toString('utf8'))) : undefined,
    });
    this.events.emit({
      code: 'exec.host.done',
      level: 'debug',
      message: `agent ${agent.name}: exit ${result.exitCode ?? result.signal}`,
      session: session.id,
      host: host.name,
    });
    this.setExitCode(result.exitCode === 0 ? 0 : 1);
    return { agent: agent.name, exitCode: result.exitCode, signal: result.signal, stdout: result.stdout, stderr: result.stderr };
  }
}
