import { execFileSync } from 'node:child_process';
import { appendFileSync, chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { ProviderError } from '../../../src/core/errors.js';
import { EventBus } from '../../../src/core/events.js';
import { ensureAdminAccount, removeSessionAccounts, sessionAccounts } from '../../../src/core/provisioners/local/admin-account.js';
import { LocalProvisioner } from '../../../src/core/provisioners/local/local-provisioner.js';
import { isSshdRunning } from '../../../src/core/provisioners/local/sshd-server.js';
import type { SessionContext } from '../../../src/core/provisioners/provisioner.js';
import type { HostRecord } from '../../../src/core/model/host.js';
import { newSessionId } from '../../../src/core/model/session-id.js';
import { generateEd25519KeyPair, SshConnection, writeKeyPairFiles, type SshKeyPair } from '../../../src/core/ssh/index.js';
import { accountExists } from '../../helpers/sshd.js';

const asRoot = process.getuid?.() === 0;

/** A session as the provisioner sees it, with the host rows it recorded. */
interface TestSession {
  context: SessionContext;
  rows: Map<string, HostRecord>;
  adminKey: SshKeyPair;
  adminKeyFile: string;
}

function pidFileOf(host: HostRecord): number {
  return Number(readFileSync(join(host.meta.dir!, 'sshd.pid'), 'utf8').trim());
}

function processGone(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

describe('Local provisioner: hosts and accounts found by looking, torn down for certain', function () {
  this.timeout(60_000);
  let root: string;
  const sessions: TestSession[] = [];

  before(() => {
    root = mkdtempSync(join(tmpdir(), 'graft-local-prov-'));
    // Accounts graft creates as root must traverse to their sshd's directory.
    chmodSync(root, 0o711);
  });
  after(async () => {
    for (const session of sessions) await new LocalProvisioner({ adminPublicKey: '', adminKeyFile: '' }).destroy(session.context, []).catch(() => undefined);
    if (asRoot) for (const session of sessions) await removeSessionAccounts(session.context.id).catch(() => undefined);
    rmSync(root, { recursive: true, force: true });
  });

  async function newSession(): Promise<TestSession> {
    const id = newSessionId();
    const dir = join(root, id);
    mkdirSync(dir, { mode: 0o700 });
    chmodSync(dir, 0o711);
    const adminKey = generateEd25519KeyPair(`graft-admin@${id}`);
    const adminKeyFile = join(dir, 'admin_ed25519');
    await writeKeyPairFiles(adminKeyFile, adminKey);
    const rows = new Map<string, HostRecord>();
    const session: TestSession = {
      rows,
      adminKey,
      adminKeyFile,
      context: { id, dir, events: new EventBus(), recordHost: (host) => rows.set(host.name, { ...host, meta: { ...host.meta } }) },
    };
    sessions.push(session);
    return session;
  }

  const provisioner = (session: TestSession, isRoot?: boolean) =>
    new LocalProvisioner({ adminPublicKey: session.adminKey.publicKey, adminKeyFile: session.adminKeyFile, root: isRoot });
  const requests = (count: number) => Array.from({ length: count }, (_, i) => ({ name: `local-0${i + 1}`, slots: 1, groups: ['local'], labels: [] }));

  async function login(host: HostRecord, username: string, privateKey: string): Promise<void> {
    const connection = await SshConnection.open(
      { label: host.name, host: host.address, port: host.port, username, hostKeys: host.hostKeys, privateKey },
      { connectTimeoutMs: 5000 },
    );
    await connection.close();
  }

  it('Given a host whose directory was deleted under its running sshd, when listed, then the sshd is still found by its config path, and destroy stops it for certain', async () => {
    const session = await newSession();
    const hosts = await provisioner(session).create(session.context, requests(2));
    expect(hosts.map((h) => h.state)).to.deep.equal(['up', 'up']);
    const pids = hosts.map(pidFileOf);
    rmSync(hosts[0]!.meta.dir!, { recursive: true, force: true });

    // Nothing from memory: no known hosts are passed, only the session's directory.
    const listed = await provisioner(session).list(session.context, []);
    const seen = listed.map((h) => [h.name, h.state, h.providerId]).sort((a, b) => String(a[0]).localeCompare(String(b[0])));
    expect(seen).to.deep.equal([
      ['local-01', 'up', String(pids[0])],
      ['local-02', 'up', String(pids[1])],
    ]);

    await provisioner(session).destroy(session.context, []);
    for (const pid of pids) expect(processGone(pid), `sshd ${pid} still runs`).to.equal(true);
    expect(await provisioner(session).list(session.context, [])).to.deep.equal([]);
    expect(session.rows.get('local-01')?.state).to.equal('destroyed');
  });

  it('Given a host whose sshd is stopped (SIGSTOP), when destroyed, then it is killed and seen gone before its directory is removed', async () => {
    const session = await newSession();
    const [host] = await provisioner(session).create(session.context, requests(1));
    const pid = pidFileOf(host!);
    process.kill(pid, 'SIGSTOP');
    try {
      await provisioner(session).destroy(session.context, [host!]);
      expect(processGone(pid)).to.equal(true);
      expect(existsSync(host!.meta.dir!)).to.equal(false);
    } finally {
      if (!processGone(pid)) process.kill(pid, 'SIGCONT');
    }
  });

  it('Given the shared-account mode, when a host is created, then agent_keys sits beside authorized_keys, is named in meta, and a key added there logs in', async () => {
    const session = await newSession();
    const [host] = await provisioner(session, false).create(session.context, requests(1));
    const agentKeysFile = host!.meta.agentKeysFile!;
    expect(agentKeysFile).to.equal(join(host!.meta.dir!, 'agent_keys'));
    expect(agentKeysFile.startsWith('/')).to.equal(true);
    expect(readFileSync(join(host!.meta.dir!, 'sshd_config'), 'utf8')).to.include(
      `AuthorizedKeysFile ${join(host!.meta.dir!, 'authorized_keys')} ${agentKeysFile}`,
    );
    const agentKey = generateEd25519KeyPair('agent');
    appendFileSync(agentKeysFile, `${agentKey.publicKey}\n`);
    await login(host!, userInfo().username, agentKey.privateKey);
    expect(host!.meta.adminAccount).to.equal(undefined);
    await provisioner(session, false).destroy(session.context, [host!]);
  });

  (asRoot ? describe : describe.skip)('as root', () => {
    it('Given a root session, when created, then sshd admits the admin and graft-<session>-* accounts, hosts record the admin account, and destroy removes every session account even when not run as root', async () => {
      const session = await newSession();
      const id = session.context.id;
      const [host] = await provisioner(session, true).create(session.context, requests(1));
      expect(host!.meta.adminAccount).to.equal(`graft-${id}`);
      expect(readFileSync(join(host!.meta.dir!, 'sshd_config'), 'utf8'))
        .to.include(`AllowUsers graft-${id} graft-${id}-*`)
        .and.include('AuthorizedKeysFile %h/.ssh/authorized_keys')
        .and.include(`Match User graft-${id}-*\n    AuthorizedKeysFile /etc/graft/authorized_keys/%u`);
      await login(host!, `graft-${id}`, session.adminKey.privateKey);

      // An agent account as the agent code makes it, left behind as if graft crashed.
      const agent = `graft-${id}-a1`;
      const agentKey = generateEd25519KeyPair('agent');
      execFileSync('useradd', ['--create-home', '--shell', '/bin/sh', '--comment', 'graft agent', '--', agent]);
      execFileSync('usermod', ['-p', '*', '--', agent]);
      // Agents' key lines live in root-owned /etc/graft/authorized_keys/<account>, not in their homes.
      mkdirSync('/etc/graft/authorized_keys', { recursive: true, mode: 0o755 });
      writeFileSync(`/etc/graft/authorized_keys/${agent}`, `${agentKey.publicKey}\n`, { mode: 0o644 });
      await login(host!, agent, agentKey.privateKey);
      expect((await provisioner(session).leftovers(session.context)).sort()).to.deep.equal(
        [`account graft-${id}`, `account ${agent}`, `file /etc/sudoers.d/graft-${id}`, `file /etc/graft/authorized_keys/${agent}`].sort(),
      );

      // What decides is the host's record, not who runs `down`.
      await provisioner(session, false).destroy(session.context, [session.rows.get('local-01')!]);
      expect(accountExists(`graft-${id}`)).to.equal(false);
      expect(accountExists(agent)).to.equal(false);
      expect(existsSync(`/etc/sudoers.d/graft-${id}`)).to.equal(false);
      expect(existsSync(`/etc/graft/authorized_keys/${agent}`)).to.equal(false);
      expect(await provisioner(session).leftovers(session.context)).to.deep.equal([]);
    });

    it("Given an existing graft-<session> account graft did not create, when the admin account is ensured, then it is refused and never counted as the session's", async () => {
      const id = newSessionId();
      execFileSync('useradd', ['--no-create-home', '--shell', '/usr/sbin/nologin', '--', `graft-${id}`]);
      try {
        const error = await ensureAdminAccount(id, generateEd25519KeyPair().publicKey).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).to.be.instanceOf(ProviderError);
        expect((error as ProviderError).code).to.equal('LOCAL_ACCOUNT_FOREIGN');
        expect(await sessionAccounts(id)).to.deep.equal([]);
      } finally {
        execFileSync('userdel', ['--', `graft-${id}`]);
      }
    });

    it("Given the admin's ~/.ssh replaced by a symlink, when the admin account is ensured again, then the link is not followed and a fresh ~/.ssh holds the key", async () => {
      const id = newSessionId();
      const key = generateEd25519KeyPair().publicKey;
      const decoy = mkdtempSync(join(root, 'decoy-'));
      writeFileSync(join(decoy, 'authorized_keys'), 'decoy\n');
      try {
        const account = await ensureAdminAccount(id, key);
        rmSync(`${account.home}/.ssh`, { recursive: true, force: true });
        symlinkSync(decoy, `${account.home}/.ssh`);
        await ensureAdminAccount(id, key);
        expect(readFileSync(join(decoy, 'authorized_keys'), 'utf8')).to.equal('decoy\n');
        expect(lstatSync(`${account.home}/.ssh`).isDirectory()).to.equal(true);
        expect(readFileSync(`${account.home}/.ssh/authorized_keys`, 'utf8')).to.equal(`${key}\n`);
      } finally {
        expect(await removeSessionAccounts(id)).to.deep.equal([`graft-${id}`]);
      }
    });
  });

  it('Given a session with no hosts left, when list runs, then sshd processes of other directories are never reported', async () => {
    const session = await newSession();
    const other = await newSession();
    const [host] = await provisioner(other).create(other.context, requests(1));
    expect(await provisioner(session).list(session.context, [])).to.deep.equal([]);
    expect(isSshdRunning({ pid: pidFileOf(host!), dir: host!.meta.dir! })).to.equal(true);
    await provisioner(other).destroy(other.context, []);
  });
});
