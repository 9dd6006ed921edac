import { mkdir, rm } from 'node:fs/promises';
import { failpoint } from '../failpoints.js';
import { UsageError } from '../errors.js';
import { HostShell } from '../hosts/host-shell.js';
import { issueAgentCertificate, issueWorkloadJwt } from '../identity/index.js';
import type { GraftRuntime } from '../runtime.js';
import { sessionFiles } from '../runtime.js';
import { resolveSecrets, secretsEnvFile } from '../secrets/secret-source.js';
import { generateEd25519KeyPair, writeKeyPairFiles } from '../ssh/index.js';
import type { SessionRow } from '../state/store.js';
import { agentAccountName, checkAgentName, sharedAgentMarker } from '../hosts/agent-names.js';
import { placeAgent } from './agent-placement.js';
import type { HostRecord } from '../model/host.js';
import type { AgentRecord, AgentWorkspace } from '../model/agent.js';
import { createAgentWorktree, fillHostCache, prepareWorktree, worktreeSetup, type WorktreeRequest } from '../workspace/agent-worktree.js';
import type { TransferStats } from '../workspace/host-cache.js';
import { authorizedKeyLine } from '../hosts/authorized-key.js';
import { defaultLimits } from '../hosts/limits.js';
import type { AccountPool } from './account-pool.js';
import { HostAdmin, type AgentFile, type Guardrails } from '../hosts/host-admin.js';
import { PoolStore } from '../state/pool-store.js';
import { removeAgentFromHost } from './remove-agent.js';
import { ensureSessionAuthority } from './session-identity.js';

export interface CreateAgentRequest {
  name: string;
  /** Host selector; the least loaded matching host is used. */
  on?: string;
  /** The host, already placed (a graph task, by the scheduler): `on` is not looked at. */
  host?: HostRecord;
  secrets: string[];
  secretsFile?: string;
  /** Allow a pty on its key, for `graft ssh`. */
  interactive: boolean;
  /** Also write a workload JWT for this audience into its home. */
  jwtAudience?: string;
  /** Give it a git worktree on branch graft/<session>/<name>, from these commit-ishes of `repo`. */
  worktree?: WorktreeRequest;
  /** Take its account from this warm pool (hosts with per-agent accounts) instead of making one now. */
  pool?: AccountPool;
  /** Network rules and resource limits for its account, made before its key is authorized (hosts with per-agent accounts); absent: none. */
  guardrails?: Guardrails;
}

/**
 * Creates an isolated agent: a fresh ed25519 key (restrict, from=, expiry-time=), its own Unix
 * account and 0700 home where the host allows (else a private directory under the shared login,
 * flagged as such), an X.509 identity and optional JWT from the session authority, and only the
 * secrets granted to it. The record is written before anything is created on the host, so a
 * crash leaves something `agent rm` or `down` can find.
 */
export async function createAgent(
  runtime: GraftRuntime,
  session: SessionRow,
  request: CreateAgentRequest,
): Promise<{ agent: AgentRecord; transfer?: TransferStats }> {
  const name = checkAgentName(session.id, request.name);
  const alreadyThere = (existing: AgentRecord) =>
    new UsageError(`agent ${name} already exists in session ${session.id} (${existing.state})`, [`Remove it first: graft agent rm ${name}`]);
  const existing = runtime.store.getAgent(session.id, name);
  if (existing && existing.state !== 'removed') throw alreadyThere(existing);
  const secrets = resolveSecrets(request.secrets, { file: request.secretsFile, env: runtime.env });
  // A graph's task comes placed by the scheduler; `graft agent create` places its agent here.
  const host = request.host ?? placeAgent(runtime.store.listHosts(session.id), runtime.store.listAgents(session.id), request.on);
  // Its login is dialed while git reads the repository here; a failure shows where it is used.
  void Promise.resolve()
    .then(() => HostShell.admin(runtime.pool, host, runtime.env).connection())
    .catch(() => undefined);
  const worktree = request.worktree && (await prepareWorktree(request.worktree));
  for (const value of secrets.values()) runtime.redactor.add(value);
  if (host.isolation === 'shared-account') {
    runtime.events.emit({
      code: 'warning',
      level: 'warn',
      message: `${name}: ${host.name} gives graft no root or sudo, so the agent shares the login account ${host.user} (isolation: shared-account): it can read and change everything that account can — other agents' files, secrets and key lines, and graft's own files there (on this machine, GRAFT_HOME too)${host.meta.processPrivacy === 'hidepid' ? "; the host's process privacy was asked for but cannot hide one account's processes from itself" : ''}`,
      session: session.id,
      host: host.name,
    });
  }

  const files = sessionFiles(runtime, session.id);
  const keyFile = files.agentKey(name);
  const shared = host.isolation === 'shared-account';
  const agent: AgentRecord = {
    name,
    host: host.name,
    account: shared ? host.user : agentAccountName(session.id, name),
    isolation: host.isolation,
    // The host tool reports the real path once the account or directory exists.
    home: shared ? `.graft/agents/${session.id}-${name}` : '',
    state: 'creating',
    keyFile,
    publicKey: '',
    keyExpiresAt: session.expiresAt,
    keyFrom: '',
    interactive: request.interactive,
    spiffeId: '',
    certificateNotAfter: '',
    secrets: [...secrets.keys()],
    createdAt: new Date().toISOString(),
  };
  // The early check above spares the work; this one, in a transaction, settles a race.
  const raced = runtime.store.claimAgent(session.id, agent);
  if (raced) throw alreadyThere(raced);
  runtime.events.emit({ code: 'agent.creating', level: 'debug', message: `creating agent ${name} on ${host.name}`, session: session.id, host: host.name });

  const admin = new HostAdmin(runtime.pool, host, runtime.env);
  // A pool account is claimed (in the state store) while the key and certificate are made.
  const claiming = shared ? undefined : request.pool?.claim(host, name);
  claiming?.catch(() => undefined);
  // The repository's objects travel to the host while its account is being made.
  const filled = worktree && fillHostCache(runtime, session.id, host, worktree, name);
  filled?.catch(() => undefined);
  // Where the time goes, reported with the created event (benchmarks read it from the session log).
  const timingsMs: Record<string, number> = {};
  let mark = performance.now();
  const lap = (phase: string) => {
    const now = performance.now();
    timingsMs[phase] = Math.round((now - mark) * 10) / 10;
    mark = now;
  };
  // Agents sharing the login get their directory (and every agent learns where the controller
  // connects from) while the key and certificate are made here.
  const address = admin.controllerAddress();
  const sharedDir = shared ? admin.run(['shared-create', agent.home], undefined, false) : undefined;
  let worktreeMade: Promise<{ workspace: AgentWorkspace; transfer: TransferStats }> | undefined;
  for (const pending of [address, sharedDir]) pending?.catch(() => undefined);
  // The worktree is made as soon as the account exists (as the agent, through the host tool).
  const startWorktree = () => {
    worktreeMade = worktree && createAgentWorktree(runtime, session.id, agent, host, worktree, filled!);
    worktreeMade?.catch(() => undefined);
  };
  try {
    const pair = generateEd25519KeyPair(`graft-agent:${session.id}:${name}`);
    await mkdir(files.agentDir(name), { recursive: true, mode: 0o700 });
    await writeKeyPairFiles(keyFile, pair);
    agent.publicKey = pair.publicKey;
    lap('sshKey');
    const authority = await ensureSessionAuthority(session, files.dir);
    const certificate = await issueAgentCertificate(authority, { agentName: name });
    Object.assign(agent, { spiffeId: certificate.spiffeId, certificateNotAfter: certificate.notAfter.toISOString() });
    // Team mode: another operator's controller can reach this agent if this machine dies.
    runtime.vault?.push(session.id, name);
    lap('identity');
    agent.keyFrom = await address;
    const keyLine = authorizedKeyLine({
      publicKey: pair.publicKey,
      from: agent.keyFrom,
      expiresAt: new Date(session.expiresAt),
      interactive: request.interactive,
    });

    const agentFiles: AgentFile[] = [
      { path: '.graft/identity/cert.pem', content: certificate.certPem },
      { path: '.graft/identity/key.pem', content: certificate.keyPem! },
      { path: '.graft/identity/ca.pem', content: authority.caCertPem },
    ];
    if (request.jwtAudience)
      agentFiles.push({ path: '.graft/identity/token.jwt', content: await issueWorkloadJwt(authority, { agentName: name, audience: request.jwtAudience }) });
    for (const [secret, value] of secrets) agentFiles.push({ path: `.graft/secrets/${secret}`, content: value });
    if (secrets.size > 0) agentFiles.push({ path: '.graft/secrets.env', content: secretsEnvFile(secrets) });
    if (shared) {
      agent.home = await sharedDir!;
      startWorktree();
      await admin.run(['shared-authorize', host.meta.agentKeysFile ?? '.ssh/authorized_keys', sharedAgentMarker(session.id, name)], keyLine, false);
      // One after another (a host's sshd allows 10 sessions per connection by default, and the
      // worktree and the cache use some): they are written while the worktree is made anyway.
      for (const file of agentFiles) await admin.putAgentFile(agent, file.path, file.content);
    } else {
      await admin.ensureAgentKeyLookup();
      // How the host would enforce limits, its size and privacy, learnt once per host (`graft hosts`).
      if (!host.meta.limits) await recordHostFacts(runtime, session.id, host, admin);
      // A task's agent gets the host's default limits under its graph's (hosts/limits.ts).
      const guardrails = request.guardrails && { ...request.guardrails, limits: { ...defaultLimits(host), ...request.guardrails.limits } };
      if (claiming) {
        // The record names the account before the host hears of the claim, so whatever happens
        // next, revocation finds it.
        const claimed = await claiming;
        Object.assign(agent, { account: claimed.account, home: claimed.home, pooled: true });
        runtime.store.putAgent(session.id, agent);
        if (worktree) {
          // The worktree is made in the claim's own call, once the host's cache holds the base:
          // one sudo and one round trip per task fewer than making it apart.
          const { cache, transfer } = await filled!;
          const { script, workspace } = worktreeSetup(session.id, agent, cache, worktree);
          agent.home = await admin.claimPooled(agent.account, keyLine, agentFiles, guardrails, script);
          worktreeMade = Promise.resolve({ workspace, transfer });
        } else {
          agent.home = await admin.claimPooled(agent.account, keyLine, agentFiles, guardrails);
        }
      } else {
        // Account, key line and files in one call: a task's agent costs one round trip, not six.
        agent.home = await admin.provision(agent.account, keyLine, agentFiles, guardrails);
      }
      if (!worktreeMade) startWorktree();
    }
    lap('account');
    failpoint('agent.provisioned');
    let transfer: TransferStats | undefined;
    if (worktreeMade) {
      ({ workspace: agent.workspace, transfer } = await worktreeMade);
      lap('worktree');
      failpoint('agent.worktree-made');
    }
    agent.state = 'ready';
    runtime.store.putAgent(session.id, agent);
    runtime.events.emit({
      code: 'agent.created',
      level: 'info',
      message: `agent ${name} ready on ${host.name} as ${agent.account} (${agent.isolation}), key expires ${session.expiresAt}`,
      session: session.id,
      host: host.name,
      data: { agent: name, account: agent.account, spiffeId: agent.spiffeId, secrets: agent.secrets, timingsMs, transfer },
    });
    return { agent, transfer };
  } catch (error) {
    agent.state = 'failed';
    agent.error = (error as Error).message;
    runtime.store.putAgent(session.id, agent);
    runtime.events.emit({
      code: 'agent.failed',
      level: 'debug',
      message: `agent ${name} failed on ${host.name}: ${agent.error}`,
      session: session.id,
      host: host.name,
    });
    // A directory still being made, or a worktree, when something here failed: removed once done.
    await Promise.allSettled([sharedDir, worktreeMade]);
    // A pool account claimed for it but never given to it is spent all the same: never claimed twice.
    await claiming?.then(
      (row) => agent.pooled || new PoolStore(runtime.store).mark(session.id, host.name, [row.account], 'spent'),
      () => undefined,
    );
    await removeAgentFromHost(admin, session.id, agent).then(
      () => agent.pooled && new PoolStore(runtime.store).mark(session.id, host.name, [agent.account], 'spent'),
      () => undefined,
    );
    await rm(files.agentDir(name), { recursive: true, force: true });
    throw error;
  }
}

/**
 * Asks the host how it would enforce resource limits, its size and whether /proc hides processes
 * (hiding them first where its settings ask: meta.processPrivacy), and keeps the answers in its
 * record's meta.
 */
async function recordHostFacts(runtime: GraftRuntime, sessionId: string, host: HostRecord, admin: HostAdmin): Promise<void> {
  const { mechanism, cores, memory, privacy } = await admin.hostFacts(host.meta.processPrivacy === 'hidepid' ? 'hidepid' : undefined);
  const facts = {
    limits: mechanism,
    ...(cores ? { cores: String(cores) } : {}),
    ...(memory ? { memory: String(memory) } : {}),
    ...(privacy ? { privacy } : {}),
  };
  // Read again: a tunnel may have recorded its port meanwhile.
  const latest = runtime.store.listHosts(sessionId).find((h) => h.name === host.name) ?? host;
  runtime.store.putHost(sessionId, { ...latest, meta: { ...latest.meta, ...facts } });
  Object.assign(host.meta, facts);
}
