import { Args, Flags } from '@oclif/core';
import { GraftCommand } from '../cli/base-command.js';
import { sessionFlag } from '../cli/flags.js';
import { requireSession } from '../core/session/resolve-session.js';
import { diffAgainstBase } from '../core/workspace/agent-worktree.js';
import { requireWorkspace } from '../core/workspace/require-workspace.js';
import { NotFoundError } from '../core/errors.js';

export default class Diff extends GraftCommand<typeof Diff> {
  static override summary = 'What an agent changed against its base.';
  static override description =
    'Compares the local branch graft/<session>/<agent> (as of the last sync pull) with the commit the agent started from. Run graft sync pull first to see its latest work.';
  static override examples = ['<%= config.bin %> diff impl', '<%= config.bin %> diff impl --stat'];

  static override args = { name: Args.string({ description: 'Agent name.', required: true }) };
  static override flags = {
    session: sessionFlag,
    stat: Flags.boolean({ description: 'Only a summary of changed files.', env: 'GRAFT_DIFF_STAT' }),
  };

  async run(): Promise<{ agent: string; base: string; branch: string; diff: string }> {
    const { store } = this.runtime();
    const session = requireSession(store, this.flags.session);
    this.joinSession(session, 'viewer', 'diff');
    const agent = store.getAgent(session.id, this.args.name);
    if (!agent) throw new NotFoundError(`no agent ${this.args.name} in session ${session.id}`);
    const workspace = requireWorkspace(agent);
    const diff = await diffAgainstBase(workspace, this.flags.stat);
    this.log(diff || `${workspace.branch} has no changes against ${workspace.base.slice(0, 12)}`);
    return { agent: agent.name, base: workspace.base, branch: workspace.branch, diff };
  }
}
