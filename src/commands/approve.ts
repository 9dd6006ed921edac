import { Args, Flags } from '@oclif/core';
import { GraftCommand } from '../cli/base-command.js';
import { sessionFlag } from '../cli/flags.js';
import { requireRun } from '../core/controller/require-run.js';
import { recordApproval } from '../core/controller/human-decisions.js';
import type { ApprovalRecord, TaskRecord } from '../core/model/task.js';
import { humanName } from '../core/team/session-access.js';

export default class Approve extends GraftCommand<typeof Approve> {
  static override summary = 'Pass (or reject) a task waiting at a human approval gate.';
  static override description = `A task with approval: before waits before it starts; one with approval: after waits after it ends, before its result reaches downstream tasks. Approving lets it go on; rejecting fails it, which blocks every task that needs it. The decision is recorded with who made it and when, in the run and in the session's audit log. Works whether or not the controller is running.`;
  static override examples = [
    { description: 'Let the review task start', command: '<%= config.bin %> approve review' },
    { description: 'Reject it, saying why', command: '<%= config.bin %> approve review --reject --reason "the API change needs a design review first"' },
  ];

  static override args = { task: Args.string({ description: 'The task waiting for approval.', required: true }) };
  static override flags = {
    session: sessionFlag,
    reject: Flags.boolean({ description: 'Reject instead of approve.' }),
    reason: Flags.string({ description: 'Why (recorded; expected with --reject).' }),
    by: Flags.string({ description: 'Who decides (default: your login name; in team mode, your operator name, and no one else).', env: 'GRAFT_APPROVER' }),
  };

  async run(): Promise<{ session: string; task: TaskRecord; approval: ApprovalRecord }> {
    const runtime = this.runtime();
    const { session, run, runs } = requireRun(runtime.store, this.flags.session);
    this.joinSession(session, 'approver', 'approve');
    this.logToSession(session.id);
    const { task, approval } = recordApproval(runtime, run, runs, {
      task: this.args.task,
      reject: this.flags.reject,
      reason: this.flags.reason,
      by: humanName(runtime, this.flags.by),
      via: 'cli',
    });
    return { session: session.id, task, approval };
  }
}
