import { Args } from '@oclif/core';
import { GraftCommand } from '../../cli/base-command.js';
import { describeHosts, graphTaskViews, renderGraphTasks, type GraphTaskView } from '../../cli/graph-rows.js';
import { loadGraphFile } from '../../core/graph/graph-file.js';
import { inventoryPlacementProblems } from '../../core/graph/graph-hosts.js';
import { ConfigError } from '../../core/errors.js';
import type { AgentSpec, HostsSpec } from '../../core/model/graph.js';

export interface GraphCheckResult {
  file: string;
  base: string;
  hosts: HostsSpec;
  /** Agent templates, without the instructions' text (`instructionsFile` says where it is). */
  agents: Omit<AgentSpec, 'instructions'>[];
  /** In the order they can run. */
  tasks: GraphTaskView[];
}

export default class GraphCheck extends GraftCommand<typeof GraphCheck> {
  static override summary = 'Validate a graph file and show the tasks in the order they can run.';
  static override description = `Reads a task graph the way graft run would: the YAML, every key and value, agent and task names, needs (unknown tasks, cycles), each harness's prompt or command, the instructions files, and, for inventory hosts, each task's "on" selector against the inventory. Every problem is reported at once as "file:line: path: message", with exit code 3. Nothing is started.`;
  static override examples = [
    '<%= config.bin %> graph check examples/feature.yaml',
    {
      description: 'Machine-readable: the tasks with their needs, agent, harness and gates, or the problems',
      command: '<%= config.bin %> graph check examples/feature.yaml --json',
    },
  ];

  static override args = {
    file: Args.string({ description: 'Graph file (YAML).', required: true }),
  };

  async run(): Promise<GraphCheckResult> {
    const graph = await loadGraphFile(this.args.file);
    const placement = inventoryPlacementProblems({ ...graph, file: this.args.file }); // name the file as the user did, like the loader
    if (placement.length > 0) throw new ConfigError(placement, ['Fix the selectors (on:, limit:) or the inventory; see: graft inventory check INVENTORY']);
    const used = new Set(Object.values(graph.tasks).map((t) => t.agent));
    for (const name of Object.keys(graph.agents).filter((a) => !used.has(a))) {
      this.events.emit({ code: 'warning', level: 'warn', message: `${this.args.file}: agents.${name} is not used by any task` });
    }
    for (const [name, task] of Object.entries(graph.tasks)) {
      const agent = graph.agents[task.agent]!;
      if (agent.harness !== 'shell' && agent.gateway === false) {
        this.events.emit({
          code: 'warning',
          level: 'warn',
          message: `${this.args.file}: task ${name} is unmetered: its agent ${agent.name} has gateway: false, so its vendor key goes to the host and graft counts no tokens, enforces no budget or model list for it`,
        });
      }
    }
    const tasks = graphTaskViews(graph);
    this.log(renderGraphTasks(tasks));
    this.log(
      `\n${this.args.file}: ${tasks.length} task(s), ${Object.keys(graph.agents).length} agent(s) on ${describeHosts(graph.hosts)}, base ${graph.base}: OK`,
    );
    const agents = Object.values(graph.agents).map(({ instructions: _text, ...agent }) => agent);
    return { file: graph.file, base: graph.base, hosts: graph.hosts, agents, tasks };
  }
}
