/**
 * Budgets: a graph may set `budget:` on a task, on an agent template and on the whole graph;
 * `graft extend --budget` replaces any of them while the run goes on. A request is refused once
 * any budget that applies to it is spent (docs/gateway.md, "Budgets").
 */
import type { GraphSpec } from '../model/graph.js';
import type { BudgetScope, GatewayStore } from '../state/gateway-store.js';
import { picoPerMicro } from './money.js';

/** One budget that applies to a request. */
export interface BudgetLimit {
  scope: BudgetScope;
  /** The task or agent template; '' for the graph. */
  name: string;
  microUsd: number;
}

/** A budget that is spent: what it was and what has gone. */
export interface SpentBudget extends BudgetLimit {
  spentPico: bigint;
}

/** The budgets that apply to a task's requests (the task's, its agent's, the graph's), overrides first. */
export function budgetsFor(
  graph: Pick<GraphSpec, 'budgetMicroUsd' | 'agents' | 'tasks'>,
  task: string,
  override: (scope: BudgetScope, name: string) => number | undefined,
): BudgetLimit[] {
  const spec = graph.tasks[task];
  const agent = spec ? graph.agents[spec.agent] : undefined;
  const candidates: [BudgetScope, string, number | undefined][] = [
    ['task', task, spec?.budgetMicroUsd],
    ['agent', spec?.agent ?? '', agent?.budgetMicroUsd],
    ['graph', '', graph.budgetMicroUsd],
  ];
  const limits: BudgetLimit[] = [];
  for (const [scope, name, own] of candidates) {
    if (scope === 'agent' && !name) continue;
    const microUsd = override(scope, name) ?? own;
    if (microUsd !== undefined) limits.push({ scope, name, microUsd });
  }
  return limits;
}

/** The first budget whose spending has reached it, or undefined when the request may go. */
export function spentBudget(limits: BudgetLimit[], spent: (scope: BudgetScope, name: string) => bigint): SpentBudget | undefined {
  for (const limit of limits) {
    const spentPico = spent(limit.scope, limit.name);
    if (spentPico >= BigInt(limit.microUsd) * picoPerMicro) return { ...limit, spentPico };
  }
  return undefined;
}

/** Budgets of a task as the store and graph say now: what the gateway checks before each request. */
export function checkBudgets(
  store: GatewayStore,
  sessionId: string,
  graph: Pick<GraphSpec, 'budgetMicroUsd' | 'agents' | 'tasks'>,
  task: string,
): SpentBudget | undefined {
  const limits = budgetsFor(graph, task, (scope, name) => store.budget(sessionId, scope, name));
  return spentBudget(limits, (scope, name) => store.spent(sessionId, scope, name));
}

/** `task implement`, `agent coder`, `graph`. */
export function describeScope(limit: BudgetLimit): string {
  return limit.scope === 'graph' ? 'the graph' : `${limit.scope} ${limit.name}`;
}
