import ms from 'ms';
import type { GraphSpec, HarnessName, HostsSpec } from '../core/model/graph.js';
import { criticalPathLengths, topologicalOrder } from '../core/graph/validate.js';
import { renderTable } from './table.js';

/** A task as `graft graph check` shows it and returns it with `--json`. */
export interface GraphTaskView {
  name: string;
  needs: string[];
  agent: string;
  harness: HarnessName;
  model?: string;
  on?: string;
  retries: number;
  timeoutMs?: number;
  approval?: 'before' | 'after';
  secrets: string[];
  /** Tasks on the longest chain from this one to the end of the graph, itself included. */
  criticalPath: number;
}

/** The graph's tasks in the order they can run (each after what it needs). */
export function graphTaskViews(graph: GraphSpec): GraphTaskView[] {
  const lengths = criticalPathLengths(graph);
  return topologicalOrder(graph).map((name) => {
    const task = graph.tasks[name]!;
    const agent = graph.agents[task.agent]!;
    return {
      name,
      needs: task.needs,
      agent: agent.name,
      harness: agent.harness,
      ...(agent.model !== undefined ? { model: agent.model } : {}),
      ...(task.on !== undefined ? { on: task.on } : {}),
      retries: task.retries,
      ...(task.timeoutMs !== undefined ? { timeoutMs: task.timeoutMs } : {}),
      ...(task.approval !== undefined ? { approval: task.approval } : {}),
      secrets: [...new Set([...agent.secrets, ...task.secrets])],
      criticalPath: lengths.get(name)!,
    };
  });
}

/** Approval, retries and timeout of a task, in a few words. */
function gates(task: GraphTaskView): string {
  const parts = [
    task.approval && `approval ${task.approval}`,
    task.retries > 0 && `retries ${task.retries}`,
    task.timeoutMs !== undefined && `timeout ${ms(task.timeoutMs)}`,
  ];
  return parts.filter(Boolean).join(', ') || '-';
}

export function renderGraphTasks(tasks: GraphTaskView[]): string {
  return renderTable(
    ['task', 'needs', 'agent', 'harness', 'model', 'on', 'gates'],
    tasks.map((t) => [t.name, t.needs.join(', ') || '-', t.agent, t.harness, t.model ?? '-', t.on ?? '-', gates(t)]),
  );
}

/** `local hosts (2 × 4 slots)`, `inventory hosts from fleet.yaml (limit web)`, `ec2 hosts (4 × 2 slots; region=eu-west-1)`. */
export function describeHosts(hosts: HostsSpec): string {
  switch (hosts.provisioner) {
    case 'local':
      return `local hosts (${hosts.count} × ${hosts.slots} slots)`;
    case 'static':
      return `inventory hosts from ${hosts.inventory}${hosts.limit ? ` (limit ${hosts.limit})` : ''}${hosts.slots ? `, ${hosts.slots} slots each` : ''}`;
    default: {
      const settings = Object.entries(hosts.settings).map(([k, v]) => `${k}=${v}`);
      return `${hosts.provisioner} hosts (${hosts.count} × ${hosts.slots} slots${settings.length > 0 ? `; ${settings.join(', ')}` : ''})`;
    }
  }
}
