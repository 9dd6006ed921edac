import { formatUsd } from '../core/gateway/money.js';
import type { CostReport, CostTotals } from '../core/gateway/cost-report.js';
import { renderTable } from './table.js';

/** A cost as tables show it: `$0.0123`, `unknown` (no price), `-` (no requests). */
export function costCell(totals: CostTotals | undefined): string {
  if (!totals || totals.requests === 0) return '-';
  if (totals.costUsd === null) return 'unknown';
  return totals.unpricedRequests > 0 ? `${formatUsd(totals.costUsd)} + unknown` : formatUsd(totals.costUsd);
}

const count = (n: number) => n.toLocaleString('en-US');

/** `graft cost`: one row per task, agent and model, then the total. */
export function renderCostReport(report: CostReport): string {
  const row = (t: CostTotals, first: string[]) => [
    ...first,
    count(t.requests),
    count(t.inputTokens),
    count(t.outputTokens),
    count(t.cacheReadTokens),
    count(t.cacheWriteTokens),
    costCell(t),
  ];
  return renderTable(
    ['task', 'agent', 'model', 'requests', 'input', 'output', 'cache read', 'cache write', 'cost'],
    [...report.tasks.map((t) => row(t, [t.task, t.agent, t.model])), row(report.total, ['total', '', ''])],
  );
}
