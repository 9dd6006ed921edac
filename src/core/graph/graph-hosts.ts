/**
 * What can be known about a graph's hosts before any is started: for inventory hosts, the
 * inventory itself, the `limit` and each task's `on` selector, checked against the hosts the
 * inventory lists. (Local and cloud hosts only exist once provisioned; `run` checks their
 * placement with the same graph/validate.ts `placementProblems` once they are up.)
 */
import { ConfigError, type ConfigProblem } from '../errors.js';
import type { GraphSpec } from '../model/graph.js';
import { placementProblems } from './validate.js';
import { loadStaticHostSpecs, type HostSpecEnvironment } from '../inventory/index.js';

/** Every problem of the graph's inventory and of its selectors against it; empty when not on inventory hosts. */
export function inventoryPlacementProblems(graph: GraphSpec, env?: HostSpecEnvironment): ConfigProblem[] {
  if (graph.hosts.provisioner !== 'static') return [];
  let specs;
  try {
    ({ specs } = loadStaticHostSpecs(graph.hosts.inventory, env ? { env } : {}));
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return placementProblems(graph, specs);
}
