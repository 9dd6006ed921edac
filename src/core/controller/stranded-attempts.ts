/**
 * Attempts stranded on hosts that stopped answering (docs/controller.md, "Hosts that stop
 * answering"). The task has moved on; the old attempt's process may still run there and its
 * agent may have committed work. Once the host answers again the attempt is wound up in an order
 * that loses nothing and finishes nothing twice: stop its process group, keep its output, fetch
 * its work, revoke its agent, forget it.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { removeAgent } from '../agents/remove-agent.js';
import type { StrandedAttempt, TaskRecord } from '../model/task.js';
import { sessionFiles, type GraftRuntime } from '../runtime.js';
import { HostShell } from '../hosts/host-shell.js';
import type { RunStore } from '../state/run-store.js';
import type { SessionRow } from '../state/store.js';
import { pullAgentWork } from '../workspace/pull-work.js';
import { fetchTaskLog } from './task-log.js';
import { killTaskProcess } from './task-process.js';

/** How long a probe of a stranded attempt's host may take: it answers at once or counts as still gone. */
const probeTimeoutMs = 5_000;

/** Where a stranded attempt's work is kept in the controller's repository. */
export function strandedRef(sessionId: string, task: string, agent: string): string {
  return `refs/graft/${sessionId}/stranded/${task}/${agent}`;
}

/** `wound-up`: its host answered and it is done with; `host-silent`: try again later; `nothing-left`: its agent or host is gone. */
export type WindUpOutcome = 'wound-up' | 'host-silent' | 'nothing-left';

/**
 * Winds up one stranded attempt if its host answers, and then forgets it (also when nothing of it
 * is left to wind up). Throws when the host answered but a step failed: the attempt stays
 * recorded, to be tried again.
 */
export async function windUpStrandedAttempt(
  runtime: GraftRuntime,
  session: SessionRow,
  runs: RunStore,
  task: string,
  stranded: StrandedAttempt,
  signal?: AbortSignal,
): Promise<WindUpOutcome> {
  const agent = runtime.store.getAgent(session.id, stranded.agent);
  const host = runtime.store.listHosts(session.id).find((h) => h.name === stranded.host);
  const live = agent !== undefined && agent.state !== 'removed' && host !== undefined && host.state === 'up';
  if (live) {
    try {
      await HostShell.admin(runtime.pool, host, runtime.env).probe(probeTimeoutMs, signal);
    } catch {
      return 'host-silent';
    }
    // First stop it: work that moved on must not be finished here too, nor change while it is fetched.
    await killTaskProcess(HostShell.agent(runtime.pool, session.id, agent, host));
    const files = sessionFiles(runtime, session.id);
    await mkdir(files.taskDir(task), { recursive: true, mode: 0o700 });
    await writeFile(files.strandedLog(task, agent.name), await fetchTaskLog(HostShell.agent(runtime.pool, session.id, agent, host)), { mode: 0o600 });
    let tip: string | undefined;
    if (agent.workspace) {
      const { result, workspace } = await pullAgentWork(runtime, session.id, agent, host, { ref: strandedRef(session.id, task, agent.name) });
      runtime.store.putAgent(session.id, { ...agent, workspace });
      tip = result.tip;
    }
    await removeAgent(runtime, session, runtime.store.getAgent(session.id, agent.name) ?? agent);
    runtime.events.emit({
      code: 'task.stranded-recovered',
      level: 'info',
      message: `${task}: attempt ${stranded.attempt} left on ${host.name} when it stopped answering was stopped${tip ? `; its work is in ${strandedRef(session.id, task, agent.name)}` : ''}`,
      session: session.id,
      host: host.name,
      data: { task, agent: agent.name, attempt: stranded.attempt, ref: tip ? strandedRef(session.id, task, agent.name) : undefined, tip },
    });
  }
  runs.updateTask(session.id, task, (record) => ({ ...record, stranded: (record.stranded ?? []).filter((s) => s.agent !== stranded.agent) }));
  return live ? 'wound-up' : 'nothing-left';
}

/** Every stranded attempt of the run, each tried once (`graft down`, before agents are revoked). */
export async function windUpAllStranded(runtime: GraftRuntime, session: SessionRow, runs: RunStore): Promise<void> {
  for (const record of runs.listTasks(session.id)) {
    for (const stranded of record.stranded ?? []) {
      try {
        const outcome = await windUpStrandedAttempt(runtime, session, runs, record.name, stranded);
        if (outcome === 'host-silent')
          runtime.events.emit({
            code: 'warning',
            level: 'warn',
            message: `${record.name}: ${stranded.host} still does not answer; the work of attempt ${stranded.attempt} there could not be fetched`,
            session: session.id,
            host: stranded.host,
          });
      } catch (error) {
        runtime.events.emit({
          code: 'warning',
          level: 'warn',
          message: `${record.name}: could not wind up attempt ${stranded.attempt} on ${stranded.host}: ${(error as Error).message}`,
          session: session.id,
          host: stranded.host,
        });
      }
    }
  }
}

/** How often a lost host is probed for the attempts stranded on it. */
const probeEveryMs = 2_000;

/**
 * The controller's watch over stranded attempts: each tick it tries the hosts they are on (each
 * at most every two seconds, one try at a time per attempt), and says when a host answered.
 */
export class StrandedWatch {
  private readonly busy = new Map<string, Promise<void>>();
  private readonly lastTry = new Map<string, number>();
  private readonly stopping = new AbortController();

  constructor(
    private readonly runtime: GraftRuntime,
    private readonly session: SessionRow,
    private readonly runs: RunStore,
    private readonly onHostBack: (host: string) => void,
  ) {}

  /** Agents of stranded attempts: not to be revoked as leftovers (their work is still to fetch). */
  agents(): Set<string> {
    return new Set(this.runs.listTasks(this.session.id).flatMap((r) => (r.stranded ?? []).map((s) => s.agent)));
  }

  /** Starts wind-ups due now, from the records the controller just read. */
  poll(tasks: Iterable<TaskRecord>, now = Date.now()): void {
    if (this.stopping.signal.aborted) return;
    for (const record of tasks) {
      for (const stranded of record.stranded ?? []) {
        if (this.busy.has(stranded.agent) || now - (this.lastTry.get(stranded.host) ?? 0) < probeEveryMs) continue;
        this.lastTry.set(stranded.host, now);
        const work = windUpStrandedAttempt(this.runtime, this.session, this.runs, record.name, stranded, this.stopping.signal)
          .then((outcome) => {
            if (outcome === 'wound-up') this.onHostBack(stranded.host);
          })
          .catch((error: Error) => {
            if (!this.stopping.signal.aborted)
              this.runtime.events.emit({
                code: 'warning',
                level: 'warn',
                message: `${record.name}: could not wind up attempt ${stranded.attempt} on ${stranded.host}: ${error.message}`,
                session: this.session.id,
                host: stranded.host,
              });
          })
          .finally(() => this.busy.delete(stranded.agent));
        this.busy.set(stranded.agent, work);
      }
    }
  }

  /** Stops probing (a host that still does not answer must not hold the run's end) and waits for wind-ups under way. */
  async stop(): Promise<void> {
    this.stopping.abort(new Error('the run ended'));
    await Promise.allSettled(this.busy.values());
  }
}
