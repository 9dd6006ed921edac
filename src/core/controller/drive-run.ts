import { learnAgentSecrets } from '../hosts/agent-secrets.js';
import { HostShell } from '../hosts/host-shell.js';
import { UsageError } from '../errors.js';
import { parseDuration } from '../duration.js';
import { harnessSettings } from '../harnesses/index.js';
import type { GraftRuntime } from '../runtime.js';
import { RunStore, type ControllerClaim, type RunRow } from '../state/run-store.js';
import type { SessionRow } from '../state/store.js';
import { ChannelLink } from './channel-link.js';
import { Controller, type ControllerResult } from './controller.js';
import { GatewayLink, usesGateway } from './gateway-link.js';
import { controllerHere, controllerLive, thisController } from './controller-lease.js';
import type { ProvisionerFactory } from '../provisioners/provisioner.js';
import { runOf } from './require-run.js';
import { finishStart } from './start-run.js';

export interface DriveOptions {
  /** Stopping detaches the controller; tasks keep running. */
  signal?: AbortSignal;
  /** Brings up the hosts an earlier controller, killed during start-up, did not. */
  provisioners: ProvisionerFactory;
}

/**
 * Becomes the run's controller (refused while another live process is), runs the graph until it
 * ends or `signal` stops it, and lets go of the run either way.
 */
export async function driveRun(runtime: GraftRuntime, session: SessionRow, options: DriveOptions): Promise<ControllerResult> {
  const me = thisController(runtime.env);
  const unfenced = new RunStore(runtime.store);
  const run = runOf(unfenced, session.id);
  if (run.status === 'cancelled') throw new UsageError(`the run of session ${session.id} was cancelled`, ['Start a new one with: graft run GRAPH.yaml']);
  const holder = unfenced.claimController(session.id, me, controllerLive);
  if (holder) throw alreadyDriven(session.id, holder);
  const runs = new RunStore(runtime.store, { fence: me.id });
  const lease = new LeaseKeeper(runtime, session.id, me, options.signal);
  let link: ChannelLink | undefined;
  let gateway: GatewayLink | undefined;
  try {
    // A controller killed while the hosts came up left the start to finish.
    const live = session.status === 'creating' ? await finishStart(runtime, session, run.graph, options.provisioners) : session;
    await learnLiveSecrets(runtime, live);
    link = await ChannelLink.open(runtime, live, runs, run.graph);
    const channel = link;
    // The gateway hears of a spent budget; the controller (made next, with the gateway) stops the task.
    let stopForBudget = (_task: string): void => undefined;
    gateway = await GatewayLink.open(runtime, live, runs, run.graph, { budgetExceeded: (task) => stopForBudget(task) });
    const controller = new Controller(runtime, live, {
      runs,
      signal: lease.signal,
      taskPath: (host) => channel.helperDir(host),
      channelUrl: (host) => channel.url(host),
      servicePorts: async (host, agent) => [await channel.port(host), ...(usesGateway(agent) ? [await gateway!.port(host)] : [])],
      harnessSettings: harnessSettings(runtime.env),
      gateway,
      retryPolicy: runtime.env.GRAFT_RETRY_BACKOFF
        ? { backoffBaseMs: parseDuration('GRAFT_RETRY_BACKOFF', runtime.env.GRAFT_RETRY_BACKOFF), backoffMaxMs: 60_000 }
        : undefined,
      hostGraceMs: runtime.env.GRAFT_HOST_GRACE ? parseDuration('GRAFT_HOST_GRACE', runtime.env.GRAFT_HOST_GRACE) : undefined,
    });
    stopForBudget = (task) => controller.stopForBudget(task);
    return await controller.run();
  } finally {
    lease.stop();
    await gateway?.close();
    await link?.close();
    unfenced.releaseController(session.id, me);
  }
}

function alreadyDriven(sessionId: string, holder: RunRow): UsageError {
  if (controllerHere(holder)) {
    return new UsageError(`session ${sessionId} already has a controller running (pid ${holder.controllerPid})`, [
      'Watch it with: graft status',
      `Stop it with: kill ${holder.controllerPid}`,
    ]);
  }
  return new UsageError(
    `session ${sessionId} is driven by a controller on another machine (pid ${holder.controllerPid} there), whose lease runs until ${holder.leaseExpiresAt}`,
    ['Watch it with: graft status', 'If that machine is gone, run graft resume again once the lease has run out.'],
  );
}

/**
 * Renews the controller's lease a third of the way through it. When the renewal finds another
 * controller holding the run, the controller detaches (as on a stop signal): the tasks keep
 * running for the new holder.
 */
class LeaseKeeper {
  private readonly aborter = new AbortController();
  private readonly timer: NodeJS.Timeout;
  readonly signal: AbortSignal;

  constructor(runtime: GraftRuntime, sessionId: string, me: ControllerClaim, stop?: AbortSignal) {
    const runs = new RunStore(runtime.store);
    this.signal = stop ? AbortSignal.any([stop, this.aborter.signal]) : this.aborter.signal;
    this.timer = setInterval(
      () => {
        if (runs.renewLease(sessionId, me)) return;
        runtime.events.emit({
          code: 'run.lease-lost',
          level: 'warn',
          message: `another controller took the run of session ${sessionId} over; this one detaches and leaves its tasks to it`,
          session: sessionId,
        });
        this.aborter.abort();
      },
      Math.max(1000, Math.floor(me.leaseMs / 3)),
    );
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

/**
 * A resumed controller did not resolve the secrets of agents already running: it reads their
 * values back from their homes before the channel opens, so what those agents say is redacted
 * like the rest. A host that does not answer now is reported; the controller tries again when
 * it re-attaches to the agent's task (Controller.ensureAgent).
 */
async function learnLiveSecrets(runtime: GraftRuntime, session: SessionRow): Promise<void> {
  const hosts = new Map(runtime.store.listHosts(session.id).map((h) => [h.name, h]));
  const live = runtime.store.listAgents(session.id).filter((a) => a.state === 'ready' && a.secrets.length > 0 && hosts.has(a.host));
  await Promise.all(
    live.map((agent) =>
      learnAgentSecrets(HostShell.agent(runtime.pool, session.id, agent, hosts.get(agent.host)!), agent, runtime.redactor).catch((error: Error) =>
        runtime.events.emit({
          code: 'warning',
          level: 'warn',
          message: `cannot read the secrets of agent ${agent.name} back from ${agent.host} to redact them: ${error.message}`,
          session: session.id,
          host: agent.host,
        }),
      ),
    ),
  );
}
