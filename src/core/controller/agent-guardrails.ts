/** An attempt's guardrails, from its graph: the network rules and resource limits its agent gets (docs/security.md). */
import { UsageError } from '../errors.js';
import { describeNetwork, egressRules, type EgressRules } from '../hosts/egress.js';
import { mergeLimits } from '../hosts/limits.js';
import type { AgentSpec, TaskSpec } from '../model/graph.js';
import type { ResourceLimits } from '../model/guardrails.js';
import type { HostRecord } from '../model/host.js';
import type { AttemptContext } from './attempt-context.js';
import { usesGateway } from './gateway-link.js';

/**
 * The network rules of a task's agent: the task's `network`, else its template's, else
 * `gateway` (`open` for an LLM agent that holds its vendor key: it calls the vendor itself).
 * Agents that share the login account have no uid of their own to key rules on.
 */
export async function egressFor(ctx: AttemptContext, agentSpec: AgentSpec, spec: TaskSpec, host: HostRecord): Promise<EgressRules | undefined> {
  const policy = spec.network ?? agentSpec.network ?? (agentSpec.harness !== 'shell' && !usesGateway(agentSpec) ? 'open' : 'gateway');
  if (host.isolation === 'shared-account') {
    if (policy === 'open' || (spec.network ?? agentSpec.network) === undefined) return undefined;
    throw new UsageError(
      `${spec.name}: network: ${describeNetwork(policy)} cannot be enforced on ${host.name}: its agents share the login account ${host.user} (no root or sudo), and the rules are keyed by an agent's own uid`,
      [`Give graft root or sudo on ${host.name}, or set network: open on task ${spec.name} or agent ${spec.agent}.`],
    );
  }
  if (policy === 'open' || policy === 'none') return policy;
  return egressRules(policy, (await ctx.options.servicePorts?.(host, agentSpec)) ?? []);
}

/** The resource limits of a task's agent: its template's, key by key replaced by the task's. */
export function limitsFor(agentSpec: AgentSpec, spec: TaskSpec, host: HostRecord): ResourceLimits | undefined {
  const limits = mergeLimits(agentSpec.limits, spec.limits);
  if (limits && host.isolation === 'shared-account') {
    throw new UsageError(
      `${spec.name}: limits cannot be enforced on ${host.name}: its agents share the login account ${host.user} (no root or sudo), and graft keys an agent's cgroups by its own account`,
      [`Give graft root or sudo on ${host.name}, or drop limits from task ${spec.name} and agent ${spec.agent}.`],
    );
  }
  return limits;
}
