/**
 * Plays the first boot of emulated cloud VMs on this machine, for real: for each VM the
 * emulator (moto, the fake Compute server) reports running, it starts an OpenSSH sshd on its
 * own loopback address, writes the files of the VM's actual user-data (graft's cloud-init
 * document) under a private root, and runs its runcmd (graft-boot.sh) as root with the test
 * seams pointed at that root: the admin account and its sudoers file are made on this machine,
 * the host keys and sshd config are those of the VM's sshd (which the script's drop-in for
 * agents' keys reaches, with the reload a Debian VM gets), and "shutdown" is a stub that only
 * logs its arguments. What the script printed to the console is then published, and the VM's loopback
 * endpoint written to GRAFT_EMULATED_VMS_DIR, which graft reads (emulated-vms.ts).
 */
import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { startSshd, stopSshd, type SshdRecord } from '../../src/core/provisioners/local/sshd-server.js';
import { distinctLoopbackAddresses } from '../helpers/sshd.js';

const run = promisify(execFile);

/** A VM the emulator says is running, with the user-data it was launched with. */
export interface BootableVm {
  id: string;
  userData: string;
}

export interface VmBootOptions {
  /** The emulator's running VMs (the boot skips those it has booted). */
  running(): Promise<BootableVm[]>;
  /** Where the console text goes; default: into the VM's endpoint file (for emulators with canned consoles, e.g. moto). */
  publishConsole?(id: string, text: string): Promise<void>;
  /** Changes what the console shows (e.g. a forged key), for tests of what graft refuses. */
  transformConsole?(text: string): string;
  pollMs?: number;
}

export interface BootedVm {
  id: string;
  sshd: SshdRecord;
  console: string;
  adminUser: string;
  /** Its uid, known at boot: the account may be gone by the time the VM is stopped. */
  adminUid: number;
}

export class VmBoot {
  /** GRAFT_EMULATED_VMS_DIR for graft. */
  readonly dir: string;
  /** Where the shutdown stub logs each call, one line of arguments per call. */
  readonly shutdownLog: string;
  readonly booted = new Map<string, BootedVm>();
  /** Why boots failed; a VM's first boot is tried once, as on a cloud. */
  readonly errors: string[] = [];
  private readonly attempted = new Set<string>();
  private readonly root: string;
  private timer?: NodeJS.Timeout;
  private busy?: Promise<void>;
  private stopped = false;

  constructor(private readonly options: VmBootOptions) {
    this.root = mkdtempSync(join(tmpdir(), 'graft-vms-'));
    chmodSync(this.root, 0o711);
    this.dir = join(this.root, 'endpoints');
    mkdirSync(this.dir);
    this.shutdownLog = join(this.root, 'shutdown.log');
    writeFileSync(join(this.root, 'fake-shutdown'), `#!/bin/sh\nprintf '%s\\n' "$*" >> '${this.shutdownLog}'\n`, { mode: 0o755 });
  }

  start(): this {
    const tick = async () => {
      try {
        for (const vm of await this.options.running()) if (!this.attempted.has(vm.id)) await this.boot(vm);
      } catch (error) {
        this.errors.push((error as Error).message);
      }
    };
    const loop = () => {
      if (this.stopped) return;
      this.busy = tick().finally(() => {
        if (!this.stopped) this.timer = setTimeout(loop, this.options.pollMs ?? 50);
      });
    };
    loop();
    return this;
  }

  /** Boots one VM now (start() does this for every running VM). */
  async boot(vm: BootableVm): Promise<BootedVm> {
    this.attempted.add(vm.id);
    const document = parse(vm.userData) as { write_files?: { path: string; content: string; permissions: string }[]; runcmd?: string[][] } | null;
    if (!document?.write_files || !document.runcmd) throw new Error(`${vm.id}: its user-data has no write_files and runcmd: not a graft VM, nothing to boot`);
    const vmRoot = join(this.root, vm.id);
    const [address] = distinctLoopbackAddresses(1);
    // The VM's /etc/ssh: its sshd's config, host key and pid file, and sshd_config.d, which that
    // config includes as a Debian image's does; the boot script writes its drop-in there.
    const etcSsh = join(vmRoot, 'root', 'etc', 'ssh');
    const sshd = await startSshd({
      dir: etcSsh,
      address: address!,
      port: 0,
      authorizedKeys: [],
      authorizedKeysFiles: ['%h/.ssh/authorized_keys'],
      allowUsers: ['graft-*'],
      extraConfig: [`Include ${join(etcSsh, 'sshd_config.d')}/*.conf`],
    });
    try {
      const booted = await this.runFirstBoot(vm.id, { write_files: document.write_files, runcmd: document.runcmd }, sshd);
      this.booted.set(vm.id, booted);
      return booted;
    } catch (error) {
      // A VM whose boot failed is never reached; its sshd must not outlive the test.
      await stopSshd(sshd).catch(() => undefined);
      throw error;
    }
  }

  private async runFirstBoot(
    id: string,
    document: { write_files: { path: string; content: string; permissions: string }[]; runcmd: string[][] },
    sshd: SshdRecord,
  ): Promise<BootedVm> {
    const vmRoot = join(this.root, id);
    const rebase = (path: string) => (path.startsWith('/') ? join(vmRoot, 'root', path) : path);
    for (const file of document.write_files) {
      mkdirSync(dirname(rebase(file.path)), { recursive: true });
      writeFileSync(rebase(file.path), file.content, { mode: parseInt(file.permissions, 8) });
    }
    const consoleFile = join(vmRoot, 'console');
    writeFileSync(consoleFile, `[    0.000000] Linux version 6.1.0-emulated\n`);
    const env = {
      PATH: process.env.PATH,
      GRAFT_CONSOLE: consoleFile,
      GRAFT_SSH_HOST_KEYS_DIR: sshd.dir,
      GRAFT_SSHD_CONFIG_DIR: sshd.dir,
      GRAFT_PER_BOOT_DIR: join(vmRoot, 'root', 'var/lib/cloud/scripts/per-boot'),
      GRAFT_SHUTDOWN: join(this.root, 'fake-shutdown'),
    };
    for (const [command, ...args] of document.runcmd) await run(command!, args.map(rebase), { env });
    const console = (this.options.transformConsole ?? ((text: string) => text))(readFileSync(consoleFile, 'utf8'));
    if (this.options.publishConsole) await this.options.publishConsole(id, console);
    const endpoint = join(this.dir, `${id}.json`);
    writeFileSync(`${endpoint}.tmp`, JSON.stringify({ address: sshd.address, port: sshd.port, ...(this.options.publishConsole ? {} : { console }) }));
    renameSync(`${endpoint}.tmp`, endpoint);
    const adminUser = /GRAFT_ADMIN_USER=(\S+)/.exec(readFileSync(rebase('/etc/graft/boot.env'), 'utf8'))?.[1] ?? '';
    const adminUid = Number(execFileSync('id', ['-u', '--', adminUser], { encoding: 'utf8' }).trim());
    return { id, sshd, console, adminUser, adminUid };
  }

  /** The private root a VM's files were written under (its `/` as the boot script saw it). */
  vmRoot(id: string): string {
    return join(this.root, id, 'root');
  }

  /** Lines the shutdown stub logged so far. */
  shutdownCalls(): string[] {
    return existsSync(this.shutdownLog) ? readFileSync(this.shutdownLog, 'utf8').trim().split('\n').filter(Boolean) : [];
  }

  /**
   * Stops every sshd, removes the admin accounts and sudoers files the boots made, the files, and
   * what graft's host tool kept for the VMs' sessions in this machine's /var/lib/graft (a real
   * VM's disk goes with it; here the machine is shared, and its uid would be handed out again).
   */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.busy;
    for (const vm of this.booted.values()) await stopSshd(vm.sshd).catch(() => undefined);
    for (const uid of new Set([...this.booted.values()].map((vm) => vm.adminUid))) removeSessionState(uid);
    for (const user of new Set([...this.booted.values()].map((vm) => vm.adminUser).filter((u) => u.startsWith('graft-')))) {
      try {
        execFileSync('pkill', ['-KILL', '-u', user], { stdio: 'ignore' });
      } catch {
        // No processes.
      }
      try {
        execFileSync('userdel', ['--remove', '--', user], { stdio: 'ignore' });
      } catch {
        // Already gone.
      }
      rmSync(`/etc/sudoers.d/${user}`, { force: true });
    }
    rmSync(this.root, { recursive: true, force: true });
  }
}

/** Removes the session directories the uid (a VM's admin) owns in /var/lib/graft, and those sessions' claim marks. */
function removeSessionState(uid: number): void {
  const state = '/var/lib/graft';
  if (!existsSync(state)) return;
  for (const entry of readdirSync(state, { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.name === 'claims' || statSync(join(state, entry.name)).uid !== uid) continue;
    rmSync(join(state, entry.name), { recursive: true, force: true });
    const claims = join(state, 'claims');
    if (!existsSync(claims)) continue;
    for (const mark of readdirSync(claims)) if (mark.startsWith(`graft-${entry.name}-`)) rmSync(join(claims, mark), { recursive: true, force: true });
  }
}
