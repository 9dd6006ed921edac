import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { GraftWorld } from '../helpers/cli.js';
import { TEST_ACCOUNT, useSshdFleet } from '../helpers/sshd.js';
import { git as gitIn } from '../helpers/git-repo.js';

/**
 * An inventory host where graft logs in as an ordinary account with neither root nor sudo:
 * agents cannot get accounts of their own, so they share the login, and graft says so.
 * The host's sshd reads ~/.ssh/authorized_keys, as a normal server does.
 */
describe('e2e: agents on a host without root or sudo (isolation: shared-account)', function () {
  this.timeout(120_000);
  const hosts = useSshdFleet(1, { sshd: { extraConfig: ['AuthorizedKeysFile .ssh/authorized_keys'] } });
  const keysFile = `/home/${TEST_ACCOUNT}/.ssh/authorized_keys`;
  let dir: string;
  let world: GraftWorld;

  before(function () {
    if (process.getuid?.() !== 0) throw new Error('run as root: the test account and its ~/.ssh are set up by the test');
    dir = mkdtempSync(join(tmpdir(), 'graft-shared-'));
    const { uid, gid } = statSync(`/home/${TEST_ACCOUNT}`);
    mkdirSync(`/home/${TEST_ACCOUNT}/.ssh`, { recursive: true, mode: 0o700 });
    writeFileSync(keysFile, hosts.fleet.clientKey.publicKey + '\n', { mode: 0o600 });
    chownSync(`/home/${TEST_ACCOUNT}/.ssh`, uid, gid);
    chownSync(keysFile, uid, gid);
    writeFileSync(join(dir, 'admin_key'), hosts.fleet.clientKey.privateKey, { mode: 0o600 });
    const endpoint = hosts.fleet.endpoints[0]!;
    writeFileSync(
      join(dir, 'inventory.yaml'),
      stringify({
        all: {
          hosts: {
            plain01: {
              ansible_host: endpoint.host,
              ansible_port: endpoint.port,
              ansible_user: TEST_ACCOUNT,
              ansible_ssh_private_key_file: 'admin_key',
              graft_host_key: hosts.fleet.hosts[0]!.sshd.hostPublicKey,
              graft_slots: 4,
            },
          },
        },
      }),
    );
    world = new GraftWorld({ SHARED_TOKEN: 'shared_secret_value_91c2' });
  });
  after(async () => {
    await world?.dispose();
    rmSync(`/home/${TEST_ACCOUNT}/.ssh`, { recursive: true, force: true });
    rmSync(`/home/${TEST_ACCOUNT}/.graft`, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  });

  it('given such a host, when an agent is created, used and removed, then it is listed as shared-account with a warning, works in its own directory, and leaves no key line behind', async () => {
    const up = await world.run(['up', '--inventory', join(dir, 'inventory.yaml'), '--json']);
    expect(up.code, up.stdout + up.stderr).to.equal(0);
    expect(up.json!.result.hosts[0].isolation).to.equal('shared-account');
    const session = up.json!.result.session as string;

    const create = await world.run(['agent', 'create', 'solo', '--secret', 'SHARED_TOKEN', '--json']);
    expect(create.code, create.stdout + create.stderr).to.equal(0);
    expect(create.json!.result.agent.isolation).to.equal('shared-account');
    expect(create.json!.warnings.join('\n')).to.match(/shares the login account graft-test \(isolation: shared-account\)/);
    expect(readFileSync(keysFile, 'utf8')).to.include(`graft-agent:${session}:solo:`);

    const exec = await world.run([
      'agent',
      'exec',
      'solo',
      '--json',
      '--',
      'pwd; id -un; echo "$GRAFT_AGENT"; test "$SHARED_TOKEN" = shared_secret_value_91c2 && echo secret-ok',
    ]);
    expect(exec.code, exec.stderr).to.equal(0);
    expect(exec.json!.result.stdout.trim().split('\n')).to.deep.equal([
      `/home/${TEST_ACCOUNT}/.graft/agents/${session}-solo`,
      TEST_ACCOUNT,
      `graft-agent:${session}:solo:`,
      'secret-ok',
    ]);

    const ls = await world.run(['agent', 'ls', '--json']);
    expect(ls.json!.result.agents[0].isolation).to.equal('shared-account');
    expect(ls.json!.warnings.join('\n')).to.match(/solo shares the login account/);

    expect((await world.run(['agent', 'rm', 'solo'])).code).to.equal(0);
    expect(readFileSync(keysFile, 'utf8')).not.to.include('graft-agent:');
    expect(readFileSync(keysFile, 'utf8')).to.include(hosts.fleet.clientKey.publicKey.split(' ')[1]);
    expect(existsSync(`/home/${TEST_ACCOUNT}/.graft/agents/${session}-solo`)).to.equal(false);
    expect((await world.run(['down'])).code).to.equal(0);
  });

  it('given such a host, when an agent works in a worktree, then it is made, pushed to and pulled back over the login account', async () => {
    const repo = join(dir, 'repo');
    const git = (...args: string[]) => gitIn(repo, ...args);
    execFileSync('git', ['init', '-q', '-b', 'main', repo]);
    writeFileSync(join(repo, 'a.txt'), 'one\n');
    git('add', '-A');
    git('commit', '-qm', 'first');
    expect((await world.run(['up', '--inventory', join(dir, 'inventory.yaml')])).code).to.equal(0);
    const create = await world.run(['agent', 'create', 'wt', '--from', 'main', '--repo', repo, '--json']);
    expect(create.code, create.stdout + create.stderr).to.equal(0);
    writeFileSync(join(repo, 'a.txt'), 'one\ntwo\n');
    git('commit', '-qam', 'second');
    const push = await world.run(['sync', 'push', 'wt', '--json']);
    expect(push.code, push.stderr).to.equal(0);
    expect(push.json!.result.fastForwarded).to.equal(true);
    const work = await world.run([
      'agent',
      'exec',
      'wt',
      '--json',
      '--',
      'cat a.txt && echo three >> a.txt && git commit -qam third && git log --format=%s -1',
    ]);
    expect(work.json!.result.stdout).to.equal('one\ntwo\nthird\n');
    const pull = await world.run(['sync', 'pull', 'wt', '--json']);
    expect(pull.code, pull.stderr).to.equal(0);
    expect(git('show', `${pull.json!.result.branch}:a.txt`)).to.equal('one\ntwo\nthree');
    expect((await world.run(['down'])).code).to.equal(0);
  });

  it('given an agent whose host cannot be reached, when rm and down run, then neither claims a revocation that did not happen, and down succeeds once the host is back', async () => {
    const up = await world.run(['up', '--inventory', join(dir, 'inventory.yaml'), '--json']);
    expect(up.code, up.stderr).to.equal(0);
    expect((await world.run(['agent', 'create', 'cut'])).code).to.equal(0);
    const host = hosts.fleet.hosts[0]!;
    process.kill(host.sshd.pid, 'SIGSTOP');
    try {
      const rm = await world.run(['agent', 'rm', 'cut', '--json'], { env: { GRAFT_CONNECT_TIMEOUT: '2s' } });
      expect(rm.code).to.equal(5);
      expect(rm.json!.error!.code).to.equal('REVOKE_FAILED');
      const down = await world.run(['down', '--json'], { env: { GRAFT_CONNECT_TIMEOUT: '2s' } });
      expect(down.code).to.equal(7);
      expect(down.json!.error!.message).to.match(/could not be revoked: cut on plain01/);
      expect((await world.run(['agent', 'ls', '--all', '--json'])).json!.result.agents[0].state).to.equal('revoke-failed');
      expect(readFileSync(keysFile, 'utf8')).to.include(`graft-agent:${up.json!.result.session}:cut:`);
    } finally {
      process.kill(host.sshd.pid, 'SIGCONT');
    }
    const again = await world.run(['down', '--json']);
    expect(again.code, again.stdout).to.equal(0);
    expect(readFileSync(keysFile, 'utf8')).not.to.include('graft-agent:');
  });
});
