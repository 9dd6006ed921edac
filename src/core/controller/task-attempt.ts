/**
 * One attempt of a task, as lifecycle steps: provision (its agent, account, worktree and
 * guardrails), launch (the harness in a process on the host), watch (to its end, through a host
 * that stops answering for a while, against its timeout), collect (its log and its work, then the
 * result by the attempt's rules in the scheduler) and revoke (its agent). It starts from whatever
 * point the task's record says an earlier controller reached, so a resumed run re-attaches.
 */
import { saveAttemptLog } from './saved-logs.js';
import { createAgent } from '../agents/create-agent.js';
import { removeAgent } from '../agents/remove-agent.js';
import { ExitCode, GraftError, SshError } from '../errors.js';
import { failpoint } from '../failpoints.js';
import { attemptEnded, attemptFailed, defaultRetryPolicy, type RetryPolicy } from '../graph/scheduler.js';
import { harnessFor } from '../harnesses/index.js';
import type { GatewayAccess } from '../harnesses/harness.js';
import { learnAgentSecrets } from '../hosts/agent-secrets.js';
import { HostShell } from '../hosts/host-shell.js';
import { attemptLimits } from '../hosts/limits.js';
import type { AgentRecord } from '../model/agent.js';
import type { TaskSpec } from '../model/graph.js';
import type { HostRecord } from '../model/host.js';
import type { TaskRecord } from '../model/task.js';
import { agentBranch } from '../workspace/agent-worktree.js';
import { pullAgentWork } from '../workspace/pull-work.js';
import { egressFor, limitsFor } from './agent-guardrails.js';
import type { AttemptContext } from './attempt-context.js';
import { gatewayHeldSecrets, usesGateway } from './gateway-link.js';
import { fetchTaskLog } from './task-log.js';
import { killTaskProcess, launcherScript, MissingCommandError, reattachScript, runTaskProcess, type ProcessEnd } from './task-process.js';

/** Runs one attempt of a task from the point its record says it reached. */
export async function runAttempt(ctx: AttemptContext, record: TaskRecord): Promise<void> {
  const spec = ctx.graph.tasks[record.name]!;
  const host = ctx.host(record.host!);
  let agent: AgentRecord | undefined;
  let timedOut = false;
  let timer: NodeJS.Timeout | undefined;
  try {
    // An attempt whose budget is already spent would be refused its first request: it does not start.
    const spent = record.state === 'starting' ? ctx.options.gateway?.spent(record.name) : undefined;
    if (spent) return failForBudget(ctx, record.name, spent);
    agent = await provision(ctx, record, spec, host);
    if (!agent) return;
    const shell = HostShell.agent(ctx.runtime.pool, ctx.session.id, agent, host);
    const gateway = record.state === 'running' ? undefined : await ctx.options.gateway?.access(record, host);
    const script = record.state === 'running' ? reattachScript() : launcher(ctx, record, spec, agent, await ctx.options.channelUrl?.(host), gateway);
    // The timeout counts from when the process started: a slow host may take long to make the
    // agent, and that time is not the task's.
    const since = record.state === 'running' ? Date.parse(record.runningAt ?? record.startedAt ?? new Date().toISOString()) : undefined;
    const arm = (started: number) => {
      if (!spec.timeoutMs || timer) return;
      timer = setTimeout(
        () => {
          timedOut = true;
          const pid = ctx.runs.getTask(ctx.session.id, record.name)?.pid;
          if (pid) killTaskProcess(shell, pid).catch(() => undefined);
        },
        Math.max(0, spec.timeoutMs - (Date.now() - started)),
      );
    };
    if (since !== undefined) arm(since);
    const end = await watch(ctx, record, shell, script, () => arm(Date.now()));
    if (end === 'detached') return;
    clearTimeout(timer);
    await collect(
      ctx,
      record.name,
      agent,
      shell,
      end,
      timedOut ? `timed out after ${Math.round(spec.timeoutMs! / 1000)} s; its process group was killed` : undefined,
    );
  } catch (error) {
    clearTimeout(timer);
    if (ctx.options.signal?.aborted) return;
    await failAttempt(ctx, record.name, error as Error, agent);
  }
}

/** The attempt's agent: made now, or found from before a crash. Undefined when the attempt was given back. */
async function provision(ctx: AttemptContext, record: TaskRecord, spec: TaskSpec, host: HostRecord): Promise<AgentRecord | undefined> {
  const { runtime, session } = ctx;
  const name = record.agent!;
  const existing = runtime.store.getAgent(session.id, name);
  if (existing?.state === 'ready' && existing.createdAt >= (record.startedAt ?? '')) {
    // Made by an earlier controller: its secret values are read back, so its output is redacted here too.
    await learnAgentSecrets(HostShell.agent(runtime.pool, session.id, existing, host), existing, runtime.redactor);
    return existing;
  }
  if (record.state === 'running') throw new Error(`its agent ${name} is gone (${existing?.state ?? 'never recorded'})`);
  // A half-made agent (crash during creation) or one of an earlier attempt goes first.
  if (existing && existing.state !== 'removed') await removeAgent(runtime, session, existing).catch(() => undefined);
  const agentSpec = ctx.graph.agents[spec.agent]!;
  const from = spec.needs.length === 0 ? [ctx.graph.baseCommit] : spec.needs.map((n) => ctx.runs.getTask(session.id, n)!.tip!);
  // A vendor key the gateway holds for the agent never goes to its host.
  const held = new Set(gatewayHeldSecrets(agentSpec));
  const { agent } = await createAgent(runtime, session, {
    name,
    host,
    secrets: [...new Set([...agentSpec.secrets, ...spec.secrets])].filter((s) => !held.has(s)),
    secretsFile: runtime.env.GRAFT_SECRETS_FILE,
    // Its key allows a terminal so a person can join the task's tmux session (graft attach).
    interactive: true,
    worktree: { repo: ctx.graph.repo, from, uncommitted: 'ignore' },
    pool: ctx.accounts,
    guardrails: { egress: await egressFor(ctx, agentSpec, spec, host), limits: limitsFor(agentSpec, spec, host) },
  });
  // A retry's branch replaces the earlier attempt's, which graft set: say so, so the pull may move it.
  const previousTip = ctx.runs.getTask(session.id, record.name)?.tip;
  if (previousTip && agent.workspace) {
    agent.workspace.pulledTip = previousTip;
    runtime.store.putAgent(session.id, agent);
  }
  return agent;
}

/** The script that starts the task's harness on its host. */
function launcher(
  ctx: AttemptContext,
  record: TaskRecord,
  spec: TaskSpec,
  agent: AgentRecord,
  channelUrl: string | undefined,
  gateway: GatewayAccess | undefined,
): string {
  const { session, options } = ctx;
  const agentSpec = ctx.graph.agents[spec.agent]!;
  const upstream = spec.needs.map((n) => {
    const r = ctx.runs.getTask(session.id, n)!;
    return { task: n, branch: r.branch ?? '', summary: r.summary };
  });
  const invocation = harnessFor(agentSpec.harness).invoke({
    session: session.id,
    task: record.name,
    agent: agentSpec,
    prompt: spec.prompt,
    command: spec.command ?? agentSpec.command,
    branch: agent.workspace!.branch,
    workdir: agent.workspace!.workdir,
    upstream,
    apiBaseUrl: options.harnessSettings?.apiBaseUrls[agentSpec.harness],
    ...(gateway ? { gateway } : {}),
  });
  const granted = [...agent.secrets, ...(usesGateway(agentSpec) ? [...agentSpec.secrets, ...spec.secrets] : [])];
  const missing = invocation.credentials.length > 0 && !invocation.credentials.some((c) => granted.includes(c));
  if (missing) {
    ctx.runtime.events.emit({
      code: 'warning',
      level: 'warn',
      message: `${record.name}: the ${agentSpec.harness} harness authenticates with ${invocation.credentials.join(' or ')}, and none is granted to agent ${spec.agent}: add it to its secrets`,
      session: session.id,
    });
  }
  return launcherScript({
    invocation,
    workdir: agent.workspace!.workdir,
    harness: agentSpec.harness,
    path: [...(options.taskPath?.(agent.host) ?? []), ...(options.harnessSettings?.agentPath ?? [])],
    channelUrl,
    env: {
      GRAFT_SESSION: session.id,
      GRAFT_TASK: record.name,
      GRAFT_AGENT: agent.name,
      GRAFT_BRANCH: agent.workspace!.branch,
      GRAFT_WORKDIR: agent.workspace!.workdir,
      GRAFT_ATTEMPT: String(record.attempt),
      ...invocation.env,
    },
  });
}

/**
 * Watches the process to its end. A connection lost while it runs is not a failure yet: the
 * host gets a grace period to answer again, and the process is re-attached to if it does.
 */
async function watch(ctx: AttemptContext, record: TaskRecord, shell: HostShell, script: string, onRunning: () => void): Promise<ProcessEnd | 'detached'> {
  let current = script;
  // Whether the process is known to have started: until it is, a retry launches again (the
  // launcher finds a process an earlier try started by its pid file), since re-attaching to a
  // launch whose login or channel failed finds nothing to watch.
  let started = record.state === 'running';
  for (;;) {
    try {
      const onPid = (pid: number) => {
        started = true;
        failpoint('task.launched');
        markRunning(ctx, record.name, pid);
        onRunning();
      };
      return await runTaskProcess(shell, current, onPid, ctx.watchSignal);
    } catch (error) {
      if (ctx.options.signal?.aborted) return 'detached';
      if (!(error instanceof SshError) || !(await hostAnswersAgain(ctx, shell.host, error))) throw error;
      current = started ? reattachScript() : script;
    }
  }
}

function markRunning(ctx: AttemptContext, name: string, pid: number): void {
  const record = ctx.runs.getTask(ctx.session.id, name);
  if (!record || (record.state === 'running' && record.pid === pid)) return;
  ctx.write([{ from: record.state, record: { ...record, state: 'running', pid, runningAt: new Date().toISOString() } }]);
}

/** Polls the host's admin login until it answers or the grace period ends. */
async function hostAnswersAgain(ctx: AttemptContext, host: HostRecord, error: SshError): Promise<boolean> {
  const deadline = Date.now() + (ctx.options.hostGraceMs ?? 60_000);
  ctx.runtime.events.emit({
    code: 'warning',
    level: 'warn',
    message: `${host.name} stopped answering (${error.message}); waiting up to ${Math.round((deadline - Date.now()) / 1000)} s for it`,
    session: ctx.session.id,
    host: host.name,
  });
  while (Date.now() < deadline && !ctx.options.signal?.aborted) {
    try {
      await HostShell.admin(ctx.runtime.pool, host, ctx.runtime.env).probe(5_000);
      return true;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
  }
  ctx.unhealthy.add(host.name);
  return false;
}

/** The process ended: keep its output, fetch its work, then record the result, then revoke the agent. */
async function collect(ctx: AttemptContext, name: string, agent: AgentRecord, shell: HostShell, end: ProcessEnd, timedOut?: string): Promise<void> {
  const host = shell.host;
  const { runtime, session } = ctx;
  const record = ctx.runs.getTask(session.id, name)!;
  // The agent's output is kept redacted: it echoes its secrets as often as not.
  const log = runtime.redactor.redactBytes(await fetchTaskLog(shell));
  await saveAttemptLog(runtime, session.id, name, record.attempt, log);
  // Every attempt's tip is kept; a retry's agent (named apart) also moves the task's branch.
  const taskBranch = agentBranch(session.id, name);
  const alsoRefs = [
    `refs/graft/${session.id}/attempts/${name}/${record.attempt}`,
    ...(agent.workspace!.branch !== taskBranch ? [`refs/heads/${taskBranch}`] : []),
  ];
  const { result, workspace } = await pullAgentWork(runtime, session.id, agent, host, { alsoRefs });
  runtime.store.putAgent(session.id, { ...agent, workspace });
  failpoint('task.result-fetched');
  const spec = ctx.graph.tasks[name]!;
  const fresh = ctx.runs.getTask(session.id, name)!;
  const limits = attemptLimits(host, ctx.graph.agents[spec.agent]?.limits, spec.limits);
  const next = attemptEnded(
    spec,
    fresh,
    { exitCode: end.exitCode, vanished: end.vanished, limit: end.limit, limits, timedOut, branch: taskBranch, tip: result.tip },
    Date.now(),
    retryPolicy(ctx),
  );
  ctx.write([{ from: fresh.state, record: next }]);
  failpoint('task.result-recorded');
  // What waited on this result starts now, while its agent is being revoked.
  ctx.wake();
  await revokeAgent(ctx, agent);
}

function retryPolicy(ctx: AttemptContext): RetryPolicy {
  return ctx.options.retryPolicy ?? defaultRetryPolicy;
}

async function failAttempt(ctx: AttemptContext, name: string, error: Error, agent?: AgentRecord): Promise<void> {
  const record = ctx.runs.getTask(ctx.session.id, name);
  if (!record || (record.state !== 'starting' && record.state !== 'running')) return;
  const hostLost = record.host !== undefined && ctx.unhealthy.has(record.host);
  // A merge conflict or a missing CLI fails the same way every time: no retry.
  const final = (error instanceof GraftError && error.exitCode === ExitCode.conflict) || error instanceof MissingCommandError;
  const spec = ctx.graph.tasks[name]!;
  const next = attemptFailed(final ? { ...spec, retries: 0 } : spec, record, { now: Date.now(), error: error.message, hostLost }, retryPolicy(ctx));
  ctx.write([{ from: record.state, record: final ? { ...next, state: 'failed' } : next }]);
  if (agent && !hostLost) await revokeAgent(ctx, agent);
}

/** A budget of the task was already spent when its attempt was to start: it fails at once, for good. */
function failForBudget(ctx: AttemptContext, name: string, why: string): void {
  const record = ctx.runs.getTask(ctx.session.id, name);
  if (!record || record.state !== 'starting') return;
  const next = attemptFailed({ ...ctx.graph.tasks[name]!, retries: 0 }, record, { now: Date.now(), error: `budget-exceeded: ${why}` }, retryPolicy(ctx));
  ctx.write([{ from: record.state, record: { ...next, state: 'failed', reason: 'budget-exceeded' } }]);
}

/** Revokes an attempt's agent: its gateway token, then its key, account and files on the host. */
export async function revokeAgent(ctx: Pick<AttemptContext, 'runtime' | 'session' | 'options'>, agent: AgentRecord): Promise<void> {
  ctx.options.gateway?.revoke(agent.name);
  const current = ctx.runtime.store.getAgent(ctx.session.id, agent.name) ?? agent;
  await removeAgent(ctx.runtime, ctx.session, current).catch((error: Error) =>
    ctx.runtime.events.emit({ code: 'warning', level: 'warn', message: error.message, session: ctx.session.id, host: agent.host }),
  );
}
