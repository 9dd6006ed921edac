import { randomInt } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { sessionLayout } from '../../session-layout.js';
import { ProviderError } from '../../errors.js';
import { failpoint } from '../../failpoints.js';
import type { Provisioner, ReportsLeftovers, SessionContext } from '../provisioner.js';
import type { HostRecord, HostRequest } from '../../model/host.js';
import { adminAccountName, ensureAdminAccount, removeSessionAccounts, sessionAccounts, sessionSystemFiles, type AdminAccount } from './admin-account.js';
import { findSshdProcesses, startSshd, stopSshd, type FoundSshd, type SshdOptions } from './sshd-server.js';

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
export class LocalProvisioner implements Provisioner, ReportsLeftovers {
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
    // The hosts are one machine: default limits share its memory over all their slots.
    const machineSlots = requests.reduce((sum, request) => sum + request.slots, 0);
    return Promise.all(requests.map((request, index) => this.createOne(session, request, `${block}.${index + 1}`, account, machineSlots)));
  }

  private get root(): boolean {
    return this.options.root ?? process.getuid?.() === 0;
  }

  private async createOne(session: SessionContext, request: HostRequest, address: string, account: AdminAccount, machineSlots: number): Promise<HostRecord> {
    const dir = join(sessionLayout(session.dir).hostsDir, request.name);
    // As root the login is the session's own account, whose ~/.ssh holds the admin key, and its
    // agents' accounts (graft-<session>-*) log in with keys in /etc/graft. Otherwise everything is
    // the invoking user: the admin key in the host's own directory, shared-account agents' keys
    // in agent_keys beside it (meta.agentKeysFile), which the agent code appends to.
    const sshd: Omit<SshdOptions, 'dir' | 'address' | 'port'> = this.root
      ? {
          loginUser: account.user,
          authorizedKeys: [],
          authorizedKeysFiles: ['%h/.ssh/authorized_keys'],
          allowUsers: [`${adminAccountName(session.id)}-*`],
          // Agents' key lines live in root-owned files outside their homes, so no agent can lift
          // restrict, from= or expiry-time= from its own key.
          extraConfig: [`Match User ${adminAccountName(session.id)}-*`, '    AuthorizedKeysFile /etc/graft/authorized_keys/%u'],
        }
      : {
          loginUser: account.user,
          authorizedKeys: [this.options.adminPublicKey],
          authorizedKeysFiles: [join(dir, 'authorized_keys'), join(dir, 'agent_keys')],
        };
    const meta: Record<string, string> = this.root ? { dir, adminAccount: account.user } : { dir, agentKeysFile: join(dir, 'agent_keys') };
    meta.machineSlots = String(machineSlots);
    // Local hosts are this machine: /proc's privacy changes it all, so only when asked.
    if (request.privacy) meta.processPrivacy = 'hidepid';
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
      meta,
    };
    session.recordHost(host);
    session.events.emit({
      code: 'host.creating',
      level: 'debug',
      message: `starting sshd for ${host.name} on ${address}`,
      session: session.id,
      host: host.name,
    });
    try {
      // An earlier create cut off halfway may have left this host's sshd running: it is replaced.
      for (const left of (await findSshdProcesses(sessionLayout(session.dir).hostsDir)).filter((found) => found.dirName === request.name))
        await stopSshd({ pid: left.pid, dir });
      if (meta.agentKeysFile) {
        await mkdir(dir, { recursive: true, mode: 0o700 });
        await writeFile(meta.agentKeysFile, '', { mode: 0o600, flag: 'a' });
      }
      const started = await startSshd({ dir, address, port: 0, ...sshd });
      failpoint('host.started');
      Object.assign(host, { port: started.port, hostKeys: [started.hostPublicKey], providerId: String(started.pid), state: 'up' });
      session.recordHost(host);
      session.events.emit({ code: 'host.up', level: 'info', message: `${host.name} up at ${address}:${started.port}`, session: session.id, host: host.name });
    } catch (error) {
      host.state = 'failed';
      host.meta.error = (error as Error).message;
      session.recordHost(host);
      session.events.emit({
        code: 'host.failed',
        level: 'error',
        message: `${host.name} failed to start: ${(error as Error).message}`,
        session: session.id,
        host: host.name,
      });
    }
    return host;
  }

  /**
   * The session's hosts found by looking: its host directories, and every sshd process whose
   * config lies under the session's directory (its tag), even when the directory is gone.
   */
  async list(session: SessionContext, known: HostRecord[]): Promise<HostRecord[]> {
    const hostsDir = sessionLayout(session.dir).hostsDir;
    const dirs = new Set(existsSync(hostsDir) ? readdirSync(hostsDir) : []);
    const pids = pidsByHost(await findSshdProcesses(hostsDir));
    const byName = new Map(known.map((h) => [h.name, h]));
    const present: HostRecord[] = [];
    for (const name of new Set([...dirs, ...pids.keys()])) {
      const dir = join(hostsDir, name);
      const record = byName.get(name);
      const running = pids.get(name) ?? [];
      if (running.length === 0 && record?.state === 'destroyed') continue;
      const pidFile = readPid(dir);
      const providerId = pidFile !== undefined && running.includes(pidFile) ? pidFile : running[0];
      const base = record ?? blankRecord(name, dir);
      present.push({
        ...base,
        meta: { ...base.meta, dir },
        providerId: providerId === undefined ? record?.providerId : String(providerId),
        state: running.length > 0 ? 'up' : (record?.state ?? 'failed'),
      });
    }
    return present;
  }

  /** What of the session is left besides hosts: its accounts and sudoers drop-ins. */
  async leftovers(session: SessionContext): Promise<string[]> {
    return [...(await sessionAccounts(session.id)).map((name) => `account ${name}`), ...(await sessionSystemFiles(session.id)).map((file) => `file ${file}`)];
  }

  /**
   * Stops every sshd of the hosts and of the session's directory, removes a host's directory
   * only once no sshd of it is seen any more, then removes the session's accounts when a host
   * recorded that it used them or any are found. Throws after doing all it can.
   */
  async destroy(session: SessionContext, hosts: HostRecord[]): Promise<void> {
    const hostsDir = sessionLayout(session.dir).hostsDir;
    const targets = await this.list(session, hosts);
    const names = new Set(targets.map((h) => h.name));
    for (const host of hosts) if (!names.has(host.name)) targets.push(host);
    const failures: string[] = [];
    const running = pidsByHost(await findSshdProcesses(hostsDir));
    const stoppable = targets.filter((host) => isPlainName(host.name));
    for (const host of targets) if (!isPlainName(host.name)) failures.push(`${host.name}: not a usable host directory name`);
    await Promise.all(
      stoppable.map(async (host) => {
        const dir = join(hostsDir, host.name);
        session.events.emit({ code: 'host.destroying', level: 'debug', message: `stopping ${host.name}`, session: session.id, host: host.name });
        const pids = new Set([...(running.get(host.name) ?? []), readPid(dir), host.providerId ? Number(host.providerId) : undefined]);
        for (const pid of pids)
          if (pid !== undefined && Number.isInteger(pid) && pid > 0)
            await stopSshd({ pid, dir }).catch((error: Error) => failures.push(`${host.name}: ${error.message}`));
      }),
    );
    // Confirm by looking again: a directory (the host's tag) goes only with its last sshd.
    const survivors = pidsByHost(await findSshdProcesses(hostsDir));
    for (const host of stoppable) {
      const left = survivors.get(host.name);
      if (left) {
        failures.push(`${host.name}: sshd ${left.join(', ')} still running`);
        continue;
      }
      await rm(join(hostsDir, host.name), { recursive: true, force: true });
      session.recordHost({ ...host, state: 'destroyed' });
      session.events.emit({ code: 'host.destroyed', level: 'info', message: `${host.name} destroyed`, session: session.id, host: host.name });
    }
    // Accounts go when a host recorded using them, or when any are found: never decided by who runs `down` now.
    if (targets.some((h) => h.meta.adminAccount) || (await this.leftovers(session)).length > 0) await removeSessionAccounts(session.id);
    if (failures.length > 0) {
      throw new ProviderError(`session ${session.id}: could not destroy every local host:\n  ${[...new Set(failures)].join('\n  ')}`, {
        code: 'LOCAL_DESTROY_FAILED',
        actions: [`Run again: graft down --session ${session.id}`],
      });
    }
  }
}

/** Pids of the found sshd processes, by host (directory) name. */
function pidsByHost(found: FoundSshd[]): Map<string, number[]> {
  const byHost = new Map<string, number[]>();
  for (const sshd of found) byHost.set(sshd.dirName, [...(byHost.get(sshd.dirName) ?? []), sshd.pid]);
  return byHost;
}

/** A host name usable as one directory name under hosts/: never a path that leaves it. */
function isPlainName(name: string): boolean {
  return name !== '' && name !== '.' && name !== '..' && !name.includes('/') && !name.includes('\0');
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
  return {
    name,
    provisioner: 'local',
    address: '',
    port: 0,
    user: '',
    state: 'failed',
    slots: 1,
    groups: [],
    labels: [],
    isolation: 'shared-account',
    hostKeys: [],
    meta: { dir },
  };
}
