import type { GraftRuntime } from '../runtime.js';
import { RunStore, type RunRow } from '../state/run-store.js';
import { controllerHere, thisController } from './controller-lease.js';
import type { SessionRow } from '../state/store.js';
import { GraftError } from '../errors.js';
import { cancelAll } from '../graph/scheduler.js';
import { HostShell } from '../hosts/host-shell.js';
import { pullAgentWork } from '../workspace/pull-work.js';
import { killTaskProcess } from './task-process.js';
import { TaskWriter } from './task-writer.js';
import { controllerAlive } from '../graft-process.js';
import { windUpAllStranded } from './stranded-attempts.js';

/** How long a live controller is given to stop after SIGTERM before `down` goes on without it. */
const controllerStopMs = 30_000;

/**
 * Ends a session's run before its hosts go: stops its controller if one is alive, then kills
 * every task still running, fetches their work into their branches and marks what was unfinished
 * cancelled. Attempts stranded on hosts that were lost are wound up too (also after a finished
 * run) where their hosts answer, so their agents' work is fetched before agents are revoked.
 */
export async function stopRun(runtime: GraftRuntime, session: SessionRow): Promise<void> {
  const runs = new RunStore(runtime.store);
  const run = runs.getRun(session.id);
  if (!run) return;
  if (run.status !== 'succeeded' && run.status !== 'failed' && run.status !== 'cancelled') await stopController(runtime, session, runs, run);
  await windUpAllStranded(runtime, session, runs);
}

async function stopController(runtime: GraftRuntime, session: SessionRow, runs: RunStore, run: RunRow): Promise<void> {
  const pid = run.controllerPid;
  // A controller on another machine is not signalled: taking the run from it below makes its
  // next renewal or task write fail, and it detaches.
  if (pid && pid !== process.pid && controllerHere(run) && controllerAlive(pid)) {
    runtime.events.emit({ code: 'run.cancelled', level: 'info', message: `stopping the run's controller (pid ${pid})`, session: session.id });
    process.kill(pid, 'SIGTERM');
    const deadline = Date.now() + controllerStopMs;
    while (controllerAlive(pid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    if (controllerAlive(pid)) process.kill(pid, 'SIGKILL');
  }
  const me = thisController(runtime.env);
  runs.claimController(session.id, me, () => false);
  try {
    await cancelTasks(runtime, session, runs, 'cancelled by graft down');
  } finally {
    runs.releaseController(session.id, me);
  }
}

/**
 * Stops the run for good: kills every task's process group, fetches what they did, marks
 * everything unfinished cancelled. Used by `graft down`, with no other controller alive.
 */
async function cancelTasks(runtime: GraftRuntime, session: SessionRow, runs: RunStore, reason: string): Promise<void> {
  const tasks = () => new Map(runs.listTasks(session.id).map((r) => [r.name, r]));
  const hosts = new Map(runtime.store.listHosts(session.id).map((h) => [h.name, h]));
  for (const record of tasks().values()) {
    if (record.state !== 'running' && record.state !== 'starting') continue;
    const agent = record.agent && runtime.store.getAgent(session.id, record.agent);
    if (!agent || agent.state !== 'ready') continue;
    try {
      const host = hosts.get(record.host!);
      if (!host) throw new GraftError(`host ${record.host} is not in session ${session.id}`, { code: 'HOST_GONE' });
      if (record.pid) await killTaskProcess(HostShell.agent(runtime.pool, session.id, agent, host), record.pid);
      const { result, workspace } = await pullAgentWork(runtime, session.id, agent, host);
      runtime.store.putAgent(session.id, { ...agent, workspace });
      runs.updateTask(session.id, record.name, (r) => ({ ...r, branch: result.branch, tip: result.tip }));
    } catch (error) {
      runtime.events.emit({
        code: 'warning',
        level: 'warn',
        message: `${record.name}: could not stop it or fetch its work: ${(error as Error).message}`,
        session: session.id,
        host: record.host,
      });
    }
  }
  const now = new Date().toISOString();
  const fresh = tasks();
  new TaskWriter(runtime, runs, session.id).write(cancelAll(fresh.values(), now, reason).map((record) => ({ from: fresh.get(record.name)!.state, record })));
  runs.setRunStatus(session.id, 'cancelled');
}
