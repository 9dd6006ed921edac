/**
 * The dashboard's tokens and cost, from the model gateway's metering: the same rows `graft cost`
 * and `graft status` read (cost-report.ts), and the session's budget as the gateway checks it (a
 * `graft extend --budget` replaces the graph's).
 */
import type { SessionCost, TaskUsage, UsageSource } from './dashboard-view.js';
import { GatewayStore } from '../state/gateway-store.js';
import { RunStore } from '../state/run-store.js';
import type { StateStore } from '../state/store.js';
import { costByTask, costReport } from '../gateway/cost-report.js';

/** Reads through `store`; both methods are called on every change the dashboard's feed sees. */
export function gatewayUsage(store: StateStore): UsageSource {
  const gateway = new GatewayStore(store);
  const runs = new RunStore(store);
  return {
    taskUsage(sessionId: string): Map<string, TaskUsage> {
      return new Map(
        [...costByTask(store, sessionId)].map(([task, t]) => [
          task,
          { inputTokens: t.inputTokens, outputTokens: t.outputTokens, costUsd: t.costUsd, requests: t.requests },
        ]),
      );
    },
    sessionCost(sessionId: string): SessionCost | undefined {
      const microUsd = gateway.budget(sessionId, 'graph', '') ?? runs.getRun(sessionId)?.graph.budgetMicroUsd;
      const { total } = costReport(store, sessionId);
      // A run that never used the gateway and has no budget has no cost to show.
      if (total.requests === 0 && microUsd === undefined) return undefined;
      return { spentUsd: total.costUsd, ...(microUsd !== undefined ? { budgetUsd: microUsd / 1e6 } : {}) };
    },
  };
}
