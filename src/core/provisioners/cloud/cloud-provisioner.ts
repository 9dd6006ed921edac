import pLimit from 'p-limit';
import { asGraftError, ProviderError, SecurityError } from '../../errors.js';
import { HostShell } from '../../hosts/host-shell.js';
import { fingerprintSha256, type SshPool } from '../../ssh/index.js';
import { adminAccountName } from '../local/admin-account.js';
import type { ExtendsExpiry, Provisioner, ReportsLeftovers, SessionContext } from '../provisioner.js';
import type { HostRecord, HostRequest } from '../../model/host.js';
import { pollUntil } from './backoff.js';
import { defaultCloudTiming, type CloudTiming } from './cloud-timing.js';
import { type CloudApi, type CloudInstance } from './cloud-api.js';
import { hostKeysFromConsole } from './console-host-keys.js';
import { Launcher, Progress } from './vm-launcher.js';
import type { EmulatedVms } from './emulated-vms.js';
import { SessionInstances } from './session-instances.js';
import { waitForSsh } from './ssh-wait.js';
import { renderUserData } from './user-data.js';

export interface CloudProvisionerOptions {
  api: CloudApi;
  pool: SshPool;
  adminKeyFile: string;
  adminPublicKey: string;
  /** The owner tag (owner-id.ts). */
  owner: string;
  /** The session's length, for a context that does not say when it ends. */
  ttlMs: number;
  /** Test/emulator affordance: where emulated VMs answer instead of their public address. */
  emulated?: EmulatedVms;
  timing?: Partial<CloudTiming>;
  /** Launch calls in flight at once. */
  concurrency?: number;
}

/**
 * VMs on a cloud, the same way on every provider: each host's row is written before its VM is
 * requested; placements are tried in order and one without capacity is left for the next;
 * the VM's host keys come from its console output and are pinned before graft's first
 * connection (no trust on first use); the host is up once the admin login works. Finding,
 * destroying and verifying go by the session tag, never by graft's memory alone.
 */
export class CloudProvisioner implements Provisioner, ReportsLeftovers, ExtendsExpiry {
  readonly name: 'ec2' | 'gce';
  private readonly timing: CloudTiming;
  private readonly api: CloudApi;

  constructor(private readonly options: CloudProvisionerOptions) {
    this.api = options.api;
    this.name = options.api.provider;
    this.timing = { ...defaultCloudTiming, ...options.timing };
  }

  async create(session: SessionContext, requests: HostRequest[]): Promise<HostRecord[]> {
    const expires = session.expiresAt ? new Date(session.expiresAt) : new Date(Date.now() + this.options.ttlMs);
    if (this.options.emulated) {
      session.events.emit({
        code: 'warning',
        level: 'warn',
        message: `emulated VMs: reaching instances through ${this.options.emulated.dir}, not their public addresses (a test affordance; unset GRAFT_EMULATED_VMS_DIR on a real cloud)`,
        session: session.id,
      });
    }
    await this.api.prepareSession(session.id, { session: session.id, expires, owner: this.options.owner });
    const placements = await this.api.placements();
    if (placements.length === 0) throw new ProviderError(`${this.name}: no place to launch VMs in (no subnet or zone found)`, { code: 'CLOUD_NO_PLACEMENT' });
    const launcher = new Launcher(this.api, placements, pLimit(this.options.concurrency ?? 10));
    const instances = new SessionInstances(this.api, session.id, this.timing.poll.initialMs);
    const progress = new Progress(requests.length);
    return Promise.all(requests.map((request) => this.createOne(session, request, expires, launcher, instances, progress)));
  }

  private async createOne(
    session: SessionContext,
    request: HostRequest,
    expires: Date,
    launcher: Launcher,
    instances: SessionInstances,
    progress: Progress,
  ): Promise<HostRecord> {
    const host: HostRecord = {
      name: request.name,
      provisioner: this.name,
      address: '',
      port: 22,
      user: adminAccountName(session.id),
      state: 'creating',
      slots: request.slots,
      groups: request.groups,
      labels: request.labels,
      isolation: 'accounts',
      hostKeys: [],
      identityFile: this.options.adminKeyFile,
      meta: { idempotencyKey: `graft-${session.id}-${request.name}`, ...this.privacyMeta() },
    };
    // Intent first: a crash from here on leaves a row, and the VM carries the session tag.
    session.recordHost(host);
    // Each step's line says how far the whole fleet is: the progress display of `up`.
    const emit = (
      code: 'host.requested' | 'host.booted' | 'host.up' | 'host.failover',
      message: string,
      level: 'info' | 'warn' = 'info',
      data?: Record<string, unknown>,
    ) =>
      session.events.emit({
        code,
        level,
        message: `${message} ${progress.note(code)}`.trimEnd(),
        session: session.id,
        host: host.name,
        data: { ...data, progress: progress.counts() },
      });
    try {
      const userData = renderUserData({ session: session.id, host: host.name, adminUser: host.user, adminPublicKey: this.options.adminPublicKey, expires });
      emit('host.requested', `${host.name}: requesting a VM`);
      const instance = await launcher.launch(
        {
          host: host.name,
          userData,
          tags: { session: session.id, host: host.name, expires, owner: this.options.owner },
          idempotencyKey: host.meta.idempotencyKey!,
        },
        (failure) =>
          emit('host.failover', `${host.name}: no capacity in ${failure.placement} (${failure.providerCode}); trying the next placement`, 'warn', {
            placement: failure.placement,
            code: failure.providerCode,
          }),
      );
      Object.assign(host, { providerId: instance.id });
      host.meta.placement = instance.placement;
      session.recordHost(host);

      const booted = await this.waitForHostKeys(host, instance.id, instances, Date.now() + this.timing.bootTimeoutMs);
      Object.assign(host, booted);
      session.recordHost(host);
      emit('host.booted', `${host.name}: ${instance.id} booted; host key ${fingerprintSha256(host.hostKeys[0]!)} pinned from its console`, 'info', {
        instance: instance.id,
        hostKeys: host.hostKeys,
      });

      await waitForSsh(HostShell.admin(this.options.pool, host), this.timing.poll, Date.now() + this.timing.reachTimeoutMs);
      host.state = 'up';
      session.recordHost(host);
      emit('host.up', `${host.name} reachable at ${host.address}:${host.port} as ${host.user}`);
    } catch (error) {
      host.state = 'failed';
      host.meta.error = (error as Error).message;
      host.meta.errorExitCode = String(asGraftError(error).exitCode);
      session.recordHost(host);
      session.events.emit({ code: 'host.failed', level: 'error', message: `${host.name}: ${(error as Error).message}`, session: session.id, host: host.name });
    }
    return host;
  }

  /** Polls until the VM runs and its console shows host keys; resolves with where to reach it and the keys to pin. */
  private async waitForHostKeys(
    host: HostRecord,
    id: string,
    instances: SessionInstances,
    deadline: number,
  ): Promise<Pick<HostRecord, 'address' | 'port' | 'hostKeys'>> {
    let seen: CloudInstance | undefined;
    const found = await pollUntil(
      async () => {
        seen = (await instances.current()).get(id);
        if (!seen || seen.state === 'pending') return undefined; // listing is eventually consistent
        if (seen.state !== 'running') throw new ProviderError(`${host.name}: ${id} is ${seen.state} while booting`, { code: 'CLOUD_VM_STOPPED' });
        const emulated = await this.options.emulated?.lookup(id);
        if (this.options.emulated && !emulated) return undefined;
        const address = emulated?.address ?? seen.publicAddress;
        if (!address)
          throw new ProviderError(`${host.name}: ${id} has no public address`, {
            code: 'CLOUD_NO_ADDRESS',
            actions: ['Launch into a subnet / network that gives VMs a public address.'],
          });
        const hostKeys = hostKeysFromConsole(emulated?.console ?? (await this.api.consoleOutput(seen)));
        return hostKeys.length > 0 ? { address, port: emulated?.port ?? 22, hostKeys } : undefined;
      },
      this.timing.poll,
      deadline,
    );
    if (found) return found;
    throw new SecurityError(
      `${host.name}: ${id} showed no SSH host keys on its console within ${Math.round(this.timing.bootTimeoutMs / 1000)} s (it is ${seen?.state ?? 'not listed yet'}); graft never trusts a cloud host's key on first use`,
      'HOST_KEY_UNPINNED',
      ['Use an image with cloud-init (Debian, Ubuntu), which prints the keys at boot; look at the console output for errors.'],
    );
  }

  async list(session: SessionContext, known: HostRecord[]): Promise<HostRecord[]> {
    const instances = await this.api.listSession(session.id);
    return instances.map((instance) => this.recordFor(session, instance, known));
  }

  /**
   * graft's own VMs: their agents see only their own processes (hidepid, at the first agent).
   * Not emulated ones: they are this machine, whose /proc graft does not change unasked.
   */
  private privacyMeta(): Record<string, string> {
    return this.options.emulated ? {} : { processPrivacy: 'hidepid' };
  }

  private recordFor(session: SessionContext, instance: CloudInstance, known: HostRecord[]): HostRecord {
    const record = known.find((h) => h.providerId === instance.id) ?? known.find((h) => h.name === instance.tags.host);
    const base: HostRecord = record ?? {
      name: instance.tags.host ?? instance.id,
      provisioner: this.name,
      address: instance.publicAddress ?? '',
      port: 22,
      user: adminAccountName(session.id),
      state: 'creating',
      slots: 1,
      groups: [],
      labels: [],
      isolation: 'accounts',
      hostKeys: [],
      meta: this.privacyMeta(),
    };
    const state = instance.state === 'terminating' ? 'destroying' : base.state === 'destroyed' ? 'creating' : base.state;
    return { ...base, providerId: instance.id, state, meta: { ...base.meta, placement: instance.placement, instanceState: instance.state } };
  }

  /**
   * Terminates every VM the provider lists for the session (and so also one whose launch
   * response never arrived), waits until it lists none, then removes the session's other
   * resources. Throws naming what is still there.
   */
  async destroy(session: SessionContext, hosts: HostRecord[]): Promise<void> {
    const found = await this.api.listSession(session.id);
    for (const instance of found) {
      const host = this.recordFor(session, instance, hosts);
      session.recordHost({ ...host, state: 'destroying' });
      session.events.emit({
        code: 'host.destroying',
        level: 'debug',
        message: `terminating ${host.name} (${instance.id})`,
        session: session.id,
        host: host.name,
      });
    }
    if (found.length > 0) await this.api.terminate(found);
    const gone = await pollUntil(
      async () => ((await this.api.listSession(session.id)).length === 0 ? true : undefined),
      this.timing.poll,
      Date.now() + this.timing.destroyTimeoutMs,
    );
    const left = gone ? [] : await this.api.listSession(session.id);
    const leftIds = new Set(left.map((instance) => instance.id));
    const names = new Set<string>();
    for (const host of [...hosts, ...found.map((instance) => this.recordFor(session, instance, hosts))]) {
      if (names.has(host.name) || (host.providerId && leftIds.has(host.providerId))) continue;
      names.add(host.name);
      session.recordHost({ ...host, state: 'destroyed' });
      session.events.emit({
        code: 'host.destroyed',
        level: 'info',
        message: `${host.name} destroyed${host.providerId ? ` (${host.providerId})` : ''}`,
        session: session.id,
        host: host.name,
      });
    }
    if (left.length > 0) {
      throw new ProviderError(
        `session ${session.id}: ${left.length} VM(s) still listed ${Math.round(this.timing.destroyTimeoutMs / 1000)} s after terminating: ${left.map((i) => `${i.id} (${i.state})`).join(', ')}`,
        {
          code: 'CLOUD_DESTROY_INCOMPLETE',
          actions: [`Run again: graft down --session ${session.id}`],
        },
      );
    }
    await this.api.cleanupSession(session.id);
  }

  async leftovers(session: SessionContext): Promise<string[]> {
    return this.api.sessionLeftovers(session.id);
  }

  /** Re-arms each VM's dead-man's switch over SSH, then rewrites the expiry tags. */
  async extendExpiry(session: SessionContext, hosts: HostRecord[], expiresAt: Date): Promise<void> {
    const epoch = Math.floor(expiresAt.getTime() / 1000);
    const failures: string[] = [];
    await Promise.all(
      hosts
        .filter((h) => h.state === 'up')
        .map(async (host) => {
          const result = await HostShell.admin(this.options.pool, host)
            .exec(`sudo -n "$HOME/.graft/bin/graft-deadman" arm ${epoch}`, { timeoutMs: 30_000 })
            .catch((error: Error) => ({ exitCode: -1, stderr: error.message }));
          if (result.exitCode !== 0) failures.push(`${host.name}: ${result.stderr.trim() || `exit ${result.exitCode}`}`);
        }),
    );
    await this.api.setExpiry(await this.api.listSession(session.id), expiresAt);
    if (failures.length > 0) {
      throw new ProviderError(`could not move the end of ${failures.length} VM(s); they still power off at the old time:\n  ${failures.join('\n  ')}`, {
        code: 'CLOUD_EXTEND_FAILED',
      });
    }
  }
}
