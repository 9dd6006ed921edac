import { expect } from 'chai';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateEd25519KeyPair } from '../../src/core/ssh/index.js';
import { GraftWorld } from '../helpers/cli.js';
import { git, graftIn, makeRunRoot, runEnvelope, writeGraphFile } from '../reliability/graph-runs.js';
import { useNetnsHosts, type NetnsFleet, type NetnsHost } from '../reliability/helpers/netns-hosts.js';

/**
 * Jump hosts, on real sshd hosts in network namespaces: node0 is a bastion this machine can
 * reach; node1 sits behind it, on a link only node0's namespace has (this machine's route to it
 * is `unreachable`, so no packet for it ever leaves). graft reaches node1 only through node0.
 * HOME is a temp dir: the test's own ~/.ssh, never the real user's.
 */
describe('e2e: jump hosts (ProxyJump) through a bastion in a network namespace', function () {
  this.timeout(240_000);
  before(function () {
    if (process.getuid?.() !== 0) this.skip();
  });
  const hosts = useNetnsHosts(2, { behind: { 1: 0 } });
  let root: string;
  let repo: string;
  let home: string;
  let world: GraftWorld;

  const bastion = (fleet: NetnsFleet): NetnsHost => fleet.hosts[0]!;
  const target = (fleet: NetnsFleet): NetnsHost => fleet.hosts[1]!;

  /** An inventory with the target (and, when asked, the bastion) in it. */
  function inventory(fleet: NetnsFleet, targetVars: Record<string, unknown>, withBastion = true): string {
    const b = bastion(fleet);
    const t = target(fleet);
    const file = join(root, `inventory-${Math.random().toString(36).slice(2)}.yaml`);
    const entries: Record<string, unknown> = {
      inner: { ansible_host: t.address, ansible_user: t.user, graft_host_key: t.hostPublicKey, graft_labels: ['inner'], ...targetVars },
    };
    if (withBastion) entries.bastion = { ansible_host: b.address, ansible_user: b.user, graft_host_key: b.hostPublicKey, graft_labels: ['bastion'] };
    writeFileSync(file, JSON.stringify({ all: { vars: { ansible_ssh_private_key_file: fleet.adminKeyFile }, hosts: entries } }));
    return file;
  }

  beforeEach(() => {
    ({ root, repo } = makeRunRoot('graft-jump-'));
    home = join(root, 'home');
    mkdirSync(join(home, '.ssh'), { recursive: true, mode: 0o700 });
    world = new GraftWorld({ HOME: home, SSH_AUTH_SOCK: '', GRAFT_CONNECT_TIMEOUT: '5s' });
  });
  afterEach(async () => {
    await world.dispose();
    rmSync(root, { recursive: true, force: true });
  });

  it('given a host this machine cannot reach, when up runs without a jump, then it is unreachable (exit 5)', async () => {
    const up = await world.run(['up', '--inventory', inventory(hosts.fleet, {}, false), '--json']);
    expect(up.code, up.stdout + up.stderr).to.equal(5);
  });

  it('given graft_jump naming the bastion, when a graph runs on the inner host, then its task runs there, reports and its commit comes back', async () => {
    const fleet = hosts.fleet;
    const graph = writeGraphFile(root, 'graph.yaml', {
      base: 'main',
      hosts: { inventory: inventory(fleet, { graft_jump: 'bastion' }) },
      agents: { sh: { harness: 'shell' } },
      tasks: {
        inside: { agent: 'sh', on: 'inner', command: 'echo "$SSH_CONNECTION" > where.txt && git add where.txt && git commit -qm "from behind the bastion"' },
      },
    });
    const run = await graftIn(world, repo, ['run', graph, '--json']);
    expect(run.code, run.stdout.slice(-3000) + run.stderr).to.equal(0);
    const envelope = runEnvelope(run);
    expect(envelope.result!.tasks.map((t) => `${t.name}:${t.state}`)).to.deep.equal(['inside:succeeded']);
    // The task ran on the inner host, and the connection came from the bastion's side of their link.
    const [from, , to] = git(repo, 'show', `graft/${envelope.result!.session}/inside:where.txt`).split(' ');
    expect([from, to]).to.deep.equal([target(fleet).gateway, target(fleet).address]);
    const down = await graftIn(world, repo, ['down', '--json']);
    expect(down.code, down.stderr).to.equal(0);
  });

  it('given ProxyJump in ansible_ssh_common_args and the bastion known only from ~/.ssh/known_hosts and ~/.ssh/config, when exec runs, then it reaches the inner host', async () => {
    const fleet = hosts.fleet;
    const b = bastion(fleet);
    writeFileSync(join(home, '.ssh', 'config'), `Host jumpbox\n  HostName ${b.address}\n  User ${b.user}\n  IdentityFile ${fleet.adminKeyFile}\n`);
    writeFileSync(join(home, '.ssh', 'known_hosts'), `${b.address} ${b.hostPublicKey}\n`);
    const file = inventory(fleet, { ansible_ssh_common_args: "-o StrictHostKeyChecking=yes -o 'ProxyJump=jumpbox'" }, false);
    const up = await world.run(['up', '--inventory', file, '--json']);
    expect(up.code, up.stdout + up.stderr).to.equal(0);
    const exec = await world.run(['exec', '--json', '--', 'echo', '$SSH_CONNECTION']);
    expect(exec.code, exec.stderr).to.equal(0);
    expect(exec.json!.result.hosts[0].stdout.join(' ')).to.contain(target(fleet).address);
  });

  it('given an interactive agent behind the bastion, when graft ssh runs a command, then OpenSSH reaches it through the bastion with every key pinned', async () => {
    const fleet = hosts.fleet;
    const up = await world.run(['up', '--inventory', inventory(fleet, { graft_jump: 'bastion' }), '--json']);
    expect(up.code, up.stdout + up.stderr).to.equal(0);
    const created = await world.run(['agent', 'create', 'inside', '--interactive', '--on', 'inner', '--json']);
    expect(created.code, created.stdout + created.stderr).to.equal(0);
    const shell = await world.run(['ssh', 'inside', '--', 'echo', '"$SSH_CONNECTION"']);
    expect(shell.code, shell.stdout + shell.stderr).to.equal(0);
    const [from, , to] = shell.stdout.trim().split(' ');
    expect([from, to]).to.deep.equal([target(fleet).gateway, target(fleet).address]);
  });

  it('given a bastion that presents another key than the one pinned, when up runs, then the inner host is refused with exit code 6', async () => {
    const fleet = hosts.fleet;
    const b = bastion(fleet);
    writeFileSync(join(home, '.ssh', 'known_hosts'), `${b.address} ${generateEd25519KeyPair('not-the-bastion').publicKey}\n`);
    const file = inventory(fleet, { graft_jump: `${b.user}@${b.address}` }, false);
    const up = await world.run(['up', '--inventory', file, '--json']);
    expect(up.code, up.stdout + up.stderr).to.equal(6);
    expect(up.stdout + up.stderr).to.match(/Host key mismatch for/);
  });

  it('given a jump host found in no known_hosts file, when up runs, then it is a config error naming the line to add', async () => {
    const b = bastion(hosts.fleet);
    const up = await world.run(['up', '--inventory', inventory(hosts.fleet, { graft_jump: `${b.user}@${b.address}` }, false), '--json']);
    expect(up.code, up.stdout + up.stderr).to.equal(3);
    expect(up.stdout + up.stderr).to.contain(`add the line \\"${b.address} <type> <key>\\" to ${join(home, '.ssh', 'known_hosts')}`);
  });
});
