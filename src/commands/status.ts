import { GraftCommand } from '../cli/base-command.js';
import { sessionFlag } from '../cli/flags.js';
import { renderTaskTable } from '../cli/run-progress.js';
import { controllerAlive } from '../core/session/graft-process.js';
import { requireRun } from '../core/controller/require-run.js';
import type { TaskRecord } from '../core/graph/task-record.js';
import type { RunStatus } from '../core/state/run-store.js';

export interface StatusResult {
  session: string;
  graph: string;
  run: RunStatus;
  controller: { pid: number; alive: boolean } | null;
  counts: Record<string, number>;
  tasks: TaskRecord[];
}

export default class Status extends GraftCommand<typeof Status> {
  static override summary = "Show a run's graph: each task's state, host, attempt, duration and branch.";
  static override description = 'Reads the state store only, so it works while the controller runs and while it is down.';
  static override examples = ['<%= config.bin %> status', '<%= config.bin %> status --session k3f9x2qa --json'];
  static override flags = { session: sessionFlag };

  async run(): Promise<StatusResult> {
    const { session, run, runs } = requireRun(this.runtime().store, this.flags.session);
    const tasks = runs.listTasks(session.id);
    const counts: Record<string, number> = {};
    for (const t of tasks) counts[t.state] = (counts[t.state] ?? 0) + 1;
    const controller = run.controllerPid ? { pid: run.controllerPid, alive: controllerAlive(run.controllerPid) } : null;
    const running = run.status === 'running' || run.status === 'provisioning';
    const who = controller?.alive ? `controller pid ${controller.pid}` : running ? 'no controller: graft resume to continue' : 'finished';
    this.log(`session ${session.id} — run ${run.status} (${who}) — ${run.graph.file}\n`);
    this.log(renderTaskTable(tasks));
    const waiting = tasks.filter((t) => t.state === 'awaiting-approval' || t.state === 'awaiting-result-approval').map((t) => t.name);
    if (waiting.length > 0) this.log(`\nwaiting for approval: ${waiting.join(', ')} (graft approve TASK, or --reject --reason "...")`);
    return { session: session.id, graph: run.graph.file, run: run.status, controller, counts, tasks };
  }
}
