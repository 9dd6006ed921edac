import { GraftCommand } from '../cli/base-command.js';
import { renderCostReport } from '../cli/cost-rows.js';
import { sessionFlag } from '../cli/flags.js';
import { costReport, type CostReport } from '../core/gateway/cost-report.js';
import { requireSession } from '../core/session/resolve-session.js';

export default class Cost extends GraftCommand<typeof Cost> {
  static override summary = "What a session's agents spent on models: tokens and dollars per task, agent and model.";
  static override description = `Counted by the model gateway from each response's own usage (input, output, cache-read and cache-write tokens kept apart) and priced with graft's price table (GRAFT_PRICES adds or replaces prices). A model without a price shows its tokens and cost "unknown". Agents with gateway: false are not metered. Reads the state store only: works while the run goes on and after it ended.`;
  static override examples = [
    '<%= config.bin %> cost',
    {
      description:
        'Machine-readable: result.tasks[] (task, agent, model, requests, inputTokens, outputTokens, cacheReadTokens, cacheWriteTokens, costUsd) and result.total',
      command: '<%= config.bin %> cost --session k3f9x2qa --json',
    },
  ];

  static override flags = { session: sessionFlag };

  async run(): Promise<CostReport> {
    const store = this.runtime().store;
    const session = requireSession(store, this.flags.session);
    this.joinSession(session, 'viewer', 'cost');
    const report = costReport(store, session.id);
    this.log(report.tasks.length === 0 ? `session ${session.id}: no model requests went through the gateway` : renderCostReport(report));
    return report;
  }
}
