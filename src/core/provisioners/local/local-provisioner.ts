import { randomInt } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { ProviderError } from '../../errors.js';
import type { HostRecord, HostRequest, Provisioner, SessionContext } from '../provisioner.js';
import { ensureAdminAccount, removeAdminAccount, type AdminAccount } from './admin-account.js';
import { isSshdRunning, startSshd, stopSshd, type SshdOptions } from './sshd-server.js';

/** Files and facts the local provisioner needs about the session's admin key. */
export interface LocalProvisionerOptions {
  /** Public key line of the session admin key, installed for the login account. */
  adminPublicKey: string;
  /** Private key file of the session admin key, recorded on each host. */
  adminKeyFile: string;
  /** Whether graft runs as root (then a dedicated admin account is used). */
  root?: boolean;
}

/**
 * The embedded default: each host is a real OpenSSH sshd run by graft on its own loopback
 * address (127.A.B.n, one block per session), with a host key graft generates and pins.
 * The hosts outlive the `graft up` that started them and are found again by looking at
 * the session's host directories and their sshd processes, never from memory alone.
 */
export class LocalProvisioner implements Provisioner {
  readonly name = 'local' as const;

  constructor(private readonly options: LocalProvisionerOptions) {}

  async create(session: SessionContext, requests: HostRequest[]): Promise<HostRecord[]> {
    if (requests.length > 250) {
      throw new ProviderError(`the local provisioner runs at most 250 hosts per session, not ${requests.length}`, { code: 'LOCAL_TOO_MANY' });
    }
    let account: AdminAccount;
    if (this.root) {
      account = await ensureAdminAccount(session.id, this.options.adminPublicKey);
    } else {
      const me = userInfo();
      account = { user: me.username, home: me.homedir, canSudo: false };
    }
    // One random /24 of loopback per session keeps sessions apart without coordination.
    const block = `127.${randomInt(64, 128)}.${randomInt(0, 256)}`;
    // As root the login is the session's own account, whose ~/.ssh holds the admin key;
    // otherwise it is the invoking user, with the key in the host's own directory.
    const keys = this.root ? { authorizedKeys: [], authorizedKeysFiles: ['%h/.ssh/authorized_keys'] } : { authorizedKeys: [this.options.adminPublicKey] };
    return Promise.all(requests.map((request, index) => this.createOne(session, request, `${block}.${index + 1}`, account, keys)));
  }

  private get root(): boolean {
    return this.options.root ?? process.getuid?.() === 0;
  }

  private async createOne(session: SessionContext, request: HostRequest, address: string, account: AdminAccount, keys: Pick<SshdOptions, 'authorizedKeys' | 'authorizedKeysFiles'>): Promise<HostRecord> {
    const dir = join(session.dir, 'hosts', request.name);
    const host: HostRecord = {
      name: request.name,
      provisioner: 'local',
      address,
      port: 0,
      user: account.user,
      state: 'creating',
      slots: request.slots,
      groups: request.groups,
      labels: request.labels,
      isolation: account.canSudo ? 'accounts' : 'shared-account',
      hostKeys: [],
      identityFile: this.options.adminKeyFile,
      meta: { dir },
    };
    session.recordHost(host);
    session.events.emit({ code: 'host.creating', level: 'debug', message: `starting sshd for ${host.name} on ${address}`, session: session.id, host: host.name });
    try {
      const sshd = await startSshd({ dir, address, port: 0, loginUser: account.user, ...keys });
      Object.assign(host, { port: sshd.port, hostKeys: [sshd.hostPublicKey], providerId: String(sshd.pid), state: 'up' });
      session.recordHost(host);
      session.events.emit({ code: 'host.up', level: 'info', message: `${host.name} up at ${address}:${sshd.port}`, session: session.id, host: host.name });
    } catch (error) {
      host.state = 'failed';
      host.meta.error = (error as Error).message;
      session.recordHost(host);
      session.events.emit({ code: 'host.failed', level: 'error', message: `${host.name} failed to start: ${(error as Error).message}`, session: session.id, host: host.name });
    }
    return host;
  }

  async list(session: SessionContext, known: HostRecord[]): Promise<HostRecord[]> {
    const hostsDir = join(session.dir, 'hosts');
    const found = existsSync(hostsDir) ? readdirSync(hostsDir) : [];
    const byName = new Map(known.map((h) => [h.name, h]));
    const present: HostRecord[] = [];
    for (const name of found) {
      const dir = join(hostsDir, name);
      const pid = readPid(dir);
      const record = byName.get(name);
      const running = pid !== undefined && isSshdRunning({ pid, dir });
      if (running || record?.state !== 'destroyed') {
        present.push({ ...(record ?? blankRecord(name, dir)), providerId: pid === undefined ? record?.providerId : String(pid), state: running ? 'up' : (record?.state ?? 'failed') });
      }
    }
    return present;
  }

  async destroy(session: SessionContext, hosts: HostRecord[]): Promise<void> {
    const targets = await this.list(session, hosts);
    const names = new Set(targets.map((h) => h.name));
    for (const host of hosts) if (!names.has(host.name)) targets.push(host);
    await Promise.all(
      targets.map(async (host) => {
        const dir = host.meta.dir ?? join(session.dir, 'hosts', host.name);
        session.events.emit({ code: 'host.destroying', level: 'debug', message: `stopping ${host.name}`, session: session.id, host: host.name });
        const pid = readPid(dir) ?? (host.providerId ? Number(host.providerId) : undefined);
        if (pid !== undefined) await stopSshd({ pid, dir });
        await rm(dir, { recursive: true, force: true });
        session.recordHost({ ...host, state: 'destroyed' });
        session.events.emit({ code: 'host.destroyed', level: 'info', message: `${host.name} destroyed`, session: session.id, host: host.name });
      }),
    );
    if (this.root) await removeAdminAccount(session.id);
  }
}

function readPid(dir: string): number | undefined {
  try {
    const pid = Number(readFileSync(join(dir, 'sshd.pid'), 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function blankRecord(name: string, dir: string): HostRecord {
  return { name, provisioner: 'local', address: '', port: 0, user: '', state: 'failed', slots: 1, groups: [], labels: [], isolation: 'shared-account', hostKeys: [], meta: { dir } };
}
