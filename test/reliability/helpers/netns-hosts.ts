/**
 * Hosts with addresses of their own: each is a network namespace joined to this machine by a
 * veth pair (10.231.x.y/30), with a real OpenSSH sshd bound inside it and a login account of its
 * own (so hosts share no home). Faults are what happens to real machines: the host dies (every
 * process in its namespace killed), its link goes down, sshd comes back with the same host key.
 * A host may instead sit behind another (a bastion): its link joins the two namespaces only, and
 * this machine's route to it is `unreachable`, so it can be reached through the bastion alone.
 *
 * Root only. Everything made here is removed by `destroy()`, by the mocha `after` hook of
 * `useNetnsHosts`, and synchronously on process exit; namespaces and accounts left by a test
 * process that died are removed the next time one starts. Only interfaces, namespaces and
 * accounts made here are touched.
 */
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, chownSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { answersWithBanner } from '../../../src/core/provisioners/local/loopback-probe.js';
import { sshdConfig } from '../../../src/core/provisioners/local/sshd-server.js';
import { generateEd25519KeyPair, writeKeyPairFiles, writePrivateKeyFile, type SshKeyPair } from '../../../src/core/ssh/index.js';

/** Namespaces made by this suite are named `graftrel-<pid>-<n>`, accounts `grel<pid>x<n>`: the pid says whether their maker lives. */
const NS_PREFIX = 'graftrel-';
const ACCOUNT = /^grel(\d+)x\d+$/;
const SSH_PORT = 22;

export interface NetnsHost {
  /** Inventory name. */
  name: string;
  namespace: string;
  /** For a host only reachable through another (a bastion), that host: this machine has no link to it. */
  behind?: NetnsHost;
  /** The host's address (inside the namespace) and this machine's end of the link. */
  address: string;
  gateway: string;
  /** This machine's end of the veth pair. */
  link: string;
  /** The login account (made for this host; shared-account isolation: no root or sudo there). */
  user: string;
  home: string;
  hostPublicKey: string;
  /** Pid of the sshd listener, while it runs. */
  sshdPid?: number;
}

export interface NetnsFleet {
  hosts: NetnsHost[];
  /** The admin key every host accepts, written 0600 for inventories. */
  adminKeyFile: string;
  /** Writes an inventory of the hosts (all of them, each pinned) and returns its path. */
  writeInventory(dir: string, vars?: Record<string, unknown>): string;
  /** The host dies: every process in its namespace (sshd, its sessions, the tasks) is SIGKILLed. */
  crash(host: NetnsHost): void;
  /** Starts sshd again with the same host key (after a crash: a reboot). */
  startSshd(host: NetnsHost): Promise<void>;
  /** Sets the host's end of the link down (packets vanish, connections hang) or up again. */
  setLink(host: NetnsHost, up: boolean): void;
  /** Processes running in the host's namespace. */
  pids(host: NetnsHost): number[];
  /** Processes in the host's namespace running as its login account (agents, tasks, sessions). */
  userPids(host: NetnsHost): number[];
  destroy(): void;
}

interface Made {
  namespaces: { namespace: string; link: string }[];
  accounts: string[];
  dirs: string[];
  /** `unreachable` routes in this machine's table for hosts behind another: no packet to them leaves here. */
  routes: string[];
}

/** How a fleet is laid out: `behind[i] = j` puts host i behind host j (linked to j's namespace only). */
export interface NetnsLayout {
  behind?: Record<number, number>;
}

const made: Made = { namespaces: [], accounts: [], dirs: [], routes: [] };
/** Numbers namespaces, links and accounts of this process: never reused, even after a fleet is gone. */
let serial = 0;
let exitHook = false;

function ip(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Namespaces of this suite whose making process is gone (it was killed before its after hook). */
function removeOrphans(): void {
  for (const line of execFileSync('getent', ['passwd'], { encoding: 'utf8' }).split('\n')) {
    const user = line.split(':')[0] ?? '';
    const pid = ACCOUNT.exec(user)?.[1];
    if (pid && !existsSync(`/proc/${pid}`)) removeAccount(user);
  }
  for (const line of ip('netns', 'list').split('\n')) {
    const name = line.split(' ')[0] ?? '';
    if (!name.startsWith(NS_PREFIX)) continue;
    const pid = Number(name.slice(NS_PREFIX.length).split('-')[0]);
    if (Number.isInteger(pid) && !existsSync(`/proc/${pid}`)) removeNamespace(name);
  }
}

function removeAccount(user: string): void {
  try {
    execFileSync('userdel', ['--force', '--remove', '--', user], { stdio: 'ignore' });
  } catch {
    // Gone already.
  }
}

function removeRoute(route: string): void {
  try {
    ip('route', 'del', 'unreachable', route);
  } catch {
    // Gone already.
  }
  made.routes = made.routes.filter((r) => r !== route);
}

function removeNamespace(namespace: string, link?: string): void {
  try {
    for (const pid of ip('netns', 'pids', namespace).split('\n').filter(Boolean)) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    ip('netns', 'del', namespace);
  } catch {
    // Gone already.
  }
  // The kernel frees a namespace (and the veth pair with it) later; ours goes now.
  if (link) {
    try {
      ip('link', 'del', link);
    } catch {
      // Went with the namespace.
    }
  }
}

/** A /30 of 10.231.0.0/16 no interface of this machine uses yet. */
function freeSubnet(taken: Set<string>): { gateway: string; address: string } {
  const used = ip('-4', '-o', 'addr', 'show') + ip('-4', 'route', 'show');
  for (;;) {
    const x = Math.floor(Math.random() * 256);
    const base = Math.floor(Math.random() * 64) * 4;
    const gateway = `10.231.${x}.${base + 1}`;
    if (
      !used.includes(`10.231.${x}.${base + 1}/`) &&
      !used.includes(`10.231.${x}.${base + 2}/`) &&
      !used.includes(`10.231.${x}.${base}/30`) &&
      !taken.has(gateway)
    ) {
      taken.add(gateway);
      return { gateway, address: `10.231.${x}.${base + 2}` };
    }
  }
}

/** A login account of its own per host and test process (concurrent test runs share nothing). */
function makeAccount(user: string): string {
  execFileSync('useradd', ['--create-home', '--home-dir', `/home/${user}`, '--shell', '/bin/sh', user], { stdio: 'pipe' });
  made.accounts.push(user);
  // Locked accounts ("!") are refused by sshd without PAM, even with a key.
  execFileSync('usermod', ['-p', '*', user], { stdio: 'pipe' });
  return `/home/${user}`;
}

export async function startNetnsHosts(count: number, layout: NetnsLayout = {}): Promise<NetnsFleet> {
  if (process.getuid?.() !== 0) throw new Error('network namespace hosts need root');
  installExitHook();
  removeOrphans();
  const root = mkdtempSync(join(tmpdir(), 'graft-netns-'));
  made.dirs.push(root);
  chmodSync(root, 0o711);
  const clientKey: SshKeyPair = generateEd25519KeyPair('graft-reliability');
  const adminKeyFile = join(root, 'admin_key');
  await writePrivateKeyFile(adminKeyFile, clientKey.privateKey);
  const taken = new Set<string>();
  const hosts: NetnsHost[] = [];
  for (let i = 0; i < count; i += 1) {
    const n = serial++;
    const namespace = `${NS_PREFIX}${process.pid}-${n}`;
    const { gateway, address } = freeSubnet(taken);
    // Interface names are at most 15 characters.
    const outer = `grl${(process.pid % 46656).toString(36)}x${n}`;
    const behind = layout.behind?.[i];
    const bastion = behind === undefined ? undefined : hosts[behind];
    if (behind !== undefined && !bastion) throw new Error(`host ${i} must come after the host it is behind`);
    ip('netns', 'add', namespace);
    made.namespaces.push({ namespace, link: outer });
    if (bastion) {
      // The link joins the two namespaces; this machine's end of nothing: it cannot reach the host.
      ip('link', 'add', outer, 'netns', bastion.namespace, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', namespace);
      ip('-n', bastion.namespace, 'addr', 'add', `${gateway}/30`, 'dev', outer);
      ip('-n', bastion.namespace, 'link', 'set', outer, 'up');
      const route = `${address.replace(/\d+$/, (last) => String(Number(last) - 2))}/30`;
      ip('route', 'add', 'unreachable', route);
      made.routes.push(route);
    } else {
      ip('link', 'add', outer, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', namespace);
      ip('addr', 'add', `${gateway}/30`, 'dev', outer);
      ip('link', 'set', outer, 'up');
    }
    ip('-n', namespace, 'addr', 'add', `${address}/30`, 'dev', 'eth0');
    ip('-n', namespace, 'link', 'set', 'eth0', 'up');
    ip('-n', namespace, 'link', 'set', 'lo', 'up');
    const user = `grel${process.pid}x${n}`;
    const home = makeAccount(user);
    const dir = join(root, `host${i}`);
    mkdirSync(dir, { mode: 0o711 });
    const hostKey = generateEd25519KeyPair(`graft-netns-host${i}`);
    await writeKeyPairFiles(join(dir, 'ssh_host_ed25519_key'), hostKey);
    hosts.push({
      name: `node${i}`,
      namespace,
      ...(bastion ? { behind: bastion } : {}),
      address,
      gateway,
      link: outer,
      user,
      home,
      hostPublicKey: hostKey.publicKey,
    });
    writeAuthorizedKeys(dir, user, clientKey.publicKey);
  }
  const fleet: NetnsFleet = {
    hosts,
    adminKeyFile,
    writeInventory(dir, vars = {}) {
      const file = join(dir, `inventory-${Math.random().toString(36).slice(2)}.yaml`);
      const entries = Object.fromEntries(
        hosts.map((h) => [h.name, { ansible_host: h.address, ansible_port: SSH_PORT, ansible_user: h.user, graft_host_key: h.hostPublicKey }]),
      );
      writeFileSync(file, JSON.stringify({ all: { vars: { ansible_ssh_private_key_file: adminKeyFile, graft_slots: 1, ...vars }, hosts: entries } }));
      return file;
    },
    crash(host) {
      for (const pid of fleet.pids(host)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // Exited meanwhile.
        }
      }
      host.sshdPid = undefined;
    },
    startSshd: (host) => startSshdIn(host, join(root, `host${hosts.indexOf(host)}`)),
    setLink(host, up) {
      ip('-n', host.namespace, 'link', 'set', 'eth0', up ? 'up' : 'down');
    },
    pids(host) {
      return ip('netns', 'pids', host.namespace).split('\n').filter(Boolean).map(Number);
    },
    userPids(host) {
      const uid = String(statSync(host.home).uid);
      return fleet.pids(host).filter((pid) => {
        try {
          return /^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] === uid;
        } catch {
          return false;
        }
      });
    },
    destroy() {
      for (const host of hosts) {
        if (host.behind) removeRoute(`${host.gateway.replace(/\d+$/, (last) => String(Number(last) - 1))}/30`);
        removeNamespace(host.namespace, host.link);
        made.namespaces = made.namespaces.filter((n) => n.namespace !== host.namespace);
        removeAccount(host.user);
        made.accounts = made.accounts.filter((a) => a !== host.user);
      }
      rmSync(root, { recursive: true, force: true });
      made.dirs = made.dirs.filter((d) => d !== root);
    },
  };
  try {
    await Promise.all(hosts.map((h) => fleet.startSshd(h)));
  } catch (error) {
    fleet.destroy();
    throw error;
  }
  return fleet;
}

/**
 * The admin key in a root-owned file sshd reads, and the login's own ~/.ssh/authorized_keys
 * (empty), where graft puts shared-account agents' key lines as on any ordinary server.
 */
function writeAuthorizedKeys(dir: string, user: string, publicKey: string): void {
  const { uid, gid } = statSync(`/home/${user}`);
  writeFileSync(join(dir, 'authorized_keys'), `${publicKey}\n`, { mode: 0o644 });
  const ssh = `/home/${user}/.ssh`;
  mkdirSync(ssh, { mode: 0o700 });
  writeFileSync(join(ssh, 'authorized_keys'), '', { mode: 0o600 });
  chownSync(ssh, uid, gid);
  chownSync(join(ssh, 'authorized_keys'), uid, gid);
}

async function startSshdIn(host: NetnsHost, dir: string): Promise<void> {
  const hostKeyFile = join(dir, 'ssh_host_ed25519_key');
  const config = sshdConfig(
    { dir, address: host.address, authorizedKeys: [], loginUser: host.user, authorizedKeysFiles: [join(dir, 'authorized_keys'), '.ssh/authorized_keys'] },
    SSH_PORT,
    hostKeyFile,
  );
  const configFile = join(dir, 'sshd_config');
  writeFileSync(configFile, config, { mode: 0o600 });
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const log = openSync(join(dir, 'sshd.log'), 'a', 0o600);
  // `ip netns exec` execs sshd in place: the pid is sshd's.
  const child = spawn('ip', ['netns', 'exec', host.namespace, '/usr/sbin/sshd', '-D', '-e', '-f', configFile], { detached: true, stdio: ['ignore', log, log] });
  closeSync(log);
  child.unref();
  let exited = false;
  child.once('exit', () => (exited = true));
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline && !exited) {
    // A host behind a bastion cannot be dialed from here: its sshd says when it listens.
    const listening = host.behind
      ? readFileSync(join(dir, 'sshd.log'), 'utf8').includes(`Server listening on ${host.address}`)
      : await answersWithBanner(host.address, SSH_PORT);
    if (listening) {
      host.sshdPid = child.pid;
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`sshd in ${host.namespace} did not answer on ${host.address}:${SSH_PORT}: ${readFileSync(join(dir, 'sshd.log'), 'utf8').slice(-1500)}`);
}

/**
 * Mocha hooks around a fleet of namespace hosts: made in `before`, removed in `after` (which
 * runs even when a test or the `before` itself failed). Read `.fleet` inside tests.
 */
export function useNetnsHosts(count: number, layout: NetnsLayout = {}): { readonly fleet: NetnsFleet } {
  let fleet: NetnsFleet | undefined;
  before(async function () {
    this.timeout(30_000);
    fleet = await startNetnsHosts(count, layout);
  });
  after(() => fleet?.destroy());
  return {
    get fleet(): NetnsFleet {
      if (!fleet) throw new Error('the namespace hosts are not made yet (use them inside a test)');
      return fleet;
    },
  };
}

/** Last line of defence: namespaces, their processes and temp dirs go when the test process exits. */
function installExitHook(): void {
  if (exitHook) return;
  exitHook = true;
  process.once('exit', () => {
    for (const route of [...made.routes]) removeRoute(route);
    for (const { namespace, link } of made.namespaces) removeNamespace(namespace, link);
    for (const user of made.accounts) removeAccount(user);
    for (const dir of made.dirs) rmSync(dir, { recursive: true, force: true });
  });
}
