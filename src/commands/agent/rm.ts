import { Args } from '@oclif/core';
import { GraftCommand } from '../../cli/base-command.js';
import { sessionFlag } from '../../cli/flags.js';
import { removeAgent } from '../../core/agents/remove-agent.js';
import { requireSession } from '../../core/session/resolve-session.js';

export default class AgentRm extends GraftCommand<typeof AgentRm> {
  static override summary = 'Revoke and remove an agent.';
  static override description =
    "Kills the agent's processes, removes its key line, deletes its account and home on the host (or its directory under a shared login) and its private key on the controller. Removing an agent that is already gone succeeds.";
  static override examples = ['<%= config.bin %> agent rm reviewer', '<%= config.bin %> agent rm reviewer --session k3f9x2qa --json'];

  static override args = {
    name: Args.string({ description: 'Agent name.', required: true }),
  };

  static override flags = {
    session: sessionFlag,
  };

  async run(): Promise<{ session: string; agent: string; removed: boolean }> {
    const runtime = this.runtime();
    const session = requireSession(runtime.store, this.flags.session);
    this.joinSession(session, 'owner', 'agent rm');
    this.logToSession(session.id);
    const agent = runtime.store.getAgent(session.id, this.args.name);
    const removed = agent ? await removeAgent(runtime, session, agent) : false;
    this.log(removed ? `agent ${this.args.name} removed` : `agent ${this.args.name} is already gone`);
    return { session: session.id, agent: this.args.name, removed };
  }
}
