import { asGraftError } from '../errors.js';
import { loadStaticHostSpecs, type StaticHostSpec } from '../inventory/index.js';
import { HostShell } from '../hosts/host-shell.js';
import { fingerprintSha256, type SshPool } from '../ssh/index.js';
import type { TofuPins } from './tofu-pins.js';
import type { Provisioner, SessionContext } from './provisioner.js';
import type { HostRecord, HostRequest } from '../model/host.js';

/** How long `up` gives an inventory host to answer before marking it failed. */
const reachTimeoutMs = 15_000;

/**
 * Hosts graft does not own, from an Ansible-style inventory. `create` pins their keys
 * (from the inventory, or read once where the inventory explicitly says trust-on-first-use)
 * and checks that the admin login works; `destroy` never destroys, it removes what graft
 * left on the host for the session.
 */
export class StaticProvisioner implements Provisioner {
  readonly name = 'static' as const;
  private readonly specs = new Map<string, StaticHostSpec>();

  constructor(
    private readonly pool: SshPool,
    private readonly tofu: TofuPins,
  ) {}

  /**
   * Reads and validates the inventory; every problem of the file is reported at once. With
   * `trustOnFirstUse` (`up --tofu`), hosts whose key is written nowhere are trusted on first use.
   */
  load(file: string, options: { trustOnFirstUse?: boolean } = {}): HostRequest[] {
    const { specs } = loadStaticHostSpecs(file, options);
    for (const spec of specs) this.specs.set(spec.name, spec);
    return specs.map((s) => ({ name: s.name, slots: s.slots, groups: s.groups, labels: s.labels }));
  }

  async create(session: SessionContext, requests: HostRequest[]): Promise<HostRecord[]> {
    return Promise.all(requests.map((request) => this.createOne(session, this.specs.get(request.name)!)));
  }

  private async createOne(session: SessionContext, spec: StaticHostSpec): Promise<HostRecord> {
    const host: HostRecord = {
      name: spec.name,
      provisioner: 'static',
      address: spec.address,
      port: spec.port,
      user: spec.user,
      state: 'creating',
      slots: spec.slots,
      groups: spec.groups,
      labels: spec.labels,
      isolation: spec.isolation,
      hostKeys: spec.hostKeys,
      identityFile: spec.identityFile,
      ...(spec.jump ? { jump: spec.jump } : {}),
      meta: { hostKeyPolicy: spec.hostKeyPolicy, ...(spec.privacy ? { processPrivacy: 'hidepid' } : {}) },
    };
    session.recordHost(host);
    try {
      if (host.hostKeys.length === 0 && spec.hostKeyPolicy === 'tofu') {
        host.hostKeys = this.tofu.recorded(host.address, host.port);
        if (host.hostKeys.length === 0) {
          host.hostKeys = [await this.tofu.trust(host.address, host.port, reachTimeoutMs)];
          session.events.emit({
            code: 'warning',
            level: 'warn',
            message: `${host.name}: trusted its host key on first use and pinned it (${fingerprintSha256(host.hostKeys[0]!)}); later sessions verify against it`,
            session: session.id,
            host: host.name,
            data: { hostKey: host.hostKeys[0] },
          });
        }
      }
      await HostShell.admin(this.pool, host).probe(reachTimeoutMs);
      host.state = 'up';
      session.events.emit({
        code: 'host.up',
        level: 'info',
        message: `${host.name} reachable at ${host.address}:${host.port} as ${host.user}`,
        session: session.id,
        host: host.name,
      });
    } catch (error) {
      host.state = 'failed';
      host.meta.error = (error as Error).message;
      host.meta.errorExitCode = String(asGraftError(error).exitCode);
      session.events.emit({ code: 'host.failed', level: 'error', message: `${host.name}: ${(error as Error).message}`, session: session.id, host: host.name });
    }
    session.recordHost(host);
    return host;
  }

  async list(_session: SessionContext, known: HostRecord[]): Promise<HostRecord[]> {
    // Inventory hosts always exist; what graft tracks is whether it has cleaned them.
    return known.filter((h) => h.state !== 'destroyed');
  }

  async destroy(session: SessionContext, hosts: HostRecord[]): Promise<void> {
    await Promise.all(
      hosts.map(async (host) => {
        if (host.state === 'up') {
          try {
            await HostShell.admin(this.pool, host).exec(`rm -rf -- "$HOME/.graft/sessions/${session.id}"`, { timeoutMs: reachTimeoutMs });
          } catch (error) {
            session.events.emit({
              code: 'warning',
              level: 'warn',
              message: `${host.name}: could not clean up (${(error as Error).message}); graft left only files under ~/.graft/sessions/${session.id} there`,
              session: session.id,
              host: host.name,
            });
          }
        }
        session.recordHost({ ...host, state: 'destroyed' });
        session.events.emit({
          code: 'host.cleaned',
          level: 'info',
          message: `${host.name} released (inventory hosts are never destroyed)`,
          session: session.id,
          host: host.name,
        });
      }),
    );
  }
}
