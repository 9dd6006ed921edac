import { driveRun } from '../core/controller/drive-run.js';
import { costByTask } from '../core/gateway/cost-report.js';
import type { ControllerResult } from '../core/controller/controller.js';
import { ExitCode } from '../core/errors.js';
import type { TaskRecord } from '../core/model/task.js';
import type { GraftRuntime } from '../core/runtime.js';
import type { ProvisionerFactory } from '../core/provisioners/provisioner.js';
import { RunStore } from '../core/state/run-store.js';
import type { SessionRow } from '../core/state/store.js';
import { LiveProgress, renderTaskTable } from './run-progress.js';
import { startCompanions, type CompanionOptions } from '../core/dashboard/run-companions.js';

export interface DriveSummary {
  session: string;
  outcome: ControllerResult;
  tasks: TaskRecord[];
  branches: string[];
}

/** What the driving command lends: its output and exit code. */
export interface DriveOutput {
  json: boolean;
  log(text: string): void;
  muteConsole(): void;
  setExitCode(code: number): void;
}

/** What `run` and `resume` share: signals that detach, the progress display, the final table and exit code. */
export function driveController(cli: DriveOutput, runtime: GraftRuntime, provisioners: ProvisionerFactory, companions: CompanionOptions) {
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let live: LiveProgress | undefined;
  let unsubscribe: (() => void) | undefined;
  if (cli.json) {
    unsubscribe = runtime.events.on((event) => {
      if (event.level !== 'debug') process.stdout.write(JSON.stringify(runtime.redactor.redactDeep(event)) + '\n');
    });
  }
  return {
    async run(session: SessionRow): Promise<DriveSummary> {
      const runs = new RunStore(runtime.store);
      if (!cli.json && process.stderr.isTTY) {
        cli.muteConsole();
        live = new LiveProgress(runtime.events, runs.listTasks(session.id));
      }
      const beside = await startCompanions(runtime, session, companions);
      // The sign-in URL holds a token: it goes to the terminal only, never to a log or an event.
      if (beside.dashboard)
        process.stderr.write(
          `dashboard: ${beside.dashboard.signInUrl()}\n${beside.dashboard.caFile ? `  (HTTPS: trust the session CA ${beside.dashboard.caFile})\n` : ''}`,
        );
      let outcome: ControllerResult;
      try {
        outcome = await driveRun(runtime, session, { signal: stop.signal, provisioners });
      } finally {
        await beside.stop();
      }
      live?.stop();
      live = undefined;
      const tasks = runs.listTasks(session.id);
      const branches = tasks.filter((t) => t.branch).map((t) => t.branch!);
      cli.log(renderTaskTable(tasks, costByTask(runtime.store, session.id)));
      if (outcome === 'detached') {
        cli.log(
          `\ncontroller stopped; tasks keep running. Continue: graft resume --session ${session.id}   Stop everything: graft down --session ${session.id}`,
        );
        cli.setExitCode(ExitCode.interrupted);
      } else {
        cli.log(
          `\nrun ${outcome}. Branches:${branches.length ? '\n  ' + branches.join('\n  ') : ' none'}\nThe session stays up: graft down --session ${session.id} when done.`,
        );
        if (outcome === 'failed') cli.setExitCode(ExitCode.remoteFailure);
      }
      return { session: session.id, outcome, tasks, branches };
    },
    stop(): void {
      live?.stop();
      unsubscribe?.();
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
