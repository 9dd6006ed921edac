import { Flags } from '@oclif/core';
import { userInfo } from 'node:os';
import { GraftCommand } from '../cli/base-command.js';
import { sessionFlag } from '../cli/flags.js';
import { parseDuration } from '../core/duration.js';
import { UsageError } from '../core/errors.js';
import { extendBudget, type BudgetChange } from '../core/controller/extend-budget.js';
import { formatUsd } from '../core/gateway/money.js';
import { extendSession } from '../core/provisioners/cloud/extend-session.js';
import { defaultProvisioners } from '../core/provisioners/factory.js';
import { requireSession } from '../core/session/resolve-session.js';

export default class Extend extends GraftCommand<typeof Extend> {
  static override summary = "Move a cloud session's end, or raise a run's model budget while it goes on.";
  static override description = `--ttl: every cloud VM of a session powers itself off at the session's end (--ttl of up), even with no graft running; extend moves that end to --ttl from now on every VM (over SSH) and in their expiry tags, so gc does not take them for forgotten.

--budget: sets the budget the model gateway enforces, for the whole graph, or with --task or --agent for one of them, replacing what the graph says. It applies to the next request, whether or not the controller runs in this process. A task already failed with reason budget-exceeded stays failed.`;
  static override examples = [
    { description: 'Four more hours from now', command: '<%= config.bin %> extend --ttl 4h' },
    { description: 'Let the whole run spend up to $20', command: '<%= config.bin %> extend --budget 20' },
    { description: "Raise one task's budget to $5", command: '<%= config.bin %> extend --budget "$5" --task implement-api' },
  ];

  static override flags = {
    session: sessionFlag,
    ttl: Flags.string({ description: 'New remaining lifetime, from now.', env: 'GRAFT_TTL' }),
    budget: Flags.string({ description: 'New model budget in dollars, e.g. 5 or "$2.50" (the graph\'s, or with --task/--agent theirs).' }),
    task: Flags.string({ description: 'With --budget: the task whose budget it is.', dependsOn: ['budget'], exclusive: ['agent'] }),
    agent: Flags.string({ description: 'With --budget: the agent template whose budget it is (over all its tasks).', dependsOn: ['budget'] }),
    by: Flags.string({ description: 'Who raises the budget, for the audit log (default: your login name).', env: 'GRAFT_APPROVER' }),
  };

  async run(): Promise<{ session: string; expiresAt?: string; budget?: BudgetChange }> {
    const runtime = this.runtime();
    // GRAFT_TTL is a default for `up` too: only an explicit --budget without --ttl on the line means a budget alone.
    const ttl = this.flags.budget && !this.argv.some((a) => a === '--ttl' || a.startsWith('--ttl=')) ? undefined : this.flags.ttl;
    if (!ttl && !this.flags.budget)
      throw new UsageError('say what to extend: --ttl DURATION, --budget DOLLARS, or both', ['graft extend --ttl 4h', 'graft extend --budget 20']);
    const session = requireSession(runtime.store, this.flags.session);
    this.joinSession(session, 'owner', 'extend');
    this.logToSession(session.id);
    let budget: BudgetChange | undefined;
    if (this.flags.budget) {
      budget = extendBudget(runtime, session.id, {
        budget: this.flags.budget,
        task: this.flags.task,
        agent: this.flags.agent,
        by: this.flags.by ?? userInfo().username,
      });
      this.log(
        `${budget.scope === 'graph' ? 'the graph' : `${budget.scope} ${budget.name}`} of session ${budget.session} may now spend ${formatUsd(budget.budgetUsd)} (${formatUsd(budget.spentUsd)} spent so far)`,
      );
    }
    if (!ttl) return { session: session.id, ...(budget ? { budget } : {}) };
    const result = await extendSession(
      runtime,
      session,
      parseDuration('ttl', ttl),
      defaultProvisioners(runtime.pool, runtime.layout.knownHosts, { home: runtime.layout.home, env: runtime.env }),
    );
    this.log(`session ${result.session} now ends at ${result.expiresAt}`);
    return { ...result, ...(budget ? { budget } : {}) };
  }
}
