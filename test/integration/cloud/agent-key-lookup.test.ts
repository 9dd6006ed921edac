import { expect } from 'chai';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { authorizedKeyLine } from '../../../src/core/hosts/authorized-key.js';
import { HostAdmin } from '../../../src/core/hosts/host-admin.js';
import { GraftError } from '../../../src/core/errors.js';
import { renderUserData } from '../../../src/core/provisioners/cloud/user-data.js';
import { startSshd, stopSshd, type SshdRecord } from '../../../src/core/provisioners/local/sshd-server.js';
import type { HostRecord } from '../../../src/core/model/host.js';
import { generateEd25519KeyPair, SshPool, writePrivateKeyFile, type SshKeyPair } from '../../../src/core/ssh/index.js';
import { VmBoot, type BootedVm } from '../../fakes/vm-boot.js';
import { distinctLoopbackAddresses } from '../../helpers/sshd.js';

const dropIn = 'Match User graft-*-*\n    AuthorizedKeysFile /etc/graft/authorized_keys/%u\n';

/**
 * Agents' key lines live in root's /etc/graft/authorized_keys. A VM has that lookup from its first
 * boot; `agent-account.sh sshd-keys` checks it on the sshd that serves graft's connection, adds it
 * where it can, and refuses the host where it cannot.
 */
describe("agents' key lookup (graft-boot.sh, agent-account.sh sshd-keys)", function () {
  this.timeout(60_000);
  const session = `k${Math.random().toString(36).slice(2, 9).padEnd(7, '0')}`;
  const adminUser = `graft-${session}`;
  const account = `graft-${session}-probe`;
  const adminKey = generateEd25519KeyPair(`graft-admin@${session}`);
  let boot: VmBoot;
  let vm: BootedVm;
  let pool: SshPool;
  let keyFile: string;
  const extraSshds: SshdRecord[] = [];

  beforeEach(async () => {
    boot = new VmBoot({ running: async () => [] });
    vm = await boot.boot({
      id: 'i-keylookup',
      userData: renderUserData({ session, host: 'ec2-01', adminUser, adminPublicKey: adminKey.publicKey, expires: new Date(Date.now() + 3_600_000) }),
    });
    keyFile = join(boot.vmRoot(vm.id), 'admin_key');
    await writePrivateKeyFile(keyFile, adminKey.privateKey);
    pool = new SshPool();
  });
  afterEach(async () => {
    try {
      if (pool) await adminOf(vm.sshd).run(['remove', account]);
    } finally {
      await pool?.closeAll();
      for (const sshd of extraSshds.splice(0)) await stopSshd(sshd);
      await boot.stop();
    }
  });

  function hostOn(sshd: SshdRecord): HostRecord {
    return {
      name: 'vm',
      provisioner: 'ec2',
      address: sshd.address,
      port: sshd.port,
      user: adminUser,
      state: 'up',
      slots: 1,
      groups: [],
      labels: [],
      isolation: 'accounts',
      hostKeys: [sshd.hostPublicKey],
      identityFile: keyFile,
      meta: {},
    };
  }
  const adminOf = (sshd: SshdRecord) => new HostAdmin(pool, hostOn(sshd), {});
  const reloads = (sshd: SshdRecord) =>
    readFileSync(sshd.logFile, 'utf8')
      .split('\n')
      .filter((line) => line.includes('Received SIGHUP')).length;

  /** Another sshd on this machine that the VM's admin account logs in to, with its own /etc/ssh-like directory. */
  async function otherSshd(extraConfig: (dir: string) => string[]): Promise<SshdRecord> {
    const dir = join(boot.vmRoot(vm.id), `other-ssh-${extraSshds.length}`);
    mkdirSync(join(dir, 'sshd_config.d'), { recursive: true });
    const [address] = distinctLoopbackAddresses(1);
    const sshd = await startSshd({
      dir,
      address: address!,
      authorizedKeys: [],
      authorizedKeysFiles: ['%h/.ssh/authorized_keys'],
      allowUsers: ['graft-*'],
      extraConfig: extraConfig(dir),
    });
    extraSshds.push(sshd);
    return sshd;
  }

  /** Whether `key` logs in as the probe account on `sshd`. */
  async function logsIn(sshd: SshdRecord, key: SshKeyPair): Promise<boolean> {
    const probe = new SshPool();
    try {
      const result = await probe.exec(
        { label: account, host: sshd.address, port: sshd.port, username: account, hostKeys: [sshd.hostPublicKey], privateKey: Buffer.from(key.privateKey) },
        'id -un',
        { timeoutMs: 10_000 },
      );
      return result.stdout.trim() === account;
    } catch {
      return false;
    } finally {
      await probe.closeAll();
    }
  }

  /** Makes the probe account with `rootKey` in /etc/graft/authorized_keys and `homeKey` in its own ~/.ssh/authorized_keys. */
  async function probeAccount(sshd: SshdRecord, rootKey: SshKeyPair, homeKey: SshKeyPair): Promise<void> {
    const admin = adminOf(sshd);
    const from = await admin.controllerAddress();
    await admin.run(['create', account]);
    await admin.run(
      ['authorize', account],
      `${authorizedKeyLine({ publicKey: rootKey.publicKey, from, expiresAt: new Date(Date.now() + 3_600_000), interactive: false })}\n`,
    );
    await admin.run(['put', account, '.ssh/authorized_keys', '0600'], `${homeKey.publicKey}\n`);
  }

  it("given a VM after its first boot, then its sshd reads agents' keys from /etc/graft/authorized_keys only, and sshd-keys answers ready without reloading it", async () => {
    expect(readFileSync(join(boot.vmRoot(vm.id), 'etc/ssh/sshd_config.d/graft-agents.conf'), 'utf8')).to.equal(dropIn);
    // The boot reloaded the running sshd once, before it printed the keys.
    expect(reloads(vm.sshd)).to.equal(1);

    await adminOf(vm.sshd).ensureAgentKeyLookup();
    expect(await adminOf(vm.sshd).run(['sshd-keys'])).to.equal('ready');
    expect(reloads(vm.sshd)).to.equal(1);

    const rootKey = generateEd25519KeyPair('root-owned');
    const homeKey = generateEd25519KeyPair('in-home');
    await probeAccount(vm.sshd, rootKey, homeKey);
    expect(await logsIn(vm.sshd, rootKey)).to.equal(true);
    expect(await logsIn(vm.sshd, homeKey), "a key line in the agent's own home must not log it in").to.equal(false);
  });

  it("given an sshd that reads no drop-ins, even with graft's drop-in file beside its config, when sshd-keys runs, then the host is refused with the reason and nothing is left", async () => {
    const sshd = await otherSshd(() => []);
    // The file alone proves nothing: this sshd never reads it.
    writeFileSync(join(sshd.dir, 'sshd_config.d', 'graft-agents.conf'), dropIn);
    const refused = await adminOf(sshd)
      .ensureAgentKeyLookup()
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    expect(refused).to.be.instanceOf(GraftError);
    expect((refused as GraftError).code).to.equal('HOST_UNSUPPORTED');
    expect((refused as GraftError).message).to.include(`${sshd.configFile} reads no drop-ins from ${join(sshd.dir, 'sshd_config.d')}`);
    expect(existsSync(join(sshd.dir, 'sshd_config.d', 'graft-agents.conf'))).to.equal(false);
    expect(reloads(sshd)).to.equal(0);
    // The VM's own sshd, on the same machine, has the lookup: the answer is about the sshd serving the connection.
    expect(await adminOf(vm.sshd).run(['sshd-keys'])).to.equal('ready');
  });

  it("given an sshd that reads drop-ins but has no lookup yet, when sshd-keys runs, then it adds the drop-in and reloads that sshd once, and agents' keys work from then on", async () => {
    const sshd = await otherSshd((dir) => [`Include ${join(dir, 'sshd_config.d')}/*.conf`]);
    await adminOf(sshd).ensureAgentKeyLookup();
    expect(readFileSync(join(sshd.dir, 'sshd_config.d', 'graft-agents.conf'), 'utf8')).to.equal(dropIn);
    expect(reloads(sshd)).to.equal(1);
    expect(await adminOf(sshd).run(['sshd-keys'])).to.equal('ready');
    expect(reloads(sshd)).to.equal(1);

    const rootKey = generateEd25519KeyPair('root-owned');
    const homeKey = generateEd25519KeyPair('in-home');
    await probeAccount(sshd, rootKey, homeKey);
    expect(await logsIn(sshd, rootKey)).to.equal(true);
    expect(await logsIn(sshd, homeKey)).to.equal(false);
  });
});
