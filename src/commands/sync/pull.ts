import { Args } from '@oclif/core';
import { GraftCommand } from '../../cli/base-command.js';
import { sessionFlag } from '../../cli/flags.js';
import { requireReadyAgent } from '../../core/agents/find-agent.js';
import { requireSession } from '../../core/session/resolve-session.js';
import { pullAgentWork, type PullResult } from '../../core/workspace/pull-work.js';
import { requireWorkspace } from '../../core/workspace/require-workspace.js';

export default class SyncPull extends GraftCommand<typeof SyncPull> {
  static override summary = "Bring an agent's work back as a local branch.";
  static override description =
    "Fetches the agent's commits, plus a snapshot commit of its uncommitted changes (authored by the agent; nothing on the host changes), into the local branch graft/<session>/<agent>. Only new objects travel. graft moves that branch only if it set it last or the new work descends from it, and never while it is checked out.";
  static override examples = ['<%= config.bin %> sync pull impl', '<%= config.bin %> sync pull impl --json && git log graft/<session>/impl'];

  static override args = { name: Args.string({ description: 'Agent name.', required: true }) };
  static override flags = { session: sessionFlag };

  async run(): Promise<{ agent: string } & PullResult> {
    const runtime = this.runtime();
    const session = requireSession(runtime.store, this.flags.session);
    this.joinSession(session, 'owner', 'sync pull');
    this.logToSession(session.id);
    const { agent, host } = requireReadyAgent(runtime.store, session, this.args.name);
    requireWorkspace(agent);
    const { result, workspace } = await pullAgentWork(runtime, session.id, agent, host);
    runtime.store.putAgent(session.id, { ...agent, workspace });
    this.events.emit({
      code: 'sync.pulled',
      level: 'info',
      message: `pulled ${agent.name}: ${result.branch} at ${result.tip.slice(0, 12)}${result.snapshot ? ' (with a snapshot of uncommitted work)' : ''}, ${result.objects} object(s), ${result.bytes} bytes`,
      session: session.id,
      host: host.name,
      data: { ...result },
    });
    this.log(`${result.branch} -> ${result.tip}${result.snapshot ? " (snapshot of uncommitted work on top of the agent's HEAD)" : ''}`);
    return { agent: agent.name, ...result };
  }
}
