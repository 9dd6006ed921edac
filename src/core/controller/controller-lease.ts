/**
 * Who drives a run. One controller process at a time holds the run: on its own machine a dead
 * pid frees the run at once; from another machine (a team sharing a PostgreSQL store) only an
 * expired lease does, since a pid there means nothing here. The holder renews its lease while it
 * runs, and every task change it writes is fenced on still holding it (RunStore's `fence`).
 */
import { randomUUID } from 'node:crypto';
import { parseDuration } from '../duration.js';
import { controllerAlive, machineIdentity } from '../graft-process.js';
import type { ControllerClaim, RunRow } from '../state/run-store.js';

/** How long a controller's hold on a run lasts without renewal. */
export const defaultLeaseMs = 30_000;

/** This process as a run's controller, with a new id: `GRAFT_CONTROLLER_LEASE` sets the lease (default 30 s). */
export function thisController(env: NodeJS.ProcessEnv): ControllerClaim {
  const leaseMs = env.GRAFT_CONTROLLER_LEASE ? parseDuration('GRAFT_CONTROLLER_LEASE', env.GRAFT_CONTROLLER_LEASE) : defaultLeaseMs;
  return { id: randomUUID(), machine: machineIdentity(), pid: process.pid, leaseMs };
}

/** Whether the run's recorded controller still drives it, as far as this process can tell. */
export function controllerLive(run: RunRow, now = Date.now()): boolean {
  if (!run.controllerPid) return false;
  if (controllerHere(run)) return controllerAlive(run.controllerPid);
  return run.leaseExpiresAt !== undefined && Date.parse(run.leaseExpiresAt) > now;
}

/** Whether the run's controller runs where this process can signal it. */
export function controllerHere(run: RunRow): boolean {
  return !run.controllerMachine || run.controllerMachine === machineIdentity();
}
