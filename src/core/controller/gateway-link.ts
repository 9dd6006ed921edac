/**
 * The controller's side of the model gateway (docs/gateway.md): the gateway server, one reverse
 * tunnel per host to it, the vendors' keys (held here, never sent to a host), a token per
 * attempt of every agent that uses it, and what happens when a budget is spent.
 */
import { budgetsFor, describeScope, spentBudget, type SpentBudget } from '../gateway/budgets.js';
import { formatUsd, microToUsd, picoToUsd } from '../gateway/money.js';
import { startGateway, type ModelGateway } from '../gateway/gateway-server.js';
import { allowedModels } from '../gateway/model-policy.js';
import { PriceTable } from '../gateway/prices.js';
import { vendorOfHarness, vendors, vendorNames } from '../gateway/vendors.js';
import { type VendorName } from '../model/usage.js';
import type { AgentSpec, TaskSpec } from '../model/graph.js';
import type { TaskRecord } from '../model/task.js';
import type { GatewayAccess } from '../harnesses/harness.js';
import type { HostRecord } from '../model/host.js';
import type { GraftRuntime } from '../runtime.js';
import { resolveSecrets } from '../secrets/secret-source.js';
import { GatewayStore, type TokenGrant } from '../state/gateway-store.js';
import type { RunGraph, RunStore } from '../state/run-store.js';
import type { SessionRow } from '../state/store.js';
import { HostTunnels } from './host-tunnels.js';

/** How long past its task's timeout (or, without one, past its start) a token stays good at most. */
const tokenSlackMs = 10 * 60_000;
const untimedTokenMs = 24 * 60 * 60_000;

/** Whether an agent template reaches its vendor through the gateway. */
export function usesGateway(agent: AgentSpec): boolean {
  return agent.gateway === true && vendorOfHarness(agent.harness) !== undefined;
}

/** The secret names the gateway holds for an agent instead of giving them to its host. */
export function gatewayHeldSecrets(agent: AgentSpec): string[] {
  const vendor = vendorOfHarness(agent.harness);
  return usesGateway(agent) && vendor ? [...vendors[vendor].keyNames] : [];
}

/** Upstreams: the graph's `gateway:` section, else GRAFT_<VENDOR>_BASE_URL, else the public API. */
export function resolveUpstreams(graph: Pick<RunGraph, 'gateway'>, env: NodeJS.ProcessEnv): Record<VendorName, string> {
  const upstreams = {} as Record<VendorName, string>;
  for (const name of vendorNames) upstreams[name] = graph.gateway?.[name] ?? (env[vendors[name].upstreamEnv] || vendors[name].defaultUpstream);
  return upstreams;
}

export class GatewayLink {
  private constructor(
    private readonly session: SessionRow,
    private readonly graph: RunGraph,
    private readonly store: GatewayStore,
    private readonly server: ModelGateway,
    private readonly tunnels: HostTunnels,
  ) {}

  /**
   * Starts the gateway when some agent of the graph uses it (else returns undefined). The vendor
   * keys its agents are granted are read here, from the environment or GRAFT_SECRETS_FILE.
   */
  static async open(
    runtime: GraftRuntime,
    session: SessionRow,
    runs: RunStore,
    graph: RunGraph,
    hooks: { budgetExceeded(task: string): void },
  ): Promise<GatewayLink | undefined> {
    const agents = Object.values(graph.agents).filter(usesGateway);
    if (agents.length === 0) return undefined;
    const grantedTo = (agent: AgentSpec, task?: TaskSpec) => new Set([...agent.secrets, ...(task?.secrets ?? [])]);
    const held = new Set(
      agents.flatMap((agent) =>
        gatewayHeldSecrets(agent).filter((name) => Object.values(graph.tasks).some((t) => t.agent === agent.name && grantedTo(agent, t).has(name))),
      ),
    );
    const keys = resolveSecrets([...held], { file: runtime.env.GRAFT_SECRETS_FILE, env: runtime.env });
    for (const value of keys.values()) runtime.redactor.add(value);
    const prices = PriceTable.load(runtime.env.GRAFT_PRICES || undefined);
    const store = new GatewayStore(runtime.store);
    const limits = (task: string) => budgetsFor(graph, task, (scope, name) => store.budget(session.id, scope, name));
    const server = await startGateway({
      sessionId: session.id,
      store,
      prices,
      upstreams: resolveUpstreams(graph, runtime.env),
      events: runtime.events,
      vendorKey: (grant) => {
        const agent = graph.agents[grant.agent];
        const granted = agent && grantedTo(agent, graph.tasks[grant.task]);
        const name = granted && vendors[grant.vendor].keyNames.find((n) => granted.has(n) && keys.has(n));
        return name ? keys.get(name) : undefined;
      },
      isLive: (grant) => {
        const task = runs.getTask(session.id, grant.task);
        return !!task && task.agent === grant.identity && task.attempt === grant.attempt && (task.state === 'running' || task.state === 'starting');
      },
      allowedModels: (grant) => (graph.agents[grant.agent] ? allowedModels(graph.agents[grant.agent]!) : []),
      spentBudget: (grant) => spentBudget(limits(grant.task), (scope, name) => store.spent(session.id, scope, name)),
      onBudgetExceeded: (grant, budget) => {
        const marked = runs.updateTask(session.id, grant.task, (r) =>
          r.attempt === grant.attempt && (r.state === 'running' || r.state === 'starting') && !r.budgetExceeded
            ? { ...r, budgetExceeded: budgetMessage(budget) }
            : undefined,
        );
        if (marked) hooks.budgetExceeded(grant.task);
      },
    });
    const tunnels = new HostTunnels(runtime, session, server.port, 'gatewayPort');
    return new GatewayLink(session, graph, store, server, tunnels);
  }

  /**
   * What an attempt's agent needs to use the gateway: the URL on its host and a fresh token bound
   * to the attempt and agent; undefined for agents that do not use it. Before a budget of the task
   * is known to be spent, so an attempt that could not make one request does not start.
   */
  async access(record: TaskRecord, host: HostRecord): Promise<GatewayAccess | undefined> {
    const spec = this.graph.tasks[record.name];
    const agent = spec && this.graph.agents[spec.agent];
    const vendor = agent && usesGateway(agent) ? vendorOfHarness(agent.harness) : undefined;
    if (!spec || !agent || !vendor || !record.agent) return undefined;
    const tunnel = await this.tunnels.tunnel(host);
    const lifetime = spec.timeoutMs !== undefined ? spec.timeoutMs + tokenSlackMs : untimedTokenMs;
    const expiresAt = new Date(Math.min(Date.now() + lifetime, Date.parse(this.session.expiresAt))).toISOString();
    const token = this.store.issueToken(this.session.id, {
      task: record.name,
      attempt: record.attempt,
      agent: agent.name,
      identity: record.agent,
      vendor,
      expiresAt,
    });
    return { url: `http://127.0.0.1:${tunnel.remotePort}`, token };
  }

  /** The loopback port of the gateway's tunnel end on a host (opened if it is not yet): an agent's network rules let it through. */
  async port(host: HostRecord): Promise<number> {
    return (await this.tunnels.tunnel(host)).remotePort;
  }

  /** An attempt's agent is being revoked: its tokens go first. */
  revoke(identity: string): void {
    this.store.revokeTokens(this.session.id, identity);
  }

  /** The budget of a task that is already spent, if any: its next attempt would be refused at once. */
  spent(task: string): string | undefined {
    const spent = spentBudget(
      budgetsFor(this.graph, task, (scope, name) => this.store.budget(this.session.id, scope, name)),
      (scope, name) => this.store.spent(this.session.id, scope, name),
    );
    return spent && budgetMessage(spent);
  }

  async close(): Promise<void> {
    await this.tunnels.close();
    await this.server.close();
  }
}

function budgetMessage(budget: SpentBudget): string {
  return `the budget of ${describeScope(budget)} (${formatUsd(microToUsd(budget.microUsd))}) is spent (${formatUsd(picoToUsd(budget.spentPico))})`;
}

export type { TokenGrant };
