import { GraftCommand } from '../cli/base-command.js';
import { sessionFlag } from '../cli/flags.js';
import { renderTaskTable } from '../cli/run-progress.js';
import { controllerHere, controllerLive } from '../core/controller/controller-lease.js';
import { requireRun } from '../core/controller/require-run.js';
import type { TaskRecord } from '../core/model/task.js';
import type { RunStatus } from '../core/state/run-store.js';
import { costByTask, costReport, type CostTotals } from '../core/gateway/cost-report.js';
import { costCell } from '../cli/cost-rows.js';

export interface StatusResult {
  session: string;
  graph: string;
  run: RunStatus;
  controller: { pid: number; alive: boolean } | null;
  counts: Record<string, number>;
  /** Each task's record, with what it spent through the model gateway (`cost`, absent when it made no request). */
  tasks: (TaskRecord & { cost?: CostTotals })[];
  /** The whole run's model cost (graft cost has it per agent and model). */
  cost: CostTotals;
}

export default class Status extends GraftCommand<typeof Status> {
  static override summary = "Show a run's graph: each task's state, host, attempt, duration and branch.";
  static override description = 'Reads the state store only, so it works while the controller runs and while it is down.';
  static override examples = ['<%= config.bin %> status', '<%= config.bin %> status --session k3f9x2qa --json'];
  static override flags = { session: sessionFlag };

  async run(): Promise<StatusResult> {
    const store = this.runtime().store;
    const { session, run, runs } = requireRun(store, this.flags.session);
    this.joinSession(session, 'viewer', 'status');
    const tasks = runs.listTasks(session.id);
    const costs = costByTask(store, session.id);
    const counts: Record<string, number> = {};
    for (const t of tasks) counts[t.state] = (counts[t.state] ?? 0) + 1;
    const controller = run.controllerPid
      ? { pid: run.controllerPid, alive: controllerLive(run), here: controllerHere(run), ...(run.leaseExpiresAt ? { leaseExpiresAt: run.leaseExpiresAt } : {}) }
      : null;
    const running = run.status === 'running' || run.status === 'provisioning';
    const where = controller?.here === false ? ` on another machine, lease until ${controller.leaseExpiresAt}` : '';
    const who = controller?.alive ? `controller pid ${controller.pid}${where}` : running ? 'no controller: graft resume to continue' : 'finished';
    this.log(`session ${session.id} — run ${run.status} (${who}) — ${run.graph.file}\n`);
    this.log(renderTaskTable(tasks, costs));
    const total = costReport(store, session.id).total;
    if (total.requests > 0) this.log(`\nmodel cost: ${costCell(total)} over ${total.requests} request(s) (graft cost for the detail)`);
    const overBudget = tasks.filter((t) => t.reason === 'budget-exceeded');
    if (overBudget.length > 0) this.log(`\nstopped by a budget: ${overBudget.map((t) => `${t.name} (${t.error ?? 'budget-exceeded'})`).join('; ')}`);
    const limited = tasks.filter((t) => t.state === 'failed' && (t.reason === 'oom' || t.reason === 'pids-limit'));
    if (limited.length > 0) this.log(`\nstopped by a resource limit: ${limited.map((t) => `${t.name} (${t.error ?? t.reason})`).join('; ')}`);
    const waiting = tasks.filter((t) => t.state === 'awaiting-approval' || t.state === 'awaiting-result-approval').map((t) => t.name);
    if (waiting.length > 0) this.log(`\nwaiting for approval: ${waiting.join(', ')} (graft approve TASK, or --reject --reason "...")`);
    return {
      session: session.id,
      graph: run.graph.file,
      run: run.status,
      controller,
      counts,
      tasks: tasks.map((t) => (costs.has(t.name) ? { ...t, cost: costs.get(t.name)! } : t)),
      cost: total,
    };
  }
}
