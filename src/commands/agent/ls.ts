import { Flags } from '@oclif/core';
import { agentView, renderAgents, type AgentView } from '../../cli/agent-rows.js';
import { GraftCommand } from '../../cli/base-command.js';
import { sessionFlag } from '../../cli/flags.js';
import { requireSession } from '../../core/session/resolve-session.js';

export default class AgentLs extends GraftCommand<typeof AgentLs> {
  static override summary = "List the session's agents.";
  static override description =
    'Shows each agent: host, account, isolation mode, state, when its key expires, its SPIFFE id and the names of its secrets (never values).';
  static override examples = ['<%= config.bin %> agent ls', '<%= config.bin %> agent ls --all --json'];

  static override flags = {
    session: sessionFlag,
    all: Flags.boolean({ char: 'a', description: 'Include removed agents.', env: 'GRAFT_ALL' }),
  };

  async run(): Promise<{ session: string; agents: AgentView[] }> {
    const { store } = this.runtime();
    const session = requireSession(store, this.flags.session);
    this.joinSession(session, 'viewer', 'agent ls');
    const agents = store
      .listAgents(session.id)
      .filter((a) => this.flags.all || a.state !== 'removed')
      .map(agentView);
    this.log(agents.length > 0 ? renderAgents(agents) : `session ${session.id} has no agents (create one with: graft agent create NAME)`);
    for (const agent of agents)
      if (agent.isolation === 'shared-account' && agent.state === 'ready')
        this.events.emit({
          code: 'warning',
          level: 'warn',
          message: `${agent.name} shares the login account ${agent.account} on ${agent.host} (isolation: shared-account)`,
        });
    return { session: session.id, agents };
  }
}
