import { upStillRunning } from '../graft-process.js';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { authorityFileNames } from '../identity/index.js';
import { ProviderError, UsageError } from '../errors.js';
import { reportsLeftovers } from '../provisioners/provisioner.js';
import { type HostRecord } from '../model/host.js';
import { sessionFiles, type GraftRuntime } from '../runtime.js';
import { sessionContext } from '../provisioners/provisioner.js';
import type { SessionRow } from '../state/store.js';
import { drainHostPool } from '../agents/account-pool.js';
import { removeAgent } from '../agents/remove-agent.js';
import { removeHostCaches } from '../workspace/host-cache.js';
import type { ProvisionerFactory } from '../provisioners/provisioner.js';

export interface DownResult {
  session: string;
  /** True when the session had already ended: repeating `down` is harmless. */
  alreadyEnded: boolean;
  destroyed: string[];
}

/**
 * Tears a session down: destroys (or, for hosts graft does not own, cleans) every host the
 * provider still shows for the session, then lists again to prove nothing is left.
 * Safe to repeat, and safe after an `up` that was killed halfway.
 */
export async function tearDown(runtime: GraftRuntime, session: SessionRow, factory: ProvisionerFactory): Promise<DownResult> {
  refuseWhileComingUp(session);
  const context = sessionContext(runtime, session.id);
  const { provisioner } = await factory(session.provisioner, { id: session.id, dir: context.dir, spec: session.spec });
  const known = runtime.store.listHosts(session.id);
  const present = await provisioner.list(context, known);
  if (session.status === 'ended' && present.every((h) => h.state === 'destroyed')) {
    return { session: session.id, alreadyEnded: true, destroyed: [] };
  }
  runtime.store.setSessionStatus(session.id, 'tearing-down');
  const intent = runtime.store.beginIntent(session.id, 'down', session.id);
  const hosts = mergeHosts(known, present);
  await revokeAgents(runtime, session, hosts);
  const poolsLeft = await drainPools(runtime, session, hosts);
  await removeCaches(runtime, session, hosts);
  const targets = hosts.filter((h) => h.state !== 'destroyed');
  await provisioner.destroy(context, targets);

  // Verify by looking again: hosts, and whatever else the provisioner can name (accounts, files).
  const leftHosts = (await provisioner.list(context, [])).filter((h) => h.state !== 'destroyed');
  const left = [
    ...leftHosts.map((h) => `${h.name} (${h.providerId ?? 'no id'})`),
    ...poolsLeft,
    ...(reportsLeftovers(provisioner) ? await provisioner.leftovers(context) : []),
  ];
  if (left.length > 0) {
    runtime.store.finishIntent(intent, 'failed', `left: ${left.join(', ')}`);
    throw new ProviderError(`session ${session.id}: ${left.length} thing(s) still present after teardown: ${left.join(', ')}`, {
      code: 'TEARDOWN_INCOMPLETE',
      actions: [`Run again: graft down --session ${session.id}`],
    });
  }
  runtime.store.finishIntent(intent, 'done');
  await forgetSessionSecrets(runtime, session);
  runtime.store.setSessionStatus(session.id, 'ended');
  runtime.events.emit({
    code: 'session.ended',
    level: 'info',
    message: `session ${session.id} is down`,
    session: session.id,
    data: { destroyed: targets.length },
  });
  return { session: session.id, alreadyEnded: false, destroyed: targets.map((h) => h.name) };
}

function mergeHosts(known: HostRecord[], present: HostRecord[]): HostRecord[] {
  const byName = new Map(known.map((h) => [h.name, h]));
  for (const host of present) byName.set(host.name, { ...byName.get(host.name), ...host });
  return [...byName.values()];
}

/** An `up` that is still running owns its session; one that was killed leaves it to `down`. */
function refuseWhileComingUp(session: SessionRow): void {
  const pid = upStillRunning(session);
  if (pid !== undefined) {
    throw new UsageError(`session ${session.id} is still coming up (graft up, pid ${pid})`, [
      `Wait for it to finish, or stop it (kill ${pid}) and run graft down again.`,
    ]);
  }
}

/**
 * Revokes every agent before its host goes. On local hosts a failure is only reported: the
 * provisioner removes every account of the session and its leftovers check proves it. On hosts
 * graft does not destroy, an agent it could not revoke stops `down` before anything else is
 * released, so that the next `down` can try again.
 */
async function revokeAgents(runtime: GraftRuntime, session: SessionRow, hosts: HostRecord[]): Promise<void> {
  const unrevoked: string[] = [];
  for (const agent of runtime.store.listAgents(session.id)) {
    try {
      await removeAgent(runtime, session, agent);
    } catch (error) {
      // Local hosts' accounts are swept by their provisioner; cloud VMs go away with everything on them.
      const destroyedWithHost = ['local', 'ec2', 'gce'].includes(hosts.find((h) => h.name === agent.host)?.provisioner ?? '');
      runtime.events.emit({ code: 'warning', level: 'warn', message: (error as Error).message, session: session.id, host: agent.host });
      if (!destroyedWithHost) unrevoked.push(`${agent.name} on ${agent.host}`);
    }
  }
  if (unrevoked.length > 0) {
    throw new ProviderError(`session ${session.id}: ${unrevoked.length} agent(s) could not be revoked: ${unrevoked.join(', ')}`, {
      code: 'TEARDOWN_INCOMPLETE',
      actions: [`Run again when those hosts are reachable: graft down --session ${session.id}`],
    });
  }
}

/**
 * Deletes the session's pool accounts (never claimed, or revoked and awaiting their batch) on
 * every host that outlives the session or shares this machine, and returns what is still there.
 * A cloud VM's accounts go with the VM. Local hosts share one machine, so one of them answers
 * for all.
 */
async function drainPools(runtime: GraftRuntime, session: SessionRow, hosts: HostRecord[]): Promise<string[]> {
  const accountHosts = hosts.filter((h) => h.state === 'up' && h.isolation === 'accounts' && h.provisioner !== 'ec2' && h.provisioner !== 'gce');
  const local = accountHosts.filter((h) => h.provisioner === 'local');
  const targets = [
    ...accountHosts.filter((h) => h.provisioner !== 'local').map((h) => ({ host: h, sharing: [h.name] })),
    ...local.slice(0, 1).map((h) => ({ host: h, sharing: local.map((l) => l.name) })),
  ];
  const left = await Promise.all(
    targets.map(({ host, sharing }) =>
      drainHostPool(runtime, session.id, host, sharing).catch((error: Error) => {
        runtime.events.emit({
          code: 'warning',
          level: 'warn',
          message: `${host.name}: could not delete the session's pool accounts: ${error.message}`,
          session: session.id,
          host: host.name,
        });
        // Local hosts' accounts are swept by their provisioner, and its leftovers check proves it.
        return host.provisioner === 'local' ? [] : [`pool accounts on ${host.name} (${error.message})`];
      }),
    ),
  );
  return left.flat();
}

/** After a verified teardown: the session's private keys (admin, CA, JWT, agents') serve no one any more. */
async function forgetSessionSecrets(runtime: GraftRuntime, session: SessionRow): Promise<void> {
  const files = sessionFiles(runtime, session.id);
  await Promise.all(
    [files.adminKey, join(files.identityDir, authorityFileNames.caKey), join(files.identityDir, authorityFileNames.jwtPrivateKey), files.agentsDir].map(
      (path) => rm(path, { recursive: true, force: true }),
    ),
  );
  for (const agent of runtime.store.listAgents(session.id)) if (agent.state !== 'removed') runtime.store.putAgent(session.id, { ...agent, state: 'removed' });
}

/**
 * Removes the session's directory (object caches, the agent channel's helper) from hosts that
 * outlive it (inventory hosts; local hosts share this machine), and there finishes deleting what
 * removed agents left in /tmp.
 */
async function removeCaches(runtime: GraftRuntime, session: SessionRow, hosts: HostRecord[]): Promise<void> {
  // A cloud VM's cache goes with the VM.
  for (const host of hosts.filter((h) => h.state === 'up' && h.provisioner !== 'ec2' && h.provisioner !== 'gce')) {
    await removeHostCaches(runtime.pool, host, session.id, runtime.env).catch((error: Error) =>
      runtime.events.emit({
        code: 'warning',
        level: 'warn',
        message: `${host.name}: could not remove the session's git cache: ${error.message}`,
        session: session.id,
        host: host.name,
      }),
    );
  }
}
