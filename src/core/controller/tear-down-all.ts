import { stopRun } from './stop-run.js';
import { asGraftError } from '../errors.js';
import type { GraftRuntime } from '../runtime.js';
import type { SessionRow } from '../state/store.js';
import type { ProvisionerFactory } from '../provisioners/provisioner.js';
import { tearDown, type DownResult } from '../session/tear-down.js';

/**
 * Stops the session's run (if one is going) and tears the session down: what `graft down` does
 * for one session.
 */
export async function stopAndTearDown(runtime: GraftRuntime, session: SessionRow, factory: ProvisionerFactory): Promise<DownResult> {
  await stopRun(runtime, session);
  return tearDown(runtime, session, factory);
}

/**
 * `graft down --all`: every session that has not ended, one after the other. A session that
 * cannot be torn down does not stop the others; its error is a warning, and the most severe one
 * (by exit code) is thrown once all were tried.
 */
export async function tearDownAll(runtime: GraftRuntime, factory: ProvisionerFactory): Promise<DownResult[]> {
  const results: DownResult[] = [];
  const failures: Error[] = [];
  // In team mode, only this operator's own sessions: others' are theirs to end.
  for (const session of runtime.store.ownSessions().filter((s) => s.status !== 'ended')) {
    try {
      results.push(await stopAndTearDown(runtime, session, factory));
    } catch (error) {
      const failure = asGraftError(error);
      failures.push(failure);
      runtime.events.emit({ code: 'warning', level: 'warn', message: `session ${session.id}: ${failure.message}`, session: session.id });
    }
  }
  if (failures.length > 0) throw failures.map(asGraftError).sort((a, b) => b.exitCode - a.exitCode)[0];
  return results;
}
