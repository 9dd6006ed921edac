import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { AccountPool } from '../../../src/core/agents/account-pool.js';
import { agentEndpoint } from '../../../src/core/hosts/agent-access.js';
import { createAgent } from '../../../src/core/agents/create-agent.js';
import { HostAdmin } from '../../../src/core/hosts/host-admin.js';
import { sessionSystemFiles } from '../../../src/core/provisioners/local/admin-account.js';
import { removeAgent } from '../../../src/core/agents/remove-agent.js';
import type { HostRecord } from '../../../src/core/model/host.js';
import { closeRuntime, type GraftRuntime } from '../../../src/core/runtime.js';
import { PoolStore } from '../../../src/core/state/pool-store.js';
import type { SessionRow } from '../../../src/core/state/store.js';
import { generateEd25519KeyPair, SshPool } from '../../../src/core/ssh/index.js';
import { GraftWorld } from '../../helpers/cli.js';
import { upLocalSession } from '../../helpers/local-session.js';
import { accountExists } from '../../helpers/sshd.js';

const secretValue = 'pool-test-secret-5d1e9a';

/** Pids of the processes whose owner is the uid, from /proc. */
/** Live processes of a uid: a killed one's zombie runs nothing and waits for its parent (often PID 1, which here reaps slowly). */
function processesOf(uid: number): number[] {
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .filter((e) => {
      try {
        return statSync(`/proc/${e}`).uid === uid && !/^State:\s+[ZX]/m.test(readFileSync(`/proc/${e}/status`, 'utf8'));
      } catch {
        return false;
      }
    })
    .map(Number);
}

const uidOf = (account: string) => Number(execFileSync('id', ['-u', account], { encoding: 'utf8' }).trim());
const keyFileOf = (account: string) => `/etc/graft/authorized_keys/${account}`;

describe('warm account pool (local hosts as root, real sshd)', function () {
  this.timeout(180_000);
  let world: GraftWorld;
  let runtime: GraftRuntime;
  let session: SessionRow;
  let host: HostRecord;
  let accounts: AccountPool;

  before(function () {
    if (process.getuid?.() !== 0) throw new Error('these tests create Unix accounts: run them as root (CI does)');
  });
  beforeEach(async () => {
    world = new GraftWorld({ POOL_SECRET: secretValue });
    ({ runtime, session, host } = await upLocalSession(world));
    accounts = new AccountPool(runtime, session.id);
  });
  afterEach(async () => {
    await accounts.stop();
    await closeRuntime(runtime);
    await world.dispose();
  });

  const rows = () => new PoolStore(runtime.store);
  const readyAccounts = () =>
    rows()
      .list(session.id, ['ready'], host.name)
      .map((r) => r.account);
  async function filled(count: number): Promise<string[]> {
    accounts.setTarget(host, count);
    for (let i = 0; i < 600 && readyAccounts().length < count; i++) await new Promise((r) => setTimeout(r, 100));
    expect(readyAccounts()).to.have.length.of.at.least(count);
    return readyAccounts();
  }
  const make = (name: string, secrets: string[] = []) =>
    createAgent(runtime, session, { name, on: host.name, secrets, interactive: false, pool: accounts }).then((r) => r.agent);

  it("given a pool account's home left behind by a deletion that never finished, then its uid is not given to a new account", async () => {
    // The tool's high-water mark (70000 before its first account), as next_uid reads it.
    const next = (existsSync('/var/lib/graft/last-uid') ? Number(readFileSync('/var/lib/graft/last-uid', 'utf8').trim()) : 70000) + 1;
    const left = `/home/graft-zzzzzzzz-${next}`;
    mkdirSync(left, { mode: 0o700 });
    chownSync(left, next, next);
    try {
      const [account] = await filled(1);
      expect(uidOf(account!)).to.not.equal(next);
      expect(statSync(left).uid).to.equal(next);
    } finally {
      rmSync(left, { recursive: true, force: true });
    }
  });

  it('given a pool made ahead, then its accounts exist on the host with no key, no identity and no secret, and the host lists them as ready', async () => {
    const made = await filled(3);
    const listed = await new HostAdmin(runtime.pool, host, runtime.env).listPool(session.id);
    expect(listed.map((l) => l.account).sort()).to.include.members(made);
    for (const account of made) {
      expect(account).to.match(new RegExp(`^graft-${session.id}-\\d+$`));
      expect(accountExists(account), account).to.equal(true);
      expect(existsSync(keyFileOf(account)), `${account} has no key line`).to.equal(false);
      const home = `/home/${account}`;
      expect(statSync(home).mode & 0o777).to.equal(0o700);
      expect(readdirSync(`${home}/.graft/identity`)).to.deep.equal([]);
      expect(readdirSync(`${home}/.graft/secrets`)).to.deep.equal([]);
      expect(listed.find((l) => l.account === account)!.state).to.equal('ready');
    }
    // No key gets anyone in as a pool account.
    const probe = new SshPool({ connectTimeoutMs: 5_000 });
    try {
      const login = probe.exec(
        {
          label: 'probe',
          host: host.address,
          port: host.port,
          username: made[0]!,
          hostKeys: host.hostKeys,
          privateKey: Buffer.from(generateEd25519KeyPair('probe').privateKey),
        },
        'true',
      );
      await login.then(
        () => expect.fail('a pool account let a login in'),
        (error: { code?: string }) => expect(error.code).to.equal('SSH_AUTH'),
      );
    } finally {
      await probe.closeAll();
    }
  });

  it('given agents made at once from a small pool, then each gets an account of its own, claimed in the state store, and the host refuses to give one out twice', async () => {
    accounts.setTarget(host, 2);
    const agents = await Promise.all(['a1', 'a2', 'a3', 'a4', 'a5', 'a6'].map((n) => make(n)));
    const used = agents.map((a) => a.account);
    expect(new Set(used).size, used.join(' ')).to.equal(6);
    for (const agent of agents) {
      expect(agent.pooled).to.equal(true);
      expect(agent.account).to.match(new RegExp(`^graft-${session.id}-\\d+$`));
      const row = rows()
        .list(session.id, ['claimed'], host.name)
        .find((r) => r.account === agent.account);
      expect(row?.agent, agent.name).to.equal(agent.name);
    }
    const admin = new HostAdmin(runtime.pool, host, runtime.env);
    const again = await admin.claimPooled(used[0]!, 'ssh-ed25519 AAAA second', []).then(
      () => 'claimed twice',
      (error: Error) => error.message,
    );
    expect(again).to.match(/claimed before: refusing to give it to a second agent/);
    // Revoked and deleted, an account's name never comes back: later batches are named after new uids.
    await removeAgent(runtime, session, runtime.store.getAgent(session.id, 'a1')!);
    await admin.deletePooled(session.id, [used[0]!]);
    const later = await admin.fillPool(session.id, 2);
    for (const { account } of later) expect(used).not.to.include(account);
    const uids = later.map((l) => Number(l.account.split('-').at(-1)));
    expect(Math.min(...uids)).to.be.greaterThan(Math.max(...used.map((a) => Number(a.split('-').at(-1)))));
  });

  it('given a running agent, when it is revoked, then its key, secrets and processes are gone before removeAgent returns, and its account waits for a batch deletion', async () => {
    await filled(1);
    const agent = await make('worker', ['POOL_SECRET']);
    const uid = uidOf(agent.account);
    const endpoint = agentEndpoint(agent, host);
    const ssh = new SshPool({ connectTimeoutMs: 10_000 });
    try {
      await ssh.exec(endpoint, 'setsid sleep 600 </dev/null >/dev/null 2>&1 &');
      expect(processesOf(uid).length, 'the agent runs something').to.be.greaterThan(0);
      expect(readFileSync(`/home/${agent.account}/.graft/secrets/POOL_SECRET`, 'utf8')).to.equal(secretValue);
      expect(await removeAgent(runtime, session, runtime.store.getAgent(session.id, 'worker')!)).to.equal(true);
      expect(existsSync(keyFileOf(agent.account)), 'key line').to.equal(false);
      expect(processesOf(uid), 'processes of the revoked agent').to.deep.equal([]);
      expect(existsSync(`/home/${agent.account}/.graft/secrets`), 'secrets').to.equal(false);
      expect(existsSync(`/home/${agent.account}/.graft/identity`), 'identity').to.equal(false);
      const again = await new SshPool({ connectTimeoutMs: 5_000 }).exec(endpoint, 'true').then(
        () => 'accepted',
        (error: { code?: string }) => error.code,
      );
      expect(again).to.equal('SSH_AUTH');
      // Deleted later, in a batch: the account is still there, recorded as spent.
      expect(accountExists(agent.account)).to.equal(true);
      expect(
        rows()
          .list(session.id, ['spent'], host.name)
          .map((r) => r.account),
      ).to.deep.equal([agent.account]);
      const deleted = await new HostAdmin(runtime.pool, host, runtime.env).deletePooled(session.id, [agent.account]);
      expect(deleted).to.deep.equal([agent.account]);
      expect(accountExists(agent.account)).to.equal(false);
      expect(existsSync(`/home/${agent.account}`)).to.equal(false);
    } finally {
      await ssh.closeAll();
    }
  });

  it('given an agent holding a key, then the batch deletion refuses it: only revoked or never-claimed accounts are deleted', async () => {
    await filled(1);
    const agent = await make('live');
    const refused = await new HostAdmin(runtime.pool, host, runtime.env).deletePooled(session.id, [agent.account]).then(
      () => 'deleted',
      (error: Error) => error.message,
    );
    expect(refused).to.match(/still holds a key/);
    expect(accountExists(agent.account)).to.equal(true);
  });

  it("given an agent with a secret beside pool accounts, then no pool account owns a secret or key file or can read the agent's", async () => {
    const ready = await filled(3);
    const agent = await make('holder', ['POOL_SECRET']);
    // Other tests' accounts come and go under /home meanwhile: a home that vanishes mid-walk is not an error.
    const spare = ready.find((a) => a !== agent.account)!;
    const owned = execFileSync('find', ['/home', '/etc/graft', '-xdev', '-ignore_readdir_race', '-uid', String(uidOf(spare))], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .sort();
    expect(owned).to.deep.equal([`/home/${spare}`, `/home/${spare}/.graft`, `/home/${spare}/.graft/identity`, `/home/${spare}/.graft/secrets`]);
    const peek = execFileSync(
      'setpriv',
      ['--reuid', spare, '--regid', spare, '--init-groups', '--', 'sh', '-c', `cat /home/${agent.account}/.graft/secrets/POOL_SECRET 2>&1 || true`],
      { encoding: 'utf8' },
    );
    expect(peek)
      .to.match(/Permission denied/)
      .and.not.to.include(secretValue);
  });

  it("given a deletion cut short once its accounts were gone (homes and claim marks left), then the session's leftovers name them and the host's deletion of the session's pool removes them", async () => {
    const [spare] = await filled(1);
    const agent = await make('cut');
    await removeAgent(runtime, session, runtime.store.getAgent(session.id, 'cut')!);
    const home = `/home/${agent.account}`;
    const mark = `/var/lib/graft/claims/${agent.account}`;
    expect(existsSync(mark), mark).to.equal(true);
    // What a pool-delete whose caller went away between userdel and the rest leaves behind.
    execFileSync('userdel', ['--force', '--', agent.account]);
    expect(existsSync(home), home).to.equal(true);
    expect(await sessionSystemFiles(session.id)).to.include.members([home, mark]);

    await new HostAdmin(runtime.pool, host, runtime.env).deletePooled(session.id, 'all');
    expect(existsSync(home), home).to.equal(false);
    expect(existsSync(mark), mark).to.equal(false);
    expect(accountExists(spare!), spare).to.equal(false);
    expect(await sessionSystemFiles(session.id)).to.not.include.members([home, mark]);
  });

  it('given pool accounts never claimed and agents revoked but not yet deleted, when the session is taken down, then none is left, and gc lists what a session left behind', async () => {
    await filled(4);
    const agent = await make('gone');
    await removeAgent(runtime, session, runtime.store.getAgent(session.id, 'gone')!);
    const all = rows()
      .list(session.id, ['ready', 'claimed', 'spent'], host.name)
      .map((r) => r.account);
    expect(all).to.include(agent.account);
    await accounts.stop();

    // A session whose down never ran to the end: gc finds its accounts (pool accounts among them).
    runtime.store.setSessionStatus(session.id, 'ended');
    const gc = await world.run(['gc', '--json']);
    expect(gc.code, gc.stderr).to.equal(0);
    const listed = (gc.json!.result.accounts as { account: string; kind: string }[]).filter((a) => a.kind === 'pool').map((a) => a.account);
    expect(listed.sort()).to.deep.equal([...all].sort());
    runtime.store.setSessionStatus(session.id, 'live');

    const down = await world.run(['down', '--session', session.id, '--json']);
    expect(down.code, down.stderr).to.equal(0);
    for (const account of all) expect(accountExists(account), account).to.equal(false);
    const passwd = execFileSync('getent', ['passwd'], { encoding: 'utf8' });
    expect(passwd.split('\n').filter((l) => l.startsWith(`graft-${session.id}`))).to.deep.equal([]);
    expect(readdirSync('/home').filter((d) => d.startsWith(`graft-${session.id}`))).to.deep.equal([]);
    expect(
      readdirSync('/var/lib/graft/claims').filter((d) => d.startsWith(`graft-${session.id}-`)),
      'claim marks left',
    ).to.deep.equal([]);
    expect(
      rows().list(session.id, ['ready', 'claimed', 'spent']).length,
      `pool rows not settled: ${JSON.stringify(rows().list(session.id, ['ready', 'claimed', 'spent']))} ${JSON.stringify(down.json)}`,
    ).to.equal(0);
  });
});
