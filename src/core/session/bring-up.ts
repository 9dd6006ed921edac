import { machineIdentity } from '../graft-process.js';
import { ExitCode, GraftError, UsageError, type ExitCodeValue } from '../errors.js';
import { sessionContext, type ProvisionerFactory } from '../provisioners/provisioner.js';
import type { HostRecord, HostRequest } from '../model/host.js';
import { sessionFiles, type GraftRuntime } from '../runtime.js';
import type { SessionRow } from '../state/store.js';
import { ensureSessionAuthority } from '../agents/session-identity.js';
import { newSessionId } from '../model/session-id.js';

/** What `graft up` asks for. */
export type UpRequest = { ttlMs: number } & (
  | { provisioner: 'local'; hosts: number; slots: number; labels: string[]; privacy?: boolean }
  /** `tofu`: trust hosts whose key is written nowhere on first use (`up --tofu`). */
  | { provisioner: 'static'; inventory: string; tofu?: boolean }
  /** Cloud VMs; `settings` as ec2-settings.ts / gce-settings.ts read them (region, instanceType, ... / project, zones, ...). */
  | { provisioner: 'ec2' | 'gce'; hosts: number; slots: number; labels: string[]; settings: Record<string, string> }
);

export interface UpResult {
  session: SessionRow;
  hosts: HostRecord[];
}

/**
 * Validates the request, then creates a session and brings its hosts up. The session row is
 * written before any host is started, so an
 * interrupted `up` leaves a session that `down` can find and finish.
 * Hosts that fail to come up stay in the session as `failed` and make the call throw
 * after everything else is recorded.
 */
export async function bringUp(runtime: GraftRuntime, request: UpRequest, factory: ProvisionerFactory, onSession?: (id: string) => void): Promise<UpResult> {
  if (request.provisioner !== 'static' && (!Number.isInteger(request.hosts) || request.hosts < 1)) {
    throw new UsageError(`--hosts must be a whole number of at least 1, not ${request.hosts}`);
  }
  // Team mode: no session starts whose keys the team could not get back.
  runtime.vault?.requireKey();
  const id = newSessionId();
  // The pid lets `down` tell an `up` still running from one that was killed; the machine, whether
  // that pid can be asked about here (team mode: sessions are seen from other machines).
  const spec = { ...request, upPid: process.pid, upMachine: machineIdentity() } as Record<string, unknown>;
  // Inputs (an inventory, say) are read and validated before anything is recorded or started.
  const { provisioner, requests } = await factory(request.provisioner, { id, dir: sessionFiles(runtime, id).dir, spec });
  const hostRequests = requests ?? numberedRequests(request);
  const expiresAt = new Date(Date.now() + request.ttlMs).toISOString();
  runtime.store.createSession({ id, status: 'creating', provisioner: request.provisioner, spec, expiresAt, owner: runtime.operator });
  onSession?.(id);
  const context = { ...sessionContext(runtime, id), expiresAt };
  await ensureSessionAuthority(runtime.store.getSession(id)!, context.dir);
  runtime.vault?.push(id);
  runtime.events.emit({ code: 'session.created', level: 'info', message: `session ${id} (${request.provisioner})`, session: id, data: { spec } });

  const hosts = await provisioner.create(context, hostRequests);
  return { session: goLive(runtime, id), hosts: requireHostsUp(hosts, id) };
}

/**
 * Finishes bringing up a session whose `up` or `run` was killed while its hosts came up (the
 * session is still `creating`): hosts recorded `up` are kept, every other requested host is
 * created again. Provisioners make that safe: a cloud launch carries the host's idempotency key,
 * a local host's half-started sshd is replaced.
 */
export async function finishBringUp(runtime: GraftRuntime, session: SessionRow, factory: ProvisionerFactory): Promise<UpResult> {
  const context = { ...sessionContext(runtime, session.id), expiresAt: session.expiresAt };
  const { provisioner, requests } = await factory(session.provisioner, { id: session.id, dir: context.dir, spec: session.spec });
  const hostRequests = requests ?? numberedRequests(session.spec as UpRequest);
  await ensureSessionAuthority(session, context.dir);
  const known = new Map(runtime.store.listHosts(session.id).map((h) => [h.name, h]));
  const missing = hostRequests.filter((r) => known.get(r.name)?.state !== 'up');
  runtime.events.emit({
    code: 'session.resumed',
    level: 'info',
    message: `session ${session.id} was cut off while its hosts came up: ${missing.length} of ${hostRequests.length} host(s) to bring up`,
    session: session.id,
  });
  const made = missing.length > 0 ? await provisioner.create(context, missing) : [];
  const byName = new Map([...known, ...made.map((h) => [h.name, h] as const)]);
  const hosts = hostRequests.map((r) => byName.get(r.name)!);
  return { session: goLive(runtime, session.id), hosts: requireHostsUp(hosts, session.id) };
}

/** Marks a session that came up live; refused when it was torn down meanwhile. */
function goLive(runtime: GraftRuntime, id: string): SessionRow {
  if (!runtime.store.setSessionStatus(id, 'live', ['creating'])) {
    throw new GraftError(`session ${id} was torn down while it was coming up`, { code: 'SESSION_ENDED', details: { session: id } });
  }
  return runtime.store.getSession(id)!;
}

/** The hosts, once every one is recorded; throws naming those that failed to come up. */
function requireHostsUp(hosts: HostRecord[], id: string): HostRecord[] {
  const failed = hosts.filter((h) => h.state === 'failed');
  if (failed.length > 0) {
    // A refused host key outranks a bad key file, then an unreachable host, then other provider failures.
    const codes = failed.map((h) => Number(h.meta.errorExitCode ?? ExitCode.provider));
    const exitCode = ([ExitCode.security, ExitCode.config, ExitCode.unreachable].find((c) => codes.includes(c)) ?? ExitCode.provider) as ExitCodeValue;
    throw new GraftError(
      `${failed.length} of ${hosts.length} host(s) failed to come up in session ${id}:\n${failed.map((h) => `  ${h.name}: ${h.meta.error ?? 'unknown error'}`).join('\n')}`,
      {
        code: 'HOSTS_FAILED',
        exitCode,
        details: { session: id, failed: failed.map((h) => h.name) },
        actions: [`See: graft hosts --session ${id}`, `Tear the session down with: graft down --session ${id}`],
      },
    );
  }
  return hosts;
}

/** `local-01`, `ec2-01`, ...: hosts the provisioner makes, named after it and in the group of its name. */
function numberedRequests(request: UpRequest): HostRequest[] {
  if (request.provisioner === 'static') return [];
  const width = String(request.hosts).length < 2 ? 2 : String(request.hosts).length;
  return Array.from({ length: request.hosts }, (_, i) => ({
    name: `${request.provisioner}-${String(i + 1).padStart(width, '0')}`,
    slots: request.slots,
    groups: [request.provisioner],
    labels: request.labels,
    ...(request.provisioner === 'local' && request.privacy ? { privacy: true } : {}),
  }));
}
