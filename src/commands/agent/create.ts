import { Args, Flags } from '@oclif/core';
import { agentView, renderAgents, type AgentView } from '../../cli/agent-rows.js';
import { GraftCommand } from '../../cli/base-command.js';
import { sessionFlag } from '../../cli/flags.js';
import { createAgent } from '../../core/agents/create-agent.js';
import type { TransferStats } from '../../core/workspace/host-cache.js';
import { requireSession } from '../../core/session/resolve-session.js';

export default class AgentCreate extends GraftCommand<typeof AgentCreate> {
  static override summary = 'Create an isolated agent on a host.';
  static override description = `Gives the agent its own per-run ed25519 key (restrict, from= the controller, expiry-time= the session's end), its own Unix account and 0700 home where graft has root or sudo on the host, an X.509 workload identity (SPIFFE id) signed by the session CA, and only the secrets granted to it. Where graft has neither root nor sudo, the agent gets a private directory under the login account and is listed as isolation: shared-account, with a warning.`;
  static override examples = [
    {
      description: 'An agent on web01 with one secret from the environment',
      command: 'GITHUB_TOKEN=... <%= config.bin %> agent create reviewer --on web01 --secret GITHUB_TOKEN',
    },
    { description: 'An agent for interactive use (graft ssh) on any gpu host', command: '<%= config.bin %> agent create debug --on gpu --interactive' },
    { description: 'An agent working on a branch of main, in its own worktree', command: '<%= config.bin %> agent create impl --on web01 --from main' },
    {
      description: "Starting from two agents' results merged (fan-in)",
      command: '<%= config.bin %> agent create test --from graft/k3f9x2qa/api,graft/k3f9x2qa/ui',
    },
    {
      description: 'Secrets from a dotenv file, and a workload JWT for AWS STS',
      command: '<%= config.bin %> agent create deployer --secret AWS_REGION --secrets-file .env.agents --jwt-audience sts.amazonaws.com',
    },
  ];

  static override args = {
    name: Args.string({ description: 'Agent name: lowercase letters, digits and -, starting with a letter.', required: true }),
  };

  static override flags = {
    session: sessionFlag,
    on: Flags.string({ description: 'Host selector; the matching host with the most free slots is used.', default: 'all', env: 'GRAFT_ON' }),
    secret: Flags.string({
      description: 'Grant a secret by name (repeatable); its value comes from --secrets-file or the environment.',
      multiple: true,
      delimiter: ',',
      env: 'GRAFT_SECRETS',
    }),
    'secrets-file': Flags.string({ description: 'dotenv file (NAME=value) holding secret values.', env: 'GRAFT_SECRETS_FILE' }),
    interactive: Flags.boolean({ description: 'Allow a terminal on its key, for graft ssh.', env: 'GRAFT_INTERACTIVE' }),
    'jwt-audience': Flags.string({ description: 'Also write a workload JWT for this audience into its home.', env: 'GRAFT_JWT_AUDIENCE' }),
    from: Flags.string({
      description: 'Give it a git worktree on branch graft/<session>/<name> from this commit-ish (repeatable or comma-separated: merged in order).',
      multiple: true,
      delimiter: ',',
      env: 'GRAFT_FROM',
    }),
    repo: Flags.string({ description: 'The git repository for --from.', default: '.', env: 'GRAFT_REPO' }),
    'include-uncommitted': Flags.boolean({
      description: 'Send uncommitted changes of the checked-out commit as a snapshot commit instead of refusing.',
      env: 'GRAFT_INCLUDE_UNCOMMITTED',
    }),
  };

  async run(): Promise<{ session: string; agent: AgentView; transfer?: TransferStats }> {
    const runtime = this.runtime();
    const session = requireSession(runtime.store, this.flags.session);
    this.joinSession(session, 'owner', 'agent create');
    this.logToSession(session.id);
    const { agent, transfer } = await createAgent(runtime, session, {
      name: this.args.name,
      on: this.flags.on,
      secrets: this.flags.secret ?? [],
      secretsFile: this.flags['secrets-file'],
      interactive: this.flags.interactive,
      jwtAudience: this.flags['jwt-audience'],
      worktree: this.flags.from
        ? { repo: this.flags.repo, from: this.flags.from, uncommitted: this.flags['include-uncommitted'] ? 'include' : 'refuse' }
        : undefined,
    });
    const view = agentView(agent);
    this.log(renderAgents([view]));
    return { session: session.id, agent: view, ...(transfer ? { transfer } : {}) };
  }
}
