import { Args } from '@oclif/core';
import { GraftCommand } from '../../cli/base-command.js';
import { sessionFlag } from '../../cli/flags.js';
import { requireReadyAgent } from '../../core/agents/find-agent.js';
import { requireSession } from '../../core/session/resolve-session.js';
import { pushBase } from '../../core/workspace/agent-worktree.js';
import { requireWorkspace } from '../../core/workspace/require-workspace.js';

export default class SyncPush extends GraftCommand<typeof SyncPush> {
  static override summary = "Send new commits of an agent's base to it.";
  static override description =
    "Resolves the agent's --from again (a branch that moved now names newer commits) and sends only the objects its host lacks. The agent's branch is fast-forwarded when it has no commits or changes of its own; otherwise the new base waits in its repository as refs/graft/base (git merge graft/base).";
  static override examples = ['<%= config.bin %> sync push impl'];

  static override args = { name: Args.string({ description: 'Agent name.', required: true }) };
  static override flags = { session: sessionFlag };

  async run(): Promise<{ agent: string; base: string; fastForwarded: boolean; objects: number; bytes: number }> {
    const runtime = this.runtime();
    const session = requireSession(runtime.store, this.flags.session);
    this.joinSession(session, 'owner', 'sync push');
    this.logToSession(session.id);
    const { agent, host } = requireReadyAgent(runtime.store, session, this.args.name);
    const workspace = requireWorkspace(agent);
    const pushed = await pushBase(runtime, session.id, agent, host);
    if (pushed.fastForwarded) runtime.store.putAgent(session.id, { ...agent, workspace: { ...workspace, base: pushed.base } });
    const unchanged = pushed.base === workspace.base;
    const outcome = unchanged
      ? 'its base had not moved'
      : pushed.fastForwarded
        ? 'branch fast-forwarded'
        : 'its branch has its own work: new base at refs/graft/base';
    this.events.emit({
      code: 'sync.pushed',
      level: 'info',
      message: `pushed ${workspace.from.join('+')} (${pushed.base.slice(0, 12)}) to ${agent.name}: ${pushed.transfer.objects} object(s), ${pushed.transfer.bytes} bytes, ${outcome}`,
      session: session.id,
      host: host.name,
    });
    this.log(
      unchanged
        ? `${agent.name}: already at ${pushed.base}`
        : pushed.fastForwarded
          ? `${agent.name}: ${workspace.branch} fast-forwarded to ${pushed.base}`
          : `${agent.name}: new base ${pushed.base} is at refs/graft/base in its worktree (it has work of its own)`,
    );
    return { agent: agent.name, base: pushed.base, fastForwarded: pushed.fastForwarded, ...pushed.transfer };
  }
}
