/**
 * The controller: runs a session's graph to the end. Each tick it reads the task records (other
 * commands change them too: approvals, cancels), lets the scheduler decide, writes every
 * transition before acting on it, and starts each placed task's attempt: agent, worktree,
 * harness, process, result. It holds nothing the records do not: killed at any point, a new
 * controller (`graft resume`) re-attaches to what runs and finishes the rest.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { failpoint } from '../failpoints.js';
import { join } from 'node:path';
import { learnAgentSecrets } from '../hosts/agent-access.js';
import { AccountPool } from '../agents/account-pool.js';
import { createAgent } from '../agents/create-agent.js';
import type { AgentRecord } from '../model/agent.js';
import { describeNetwork, egressRules, type EgressRules } from '../hosts/egress.js';
import { describeLimitHit, mergeLimits } from '../hosts/limits.js';
import { type ResourceLimits } from '../model/guardrails.js';
import { removeAgent } from '../agents/remove-agent.js';
import { ExitCode, GraftError, SshError, UsageError } from '../errors.js';
import { harnessFor, type HarnessSettings } from '../harnesses/index.js';
import type { HostRecord } from '../model/host.js';
import { sessionFiles, type GraftRuntime } from '../runtime.js';
import { adminEndpoint } from '../hosts/endpoints.js';
import { RunStore, type RunGraph } from '../state/run-store.js';
import type { SessionRow } from '../state/store.js';
import { agentBranch } from '../workspace/agent-worktree.js';
import { pullAgentWork } from '../workspace/pull-work.js';
import { criticalPathLengths, eligibleHosts } from '../graph/validate.js';
import type { AgentSpec, TaskSpec } from '../model/graph.js';
import { attemptFailed, cancelAll, decide, defaultRetryPolicy, outcome, place, settle, starting, stranded, succeeded, waitingGate, type RetryPolicy, type RunOutcome, type SchedulerHost } from '../graph/scheduler.js';
import type { TaskRecord } from '../model/task.js';
import type { GatewayAccess } from '../harnesses/harness.js';
import { gatewayHeldSecrets, usesGateway, type GatewayLink } from './gateway-link.js';
import { StrandedWatch } from './stranded-attempts.js';
import { fetchTaskLog } from './task-log.js';
import { killTaskProcess, launcherScript, MissingCommandError, reattachScript, runTaskProcess, type ProcessEnd } from './task-process.js';

export interface ControllerOptions {
  retryPolicy?: RetryPolicy;
  /** How long a host that stopped answering is given to come back before its tasks move elsewhere. */
  hostGraceMs?: number;
  /** Stopping detaches: tasks keep running on their hosts, `graft resume` picks them up. */
  signal?: AbortSignal;
  /** Extra PATH entries for a task on a host (where the agent channel's helper is). */
  taskPath?: (host: string) => string[];
  /** The agent channel's URL on a host, written into the agent's URL file as its task starts. */
  channelUrl?: (host: HostRecord) => Promise<string>;
  /** The loopback ports of graft's services (channel, gateway) on a host that an agent made from the template uses: its network rules let it reach them. */
  servicePorts?: (host: HostRecord, agent: AgentSpec) => Promise<number[]>;
  /** GRAFT_AGENT_PATH and the vendor API base URLs, read from the controller's environment. */
  harnessSettings?: HarnessSettings;
  /** The session's model gateway, when some agent uses it (controller/gateway-link.ts). */
  gateway?: Pick<GatewayLink, 'access' | 'revoke' | 'spent'>;
}

export type ControllerResult = RunOutcome | 'detached';

const tickMs = 200;

export class Controller {
  private readonly runs: RunStore;
  private readonly graph: RunGraph;
  private readonly inflight = new Map<string, Promise<void>>();
  private readonly unhealthy = new Set<string>();
  private readonly priority: Map<string, number>;
  private readonly eligibleCache = new Map<string, string[]>();
  private wake: () => void = () => undefined;
  private readonly watchAbort = new AbortController();
  private readonly stranded: StrandedWatch;
  /** Hosts' warm pools of agent accounts (hosts with per-agent accounts). */
  private readonly accounts: AccountPool;

  constructor(
    private readonly runtime: GraftRuntime,
    private readonly session: SessionRow,
    private readonly options: ControllerOptions = {},
  ) {
    this.runs = new RunStore(runtime.store);
    const run = this.runs.getRun(session.id);
    if (!run) throw new GraftError(`session ${session.id} has no graph run`, { code: 'NO_RUN', exitCode: ExitCode.notFound, actions: ['Start one with: graft run GRAPH.yaml'] });
    this.graph = run.graph;
    this.priority = criticalPathLengths(this.graph);
    this.accounts = new AccountPool(runtime, session.id);
    // A lost host that answers again has its stranded attempts wound up, and takes tasks again.
    this.stranded = new StrandedWatch(runtime, session, this.runs, (host) => this.unhealthy.delete(host));
    options.signal?.addEventListener('abort', () => {
      this.watchAbort.abort(new Error('controller stopped'));
      this.wake();
    });
  }

  /** Runs until every task is finished, or until stopped (detached). */
  async run(): Promise<ControllerResult> {
    this.runs.setRunStatus(this.session.id, 'running');
    await this.revokeLeftovers();
    this.adoptInFlight();
    for (;;) {
      if (this.options.signal?.aborted) {
        await Promise.allSettled(this.inflight.values());
        await this.stranded.stop();
        await this.accounts.stop();
        this.emitRun('run.detached', `controller stopped; ${this.countActive()} task(s) keep running on their hosts. Continue with: graft resume --session ${this.session.id}`);
        return 'detached';
      }
      const tasks = this.tasks();
      this.step(tasks);
      this.stranded.poll(tasks.values());
      const result = outcome(this.tasks().values());
      if (result !== 'running' && this.inflight.size === 0) {
        await this.stranded.stop();
        await this.accounts.stop();
        this.runs.setRunStatus(this.session.id, result);
        this.emitRun('run.finished', `run ${result}`, { outcome: result, tasks: this.runs.listTasks(this.session.id) });
        return result;
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, tickMs);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  private tasks(): Map<string, TaskRecord> {
    return new Map(this.runs.listTasks(this.session.id).map((r) => [r.name, r]));
  }

  private countActive(): number {
    return [...this.tasks().values()].filter((r) => r.state === 'running' || r.state === 'starting').length;
  }

  /** One scheduling pass: settle, gates, stranded tasks, placements. */
  private step(tasks: Map<string, TaskRecord>): void {
    const now = new Date().toISOString();
    this.write(settle(this.graph, tasks).map((record) => ({ from: 'pending' as const, record })), tasks);
    if (this.graph.autoApprove) {
      for (const record of tasks.values()) {
        const gate = waitingGate(record);
        if (gate) this.write([{ from: record.state, record: decide(this.spec(record.name), record, { decision: 'approved', by: 'auto-approve', at: now, gate }) }], tasks);
      }
      this.write(settle(this.graph, tasks).map((record) => ({ from: 'pending' as const, record })), tasks);
    }
    const input = { graph: this.graph, tasks, hosts: this.hosts(), eligible: (t: TaskSpec) => this.eligible(t), priority: this.priority, now: Date.now() };
    this.write(stranded(input, now).map((record) => ({ from: 'ready' as const, record })), tasks);
    // A task whose last attempt is still being wound up (its agent revoked) waits for that.
    for (const placement of place({ ...input, hold: new Set(this.inflight.keys()) })) {
      const record = tasks.get(placement.task)!;
      const next = starting(record, placement.host, this.agentNameFor(record), now);
      if (this.write([{ from: 'ready', record: next }], tasks).length === 0) continue;
      this.track(next.name, () => this.attempt(next));
    }
    this.sizePools(tasks);
  }

  /**
   * Each host with per-agent accounts keeps ready accounts for the tasks still to start: its
   * share of them, at least a slot's worth while any is left, at most two rounds of its slots.
   */
  private sizePools(tasks: Map<string, TaskRecord>): void {
    const waiting = [...tasks.values()].filter((r) => r.state === 'pending' || r.state === 'ready' || r.state === 'awaiting-approval').length;
    const hosts = this.runtime.store.listHosts(this.session.id).filter((h) => h.state === 'up' && h.isolation === 'accounts' && !this.unhealthy.has(h.name));
    for (const host of hosts) this.accounts.setTarget(host, waiting === 0 ? 0 : Math.min(2 * host.slots, Math.ceil(waiting / hosts.length)));
  }

  /**
   * Writes transitions (compare-and-set) and announces those that landed. Records are redacted
   * first: an error can quote what a task printed, and the state store keeps no secret value.
   */
  private write(changes: { from: TaskRecord['state']; record: TaskRecord }[], tasks?: Map<string, TaskRecord>): TaskRecord[] {
    if (changes.length === 0) return [];
    const written = this.runs.transition(this.session.id, changes.map(({ from, record }) => ({ from, record: this.runtime.redactor.redactDeep(record) })));
    for (const record of written) {
      tasks?.set(record.name, record);
      this.announce(record);
    }
    return written;
  }

  private announce(record: TaskRecord): void {
    const where = record.host ? ` on ${record.host}` : '';
    const detail = record.state === 'failed' || record.state === 'blocked' || (record.state === 'ready' && record.error) ? `: ${record.error}` : record.summary && record.state === 'succeeded' ? `: ${record.summary}` : '';
    const level = record.state === 'failed' ? 'warn' : 'info';
    this.runtime.events.emit({
      code: 'task.changed',
      level,
      message: `${record.name} ${record.state === 'ready' && record.attempt > 0 ? `will retry (attempt ${record.attempt + 1})` : record.state}${where}${detail}`,
      session: this.session.id,
      host: record.host,
      data: { task: record.name, state: record.state, attempt: record.attempt, host: record.host, branch: record.branch, startedAt: record.startedAt, endedAt: record.endedAt },
    });
  }

  private emitRun(code: 'run.finished' | 'run.detached' | 'run.resumed', message: string, data?: Record<string, unknown>): void {
    this.runtime.events.emit({ code, level: 'info', message, session: this.session.id, data });
  }

  private spec(name: string): TaskSpec {
    return this.graph.tasks[name]!;
  }

  private hosts(): SchedulerHost[] {
    return this.runtime.store
      .listHosts(this.session.id)
      .filter((h) => h.state === 'up')
      .map((h) => ({ name: h.name, slots: h.slots, healthy: !this.unhealthy.has(h.name) }));
  }

  private host(name: string): HostRecord {
    const host = this.runtime.store.listHosts(this.session.id).find((h) => h.name === name);
    if (!host) throw new GraftError(`host ${name} is not in session ${this.session.id}`, { code: 'HOST_GONE', exitCode: ExitCode.state });
    return host;
  }

  private eligible(task: TaskSpec): string[] {
    let names = this.eligibleCache.get(task.name);
    if (!names) {
      const hosts = this.runtime.store.listHosts(this.session.id).filter((h) => h.state === 'up');
      try {
        names = eligibleHosts(this.graph, task, hosts);
      } catch {
        names = [];
      }
      this.eligibleCache.set(task.name, names);
    }
    return names;
  }

  /** Runs `work` for a task once at a time, and wakes the loop when it ends. */
  private track(name: string, work: () => Promise<void>): void {
    if (this.inflight.has(name)) return;
    const done = work()
      .catch((error: Error) => this.runtime.events.emit({ code: 'warning', level: 'warn', message: `${name}: ${error.message}`, session: this.session.id }))
      .finally(() => {
        this.inflight.delete(name);
        this.wake();
      });
    this.inflight.set(name, done);
  }

  /** After a crash between recording a result and revoking its agent: that agent goes now. */
  private async revokeLeftovers(): Promise<void> {
    const stranded = this.stranded.agents();
    for (const record of this.tasks().values()) {
      if (record.state === 'starting' || record.state === 'running' || !record.agent || stranded.has(record.agent)) continue;
      const agent = this.runtime.store.getAgent(this.session.id, record.agent);
      if (agent && (agent.state === 'ready' || agent.state === 'creating')) await this.revoke(agent);
    }
  }

  /** After a crash: every task the records say may be in flight is watched (or finished) again. */
  private adoptInFlight(): void {
    for (const record of this.tasks().values()) {
      if (record.state === 'starting' || record.state === 'running') this.track(record.name, () => this.attempt(record));
    }
  }

  /**
   * One attempt, from whatever point the record says it reached: make the agent if it is not
   * there, launch (a second launch finds the first's pid), watch, fetch the result.
   */
  private async attempt(record: TaskRecord): Promise<void> {
    const spec = this.spec(record.name);
    const host = this.host(record.host!);
    let agent: AgentRecord | undefined;
    let timedOut = false;
    let timer: NodeJS.Timeout | undefined;
    try {
      // An attempt whose budget is already spent would be refused its first request: it does not start.
      const spent = record.state === 'starting' ? this.options.gateway?.spent(record.name) : undefined;
      if (spent) return await this.failForBudget(record.name, spent);
      agent = await this.ensureAgent(record, spec, host);
      if (!agent) return;
      const gateway = record.state === 'running' ? undefined : await this.options.gateway?.access(record, host);
      const script = record.state === 'running' ? reattachScript() : this.launcher(record, spec, agent, await this.options.channelUrl?.(host), gateway);
      // The timeout counts from when the process started: a slow host may take long to make the
      // agent, and that time is not the task's.
      const since = record.state === 'running' ? Date.parse(record.runningAt ?? record.startedAt ?? new Date().toISOString()) : undefined;
      const arm = (started: number) => {
        if (!spec.timeoutMs || timer) return;
        timer = setTimeout(() => {
          timedOut = true;
          const pid = this.runs.getTask(this.session.id, record.name)?.pid;
          if (pid) killTaskProcess(this.runtime.pool, this.session.id, agent!, host, pid).catch(() => undefined);
        }, Math.max(0, spec.timeoutMs - (Date.now() - started)));
      };
      if (since !== undefined) arm(since);
      const end = await this.watch(record, agent, host, script, () => arm(Date.now()));
      if (end === 'detached') return;
      clearTimeout(timer);
      await this.finish(record.name, agent, host, end, timedOut ? `timed out after ${Math.round(spec.timeoutMs! / 1000)} s; its process group was killed` : undefined);
    } catch (error) {
      clearTimeout(timer);
      if (this.options.signal?.aborted) return;
      await this.failAttempt(record.name, error as Error, agent);
    }
  }

  /**
   * Agents are named after their tasks. The name is free again once the previous attempt's agent
   * is removed; one that is not (left on a lost host, or not revocable) keeps it, and the attempt
   * gets a name of its own (its result still lands on the task's branch).
   */
  private agentNameFor(record: TaskRecord): string {
    const free = (name: string) => {
      const agent = this.runtime.store.getAgent(this.session.id, name);
      return !agent || agent.state === 'removed';
    };
    if (free(record.name)) return record.name;
    let n = record.attempt + 1;
    while (!free(`${record.name.slice(0, 12)}-a${n}`)) n += 1;
    return `${record.name.slice(0, 12)}-a${n}`;
  }

  /** The attempt's agent: made now, or found from before a crash. Undefined when the attempt was given back. */
  private async ensureAgent(record: TaskRecord, spec: TaskSpec, host: HostRecord): Promise<AgentRecord | undefined> {
    const name = record.agent!;
    const existing = this.runtime.store.getAgent(this.session.id, name);
    if (existing?.state === 'ready' && existing.createdAt >= (record.startedAt ?? '')) {
      // Made by an earlier controller: its secret values are read back, so its output is redacted here too.
      await learnAgentSecrets(this.runtime.pool, this.session.id, existing, host, this.runtime.redactor);
      return existing;
    }
    if (record.state === 'running') throw new Error(`its agent ${name} is gone (${existing?.state ?? 'never recorded'})`);
    // A half-made agent (crash during creation) or one of an earlier attempt goes first.
    if (existing && existing.state !== 'removed') await removeAgent(this.runtime, this.session, existing).catch(() => undefined);
    const agentSpec = this.graph.agents[spec.agent]!;
    const from = spec.needs.length === 0 ? [this.graph.baseCommit] : spec.needs.map((n) => this.runs.getTask(this.session.id, n)!.tip!);
    // A vendor key the gateway holds for the agent never goes to its host.
    const held = new Set(gatewayHeldSecrets(agentSpec));
    const { agent } = await createAgent(this.runtime, this.session, {
      name,
      on: host.name,
      secrets: [...new Set([...agentSpec.secrets, ...spec.secrets])].filter((s) => !held.has(s)),
      secretsFile: this.runtime.env.GRAFT_SECRETS_FILE,
      // Its key allows a terminal so a person can join the task's tmux session (graft attach).
      interactive: true,
      worktree: { repo: this.graph.repo, from, uncommitted: 'ignore' },
      pool: this.accounts,
      guardrails: { egress: await this.egressFor(agentSpec, spec, host), limits: this.limitsFor(agentSpec, spec, host) },
    });
    // A retry's branch replaces the earlier attempt's, which graft set: say so, so the pull may move it.
    const previousTip = this.runs.getTask(this.session.id, record.name)?.tip;
    if (previousTip && agent.workspace) {
      agent.workspace.pulledTip = previousTip;
      this.runtime.store.putAgent(this.session.id, agent);
    }
    return agent;
  }

  /**
   * The network rules of a task's agent: the task's `network`, else its template's, else
   * `gateway` (`open` for an LLM agent that holds its vendor key: it calls the vendor itself).
   * Agents that share the login account have no uid of their own to key rules on.
   */
  private async egressFor(agentSpec: AgentSpec, spec: TaskSpec, host: HostRecord): Promise<EgressRules | undefined> {
    const policy = spec.network ?? agentSpec.network ?? (agentSpec.harness !== 'shell' && !usesGateway(agentSpec) ? 'open' : 'gateway');
    if (host.isolation === 'shared-account') {
      if (policy === 'open' || (spec.network ?? agentSpec.network) === undefined) return undefined;
      throw new UsageError(`${spec.name}: network: ${describeNetwork(policy)} cannot be enforced on ${host.name}: its agents share the login account ${host.user} (no root or sudo), and the rules are keyed by an agent's own uid`, [
        `Give graft root or sudo on ${host.name}, or set network: open on task ${spec.name} or agent ${spec.agent}.`,
      ]);
    }
    if (policy === 'open' || policy === 'none') return policy;
    return egressRules(policy, (await this.options.servicePorts?.(host, agentSpec)) ?? []);
  }

  /** The resource limits of a task's agent: its template's, key by key replaced by the task's. */
  private limitsFor(agentSpec: AgentSpec, spec: TaskSpec, host: HostRecord): ResourceLimits | undefined {
    const limits = mergeLimits(agentSpec.limits, spec.limits);
    if (limits && host.isolation === 'shared-account') {
      throw new UsageError(`${spec.name}: limits cannot be enforced on ${host.name}: its agents share the login account ${host.user} (no root or sudo), and graft keys an agent's cgroups by its own account`, [
        `Give graft root or sudo on ${host.name}, or drop limits from task ${spec.name} and agent ${spec.agent}.`,
      ]);
    }
    return limits;
  }

  private launcher(record: TaskRecord, spec: TaskSpec, agent: AgentRecord, channelUrl: string | undefined, gateway: GatewayAccess | undefined): string {
    const agentSpec = this.graph.agents[spec.agent]!;
    const upstream = spec.needs.map((n) => {
      const r = this.runs.getTask(this.session.id, n)!;
      return { task: n, branch: r.branch ?? '', summary: r.summary };
    });
    const invocation = harnessFor(agentSpec.harness).invoke({
      session: this.session.id,
      task: record.name,
      agent: agentSpec,
      prompt: spec.prompt,
      command: spec.command ?? agentSpec.command,
      branch: agent.workspace!.branch,
      workdir: agent.workspace!.workdir,
      upstream,
      apiBaseUrl: this.options.harnessSettings?.apiBaseUrls[agentSpec.harness],
      ...(gateway ? { gateway } : {}),
    });
    const granted = [...agent.secrets, ...(usesGateway(agentSpec) ? [...agentSpec.secrets, ...spec.secrets] : [])];
    const missing = invocation.credentials.length > 0 && !invocation.credentials.some((c) => granted.includes(c));
    if (missing) {
      this.runtime.events.emit({ code: 'warning', level: 'warn', message: `${record.name}: the ${agentSpec.harness} harness authenticates with ${invocation.credentials.join(' or ')}, and none is granted to agent ${spec.agent}: add it to its secrets`, session: this.session.id });
    }
    return launcherScript({
      invocation,
      workdir: agent.workspace!.workdir,
      harness: agentSpec.harness,
      path: [...(this.options.taskPath?.(agent.host) ?? []), ...(this.options.harnessSettings?.agentPath ?? [])],
      channelUrl,
      env: { GRAFT_SESSION: this.session.id, GRAFT_TASK: record.name, GRAFT_AGENT: agent.name, GRAFT_BRANCH: agent.workspace!.branch, GRAFT_WORKDIR: agent.workspace!.workdir, GRAFT_ATTEMPT: String(record.attempt), ...invocation.env },
    });
  }

  /**
   * Watches the process to its end. A connection lost while it runs is not a failure yet: the
   * host gets a grace period to answer again, and the process is re-attached to if it does.
   */
  private async watch(record: TaskRecord, agent: AgentRecord, host: HostRecord, script: string, onRunning: () => void): Promise<ProcessEnd | 'detached'> {
    let current = script;
    for (;;) {
      try {
        const onPid = (pid: number) => {
          failpoint('task.launched');
          this.markRunning(record.name, pid);
          onRunning();
        };
        return await runTaskProcess(this.runtime.pool, this.session.id, agent, host, current, onPid, this.watchAbort.signal);
      } catch (error) {
        if (this.options.signal?.aborted) return 'detached';
        if (!(error instanceof SshError) || !(await this.hostAnswersAgain(host))) throw error;
        current = reattachScript();
      }
    }
  }

  private markRunning(name: string, pid: number): void {
    const record = this.runs.getTask(this.session.id, name);
    if (!record || (record.state === 'running' && record.pid === pid)) return;
    this.write([{ from: record.state, record: { ...record, state: 'running', pid, runningAt: new Date().toISOString() } }]);
  }

  /** Polls the host's admin login until it answers or the grace period ends. */
  private async hostAnswersAgain(host: HostRecord): Promise<boolean> {
    const deadline = Date.now() + (this.options.hostGraceMs ?? 60_000);
    this.runtime.events.emit({ code: 'warning', level: 'warn', message: `${host.name} stopped answering; waiting up to ${Math.round((deadline - Date.now()) / 1000)} s for it`, session: this.session.id, host: host.name });
    while (Date.now() < deadline && !this.options.signal?.aborted) {
      try {
        await this.runtime.pool.exec(adminEndpoint(host, this.runtime.env), 'true', { timeoutMs: 5_000 });
        return true;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 1_000));
      }
    }
    this.unhealthy.add(host.name);
    return false;
  }

  /** The process ended: keep its output, fetch its work, then record the result, then revoke the agent. */
  private async finish(name: string, agent: AgentRecord, host: HostRecord, end: ProcessEnd, timeout?: string): Promise<void> {
    const record = this.runs.getTask(this.session.id, name)!;
    // The agent's output is kept redacted: it echoes its secrets as often as not.
    const log = this.runtime.redactor.redactBytes(await fetchTaskLog(this.runtime.pool, this.session.id, agent, host));
    const dir = join(sessionFiles(this.runtime, this.session.id).dir, 'tasks', name);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await writeFile(join(dir, `attempt-${record.attempt}.log`), log, { mode: 0o600 });
    // Every attempt's tip is kept; a retry's agent (named apart) also moves the task's branch.
    const taskBranch = agentBranch(this.session.id, name);
    const alsoRefs = [`refs/graft/${this.session.id}/attempts/${name}/${record.attempt}`, ...(agent.workspace!.branch !== taskBranch ? [`refs/heads/${taskBranch}`] : [])];
    const { result, workspace } = await pullAgentWork(this.runtime, this.session.id, agent, host, { alsoRefs });
    this.runtime.store.putAgent(this.session.id, { ...agent, workspace });
    failpoint('task.result-fetched');
    result.branch = taskBranch;
    const fresh = this.runs.getTask(this.session.id, name)!;
    const outcomeFields = { exitCode: end.exitCode, branch: result.branch, tip: result.tip, summary: fresh.summary };
    const reported = fresh.reported;
    const budget = fresh.budgetExceeded;
    const ok = !budget && !timeout && !end.vanished && (reported === 'done' || (reported === undefined && end.exitCode === 0));
    const now = Date.now();
    // A limit the processes hit is why the attempt failed, whatever the harness made of it.
    const limit = !ok && !budget && !timeout ? end.limit : undefined;
    const limits = limit && mergeLimits(this.graph.agents[this.spec(name).agent]?.limits, this.spec(name).limits);
    const error = budget ? `budget-exceeded: ${budget}` : (timeout ?? (limit ? describeLimitHit(limit, limits) : reported === 'fail' ? `the agent reported failure: ${fresh.summary ?? ''}` : end.vanished ? 'its process disappeared without an exit status' : `exit ${end.exitCode}`));
    // A spent budget is final: no retry may spend more.
    const next = ok
      ? succeeded(this.spec(name), fresh, new Date(now).toISOString(), outcomeFields)
      : attemptFailed(budget ? { ...this.spec(name), retries: 0 } : this.spec(name), { ...fresh, ...outcomeFields }, { now, error, exitCode: end.exitCode }, this.retryPolicy());
    this.write([{ from: fresh.state, record: { ...next, reported: undefined, budgetExceeded: undefined, ...(budget ? { reason: 'budget-exceeded' as const } : limit ? { reason: limit } : {}) } }]);
    failpoint('task.result-recorded');
    // What waited on this result starts now, while its agent is being revoked.
    this.wake();
    await this.revoke(agent);
  }

  private retryPolicy(): RetryPolicy {
    return this.options.retryPolicy ?? defaultRetryPolicy;
  }

  private async failAttempt(name: string, error: Error, agent?: AgentRecord): Promise<void> {
    const record = this.runs.getTask(this.session.id, name);
    if (!record || (record.state !== 'starting' && record.state !== 'running')) return;
    const hostLost = record.host !== undefined && this.unhealthy.has(record.host);
    // A merge conflict or a missing CLI fails the same way every time: no retry.
    const final = (error instanceof GraftError && error.exitCode === ExitCode.conflict) || error instanceof MissingCommandError;
    const spec = final ? { ...this.spec(name), retries: 0 } : this.spec(name);
    const next = attemptFailed(spec, record, { now: Date.now(), error: error.message, hostLost }, this.retryPolicy());
    this.write([{ from: record.state, record: final ? { ...next, state: 'failed' } : next }]);
    if (agent && !hostLost) await this.revoke(agent);
  }

  /** A budget of the task was already spent when its attempt was to start: it fails at once, for good. */
  private async failForBudget(name: string, why: string): Promise<void> {
    const record = this.runs.getTask(this.session.id, name);
    if (!record || record.state !== 'starting') return;
    const next = attemptFailed({ ...this.spec(name), retries: 0 }, record, { now: Date.now(), error: `budget-exceeded: ${why}` }, this.retryPolicy());
    this.write([{ from: record.state, record: { ...next, state: 'failed', reason: 'budget-exceeded' } }]);
  }

  /** The gateway refused the task a request for a spent budget: its process group is stopped, and the attempt ends as failed (finish). */
  stopForBudget(name: string): void {
    const record = this.runs.getTask(this.session.id, name);
    const agent = record?.agent ? this.runtime.store.getAgent(this.session.id, record.agent) : undefined;
    if (!record?.pid || !agent || agent.state !== 'ready' || !record.host) return;
    killTaskProcess(this.runtime.pool, this.session.id, agent, this.host(record.host), record.pid).catch((error: Error) =>
      this.runtime.events.emit({ code: 'warning', level: 'warn', message: `${name}: could not stop it after its budget was spent: ${error.message}`, session: this.session.id, host: record.host }),
    );
  }

  private async revoke(agent: AgentRecord): Promise<void> {
    this.options.gateway?.revoke(agent.name);
    const current = this.runtime.store.getAgent(this.session.id, agent.name) ?? agent;
    await removeAgent(this.runtime, this.session, current).catch((error: Error) =>
      this.runtime.events.emit({ code: 'warning', level: 'warn', message: error.message, session: this.session.id, host: agent.host }),
    );
  }

  /**
   * Stops the run for good: kills every task's process group, fetches what they did, marks
   * everything unfinished cancelled. Used by `graft down`, with no other controller alive.
   */
  async cancel(reason: string): Promise<void> {
    const tasks = this.tasks();
    for (const record of tasks.values()) {
      if (record.state !== 'running' && record.state !== 'starting') continue;
      const agent = record.agent && this.runtime.store.getAgent(this.session.id, record.agent);
      if (!agent || agent.state !== 'ready') continue;
      try {
        const host = this.host(record.host!);
        if (record.pid) await killTaskProcess(this.runtime.pool, this.session.id, agent, host, record.pid);
        const { result, workspace } = await pullAgentWork(this.runtime, this.session.id, agent, host);
        this.runtime.store.putAgent(this.session.id, { ...agent, workspace });
        this.runs.updateTask(this.session.id, record.name, (r) => ({ ...r, branch: result.branch, tip: result.tip }));
      } catch (error) {
        this.runtime.events.emit({ code: 'warning', level: 'warn', message: `${record.name}: could not stop it or fetch its work: ${(error as Error).message}`, session: this.session.id, host: record.host });
      }
    }
    const now = new Date().toISOString();
    const fresh = this.tasks();
    this.write(cancelAll(fresh.values(), now, reason).map((record) => ({ from: fresh.get(record.name)!.state, record })));
    this.runs.setRunStatus(this.session.id, 'cancelled');
  }
}
