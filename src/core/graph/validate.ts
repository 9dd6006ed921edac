/**
 * The rules of a task graph that span entries: tasks name agents and tasks that exist, needs
 * form no cycle, each task gives its harness what it runs on. Pure: the loader runs them on
 * the file (also on a partly malformed one, so every problem is reported at once), the
 * controller on the hosts it got. Also the orders the scheduler works in.
 */
import { didYouMean } from '../did-you-mean.js';
import { BugError, type ConfigProblem, UsageError } from '../errors.js';
import { selectHosts, type SelectableHost } from '../inventory/selector.js';
import { elementaryCycles, showCycle, showList, stronglyConnected } from './cycles.js';
import type { GraphSpec, HarnessName } from '../model/graph.js';

/** A broken rule: where in the graph file (keys and indices) and what is wrong. */
export interface GraphProblem {
  path: (string | number)[];
  message: string;
}

/**
 * What the rules read. Every GraphSpec is one; for a malformed file the loader passes what it
 * could make out (a value of the wrong type is undefined; `prompt`, `command` and `instructions` only need to be present).
 */
export interface GraphOutline {
  agents: Record<string, { harness?: HarnessName; command?: unknown; instructions?: unknown }>;
  tasks: Record<string, { agent?: string; prompt?: unknown; command?: unknown; needs: readonly (string | undefined)[] }>;
}

/** The dependency structure alone: what the orderings need. */
export interface TaskGraph {
  tasks: Record<string, { needs: readonly string[] }>;
}

/** Every broken rule of the graph, in file order of the tasks. */
export function graphProblems(graph: GraphOutline): GraphProblem[] {
  const problems: GraphProblem[] = [];
  const taskNames = Object.keys(graph.tasks);
  const agentNames = Object.keys(graph.agents);
  for (const [name, task] of Object.entries(graph.tasks)) {
    // Own keys only: a task may not name `constructor` or `toString` into existence.
    const agent = task.agent !== undefined && Object.hasOwn(graph.agents, task.agent) ? graph.agents[task.agent] : undefined;
    if (task.agent !== undefined && !agent) {
      const known = agentNames.length > 0 ? `; the agents are ${agentNames.join(', ')}` : '; no agents are defined under agents:';
      problems.push({ path: ['tasks', name, 'agent'], message: `unknown agent ${JSON.stringify(task.agent)}${didYouMean(task.agent, agentNames)}${known}` });
    }
    if (agent?.harness === 'shell' && task.command === undefined && agent.command === undefined) {
      problems.push({
        path: ['tasks', name],
        message: `task ${name} runs shell agent ${task.agent}, which has no command: set command on the task or on agents.${task.agent}`,
      });
    } else if (agent?.harness !== undefined && agent.harness !== 'shell') {
      if (task.prompt === undefined && agent.instructions === undefined) {
        problems.push({
          path: ['tasks', name],
          message: `task ${name} needs a prompt: its agent ${task.agent} (${agent.harness}) has no instructions to go on`,
        });
      }
      if (task.command !== undefined)
        problems.push({
          path: ['tasks', name, 'command'],
          message: `"command" is for shell agents; agent ${task.agent} uses ${agent.harness}, which is given the prompt`,
        });
    }
    const seen = new Set<string>();
    task.needs.forEach((need, i) => {
      if (need === undefined) return;
      const at = ['tasks', name, 'needs', i];
      if (need === name) problems.push({ path: at, message: `task ${name} needs itself` });
      else if (seen.has(need)) problems.push({ path: at, message: `${JSON.stringify(need)} is listed twice` });
      else if (!Object.hasOwn(graph.tasks, need)) problems.push({ path: at, message: `unknown task ${JSON.stringify(need)}${didYouMean(need, taskNames)}` });
      seen.add(need);
    });
  }
  return [...problems, ...cycleProblems(graph)];
}

/** Needs edges between existing, distinct tasks. */
function edgesOf(graph: GraphOutline): Map<string, string[]> {
  const edges = new Map<string, string[]>();
  for (const [name, task] of Object.entries(graph.tasks)) {
    edges.set(name, [...new Set(task.needs.filter((n): n is string => n !== undefined && n !== name && Object.hasOwn(graph.tasks, n)))]);
  }
  return edges;
}

/** Each cycle as `a → b → c → a` (a needs b ...), and every task that waits on one. */
function cycleProblems(graph: GraphOutline): GraphProblem[] {
  const edges = edgesOf(graph);
  const order = new Map([...edges.keys()].map((name, i) => [name, i]));
  const components = stronglyConnected(edges).filter((c) => c.length > 1);
  const problems: GraphProblem[] = [];
  const inCycle = new Set(components.flat());
  for (const component of components) {
    const { cycles, complete } = elementaryCycles(component, edges, order);
    for (const cycle of cycles) {
      problems.push({ path: ['tasks', cycle[0]!, 'needs'], message: `${showCycle(cycle)} (each task needs the next, so none of them can start)` });
    }
    if (!complete) {
      const members = [...component].sort((a, b) => order.get(a)! - order.get(b)!);
      problems.push({ path: ['tasks', members[0]!, 'needs'], message: `more cycles among ${showList(members)} than are listed here` });
    }
  }
  // Tasks outside the cycles that wait on them, directly or through other tasks: reverse reachability.
  const dependents = new Map([...edges.keys()].map((n) => [n, [] as string[]]));
  for (const [name, needs] of edges) for (const need of needs) dependents.get(need)!.push(name);
  const waiting = new Set<string>();
  const queue = [...inCycle];
  while (queue.length > 0) {
    for (const dependent of dependents.get(queue.pop()!)!) {
      if (inCycle.has(dependent) || waiting.has(dependent)) continue;
      waiting.add(dependent);
      queue.push(dependent);
    }
  }
  for (const name of edges.keys())
    if (waiting.has(name)) problems.push({ path: ['tasks', name, 'needs'], message: `task ${name} can never start: it waits on tasks in a cycle` });
  return problems;
}

/**
 * Task names so that every task comes after the tasks it needs; among tasks free to go, the one
 * earlier in the file first. The graph must be valid (no cycle, no unknown need).
 */
export function topologicalOrder(graph: TaskGraph): string[] {
  const names = Object.keys(graph.tasks);
  const position = new Map(names.map((n, i) => [n, i]));
  const waiting = new Map(names.map((n) => [n, new Set(graph.tasks[n]!.needs)]));
  const dependents = dependentsOf(graph);
  const ready = names.filter((n) => waiting.get(n)!.size === 0);
  const result: string[] = [];
  while (ready.length > 0) {
    const name = ready.shift()!;
    result.push(name);
    for (const dependent of dependents.get(name)!) {
      const needs = waiting.get(dependent)!;
      needs.delete(name);
      if (needs.size === 0) {
        const at = ready.findIndex((r) => position.get(r)! > position.get(dependent)!);
        ready.splice(at === -1 ? ready.length : at, 0, dependent);
      }
    }
  }
  if (result.length !== names.length)
    throw new BugError(`the task graph has a cycle or an unknown need among ${names.filter((n) => !result.includes(n)).join(', ')}; validate it first`);
  return result;
}

/** For each task, the tasks that need it, in file order. */
function dependentsOf(graph: TaskGraph): Map<string, string[]> {
  const dependents = new Map(Object.keys(graph.tasks).map((n) => [n, [] as string[]]));
  for (const [name, task] of Object.entries(graph.tasks)) for (const need of new Set(task.needs)) dependents.get(need)?.push(name);
  return dependents;
}

/**
 * For each task, the number of tasks on the longest chain from it to a task nothing needs,
 * itself included (a sink has 1). Starting ready tasks with the longest chain first shortens
 * the run. In topological order.
 */
export function criticalPathLengths(graph: TaskGraph): Map<string, number> {
  const order = topologicalOrder(graph);
  const dependents = dependentsOf(graph);
  const lengths = new Map<string, number>();
  for (const name of [...order].reverse()) lengths.set(name, 1 + dependents.get(name)!.reduce((longest, d) => Math.max(longest, lengths.get(d)!), 0));
  return new Map(order.map((n) => [n, lengths.get(n)!]));
}

/** The part of a graph that says where its tasks may run. */
export type GraphPlacement = Pick<GraphSpec, 'file' | 'tasks' | 'hosts'>;

/**
 * The hosts a task may run on: those its `on` selects (all by default), among those an
 * inventory's `limit` keeps. The one place this is worked out: `graph check`, `run`'s start-up
 * check and the scheduler all ask it. Throws UsageError when either selector picks no host.
 */
export function eligibleHosts(graph: Pick<GraphSpec, 'hosts'>, task: { on?: string }, hosts: readonly SelectableHost[]): string[] {
  const limit = graph.hosts.provisioner === 'static' ? graph.hosts.limit : undefined;
  const kept = limit === undefined ? undefined : new Set(selectHosts(limit, hosts));
  try {
    return selectHosts(task.on ?? 'all', kept ? hosts.filter((h) => kept.has(h.name)) : hosts);
  } catch (error) {
    if (error instanceof UsageError && limit !== undefined) throw new UsageError(`${error.message} (among the hosts of limit "${limit}")`, error.actions);
    throw error;
  }
}

/**
 * Problems of where the graph's tasks may run, against `hosts` (the inventory's before a run,
 * the session's at run time): a `limit` that picks no host, tasks whose `on` picks none of the
 * hosts the limit keeps, each naming the groups, labels and hosts there are.
 */
export function placementProblems(graph: GraphPlacement, hosts: readonly SelectableHost[]): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const limit = graph.hosts.provisioner === 'static' ? graph.hosts.limit : undefined;
  if (limit !== undefined) {
    try {
      selectHosts(limit, hosts);
    } catch (error) {
      if (!(error instanceof UsageError)) throw error;
      return [{ file: graph.file, path: 'hosts.limit', message: [error.message, ...error.actions].join('; ') }];
    }
  }
  for (const [name, task] of Object.entries(graph.tasks)) {
    if (task.on === undefined) continue;
    try {
      eligibleHosts(graph, task, hosts);
    } catch (error) {
      if (!(error instanceof UsageError)) throw error;
      problems.push({ file: graph.file, path: `tasks.${name}.on`, message: [`${error.message}`, ...error.actions].join('; ') });
    }
  }
  return problems;
}
