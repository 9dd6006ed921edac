/**
 * `graft extend --budget`: sets a budget of a run (the graph's, an agent template's or a task's)
 * while it goes on. The gateway reads budgets from the store on every request, so the new one
 * applies to the next request, from any process. A task already failed for its budget stays
 * failed (nothing re-runs it); a running one may go on spending up to the new figure.
 */
import { didYouMean } from '../did-you-mean.js';
import { UsageError } from '../errors.js';
import type { GraftRuntime } from '../runtime.js';
import { requireRun } from './require-run.js';
import { GatewayStore, type BudgetScope } from '../state/gateway-store.js';
import { formatUsd, microToUsd, parseBudget, picoToUsd } from '../gateway/money.js';

export interface BudgetChange {
  session: string;
  scope: BudgetScope;
  /** The task or agent; absent for the graph. */
  name?: string;
  budgetUsd: number;
  /** Spent so far in that scope. */
  spentUsd: number;
}

export function extendBudget(
  runtime: GraftRuntime,
  sessionId: string | undefined,
  request: { budget: string; task?: string; agent?: string; by: string },
): BudgetChange {
  const { session, run } = requireRun(runtime.store, sessionId);
  const micros = parseBudget(request.budget);
  if (micros === undefined)
    throw new UsageError(`--budget ${JSON.stringify(request.budget)} is not an amount of dollars`, [
      'Use e.g. --budget 5 or --budget "$2.50" (more than zero, at most 6 decimals).',
    ]);
  if (request.task && request.agent)
    throw new UsageError('give --task or --agent, not both: a budget belongs to one of them (or, with neither, to the whole graph)');
  const scope: BudgetScope = request.task ? 'task' : request.agent ? 'agent' : 'graph';
  const name = request.task ?? request.agent ?? '';
  const known = scope === 'task' ? Object.keys(run.graph.tasks) : scope === 'agent' ? Object.keys(run.graph.agents) : [];
  if (scope !== 'graph' && !known.includes(name)) {
    throw new UsageError(`the run of session ${session.id} has no ${scope} ${JSON.stringify(name)}${didYouMean(name, known)}`, [
      `Its ${scope}s: ${known.join(', ')}`,
    ]);
  }
  const store = new GatewayStore(runtime.store);
  store.setBudget(session.id, scope, name, micros, request.by);
  const spentUsd = picoToUsd(store.spent(session.id, scope, name));
  const what = scope === 'graph' ? 'the graph' : `${scope} ${name}`;
  runtime.events.emit({
    code: 'budget.changed',
    level: 'info',
    message: `budget of ${what} set to ${formatUsd(microToUsd(micros))} by ${request.by} (${formatUsd(spentUsd)} spent so far)`,
    session: session.id,
    data: { scope, name, budgetUsd: microToUsd(micros), spentUsd, by: request.by },
  });
  return { session: session.id, scope, ...(scope !== 'graph' ? { name } : {}), budgetUsd: microToUsd(micros), spentUsd };
}
