/**
 * What a session's agents spent through the model gateway, grouped per task, agent and model
 * (`graft cost`), and per task (`graft status`, the run's live table). Read from the state store,
 * so it works while the run goes on and after it ended or crashed.
 */
import { GatewayStore, type UsageRow } from '../state/gateway-store.js';
import type { StateStore } from '../state/store.js';
import { picoToUsd } from './money.js';

/** Token counts and cost of a group of requests. */
export interface CostTotals {
  requests: number;
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  /** USD of the priced requests; null when none of them had a price. */
  costUsd: number | null;
  /** Requests whose model had no price (their cost is unknown and not in costUsd). */
  unpricedRequests: number;
}

export interface CostRow extends CostTotals {
  task: string;
  agent: string;
  model: string;
}

export interface CostReport {
  session: string;
  tasks: CostRow[];
  total: CostTotals;
}

interface Sum {
  requests: number;
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  pico: bigint;
  priced: number;
  unpriced: number;
}

const emptySum = (): Sum => ({ requests: 0, inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0, pico: 0n, priced: 0, unpriced: 0 });

function add(sum: Sum, row: UsageRow): void {
  sum.requests += 1;
  sum.inputTokens += row.inputTokens;
  sum.outputTokens += row.outputTokens;
  sum.cacheReadTokens += row.cacheReadTokens;
  sum.cacheWriteTokens += row.cacheWriteTokens;
  if (row.costPico === null) sum.unpriced += 1;
  else {
    sum.pico += row.costPico;
    sum.priced += 1;
  }
}

function totals(sum: Sum): CostTotals {
  const { pico, priced, unpriced, ...counts } = sum;
  return { ...counts, costUsd: priced > 0 || unpriced === 0 ? picoToUsd(pico) : null, unpricedRequests: unpriced };
}

/** Per (task, agent, model), in the order each first made a request, and the session's total. */
export function costReport(store: StateStore, sessionId: string): CostReport {
  const groups = new Map<string, { task: string; agent: string; model: string; sum: Sum }>();
  const total = emptySum();
  for (const row of new GatewayStore(store).usage(sessionId)) {
    const key = JSON.stringify([row.task, row.agent, row.model]);
    let group = groups.get(key);
    if (!group) groups.set(key, (group = { task: row.task, agent: row.agent, model: row.model, sum: emptySum() }));
    add(group.sum, row);
    add(total, row);
  }
  return {
    session: sessionId,
    tasks: [...groups.values()].map((g) => ({ task: g.task, agent: g.agent, model: g.model, ...totals(g.sum) })),
    total: totals(total),
  };
}

/** Each task's cost so far (USD; null when none of its requests was priced), for status tables. */
export function costByTask(store: StateStore, sessionId: string): Map<string, CostTotals> {
  const sums = new Map<string, Sum>();
  for (const row of new GatewayStore(store).usage(sessionId)) {
    let sum = sums.get(row.task);
    if (!sum) sums.set(row.task, (sum = emptySum()));
    add(sum, row);
  }
  return new Map([...sums].map(([task, sum]) => [task, totals(sum)]));
}
