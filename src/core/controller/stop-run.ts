import type { GraftRuntime } from '../runtime.js';
import { RunStore } from '../state/run-store.js';
import type { SessionRow } from '../state/store.js';
import { Controller } from './controller.js';
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
  if (run.status !== 'succeeded' && run.status !== 'failed' && run.status !== 'cancelled') await cancelRun(runtime, session, runs, run.controllerPid);
  await windUpAllStranded(runtime, session, runs);
}

async function cancelRun(runtime: GraftRuntime, session: SessionRow, runs: RunStore, pid: number | undefined): Promise<void> {
  if (pid && pid !== process.pid && controllerAlive(pid)) {
    runtime.events.emit({ code: 'run.cancelled', level: 'info', message: `stopping the run's controller (pid ${pid})`, session: session.id });
    process.kill(pid, 'SIGTERM');
    const deadline = Date.now() + controllerStopMs;
    while (controllerAlive(pid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    if (controllerAlive(pid)) process.kill(pid, 'SIGKILL');
  }
  runs.claimController(session.id, process.pid, () => false);
  try {
    await new Controller(runtime, session).cancel('cancelled by graft down');
  } finally {
    runs.releaseController(session.id, process.pid);
  }
}
