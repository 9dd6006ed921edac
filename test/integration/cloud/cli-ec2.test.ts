import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeInstancesCommand } from '@aws-sdk/client-ec2';
import { emulatedVmsVariable } from '../../../src/core/provisioners/cloud/emulated-vms.js';
import { useEc2Proxy } from '../../fakes/ec2-proxy.js';
import { VmBoot } from '../../fakes/vm-boot.js';
import { GraftWorld } from '../../helpers/cli.js';
import { PostgresCluster } from '../../helpers/postgres-cluster.js';
import { awsTestEnv, motoImage, motoRunningVms, useMoto } from '../../helpers/moto.js';
import { runFanInOnPool, runOnPoolTimeoutMs } from './pool-run.js';

/** The built graft binary against moto (through a proxy that can hold answers back), with emulated VMs. */
describe('graft CLI with --provisioner ec2 (moto)', function () {
  this.timeout(90_000);
  const hooks = useMoto();
  const proxied = useEc2Proxy(() => hooks.moto.endpoint);
  let boot: VmBoot;
  let world: GraftWorld;
  let image: string;

  beforeEach(async () => {
    image = await motoImage(hooks.moto.client());
    boot = new VmBoot({ running: motoRunningVms(hooks.moto.client()) }).start();
    world = new GraftWorld({ ...awsTestEnv(proxied.proxy.endpoint), [emulatedVmsVariable]: boot.dir, GRAFT_CLOUD_POLL_INTERVAL: '100ms' });
  });
  afterEach(async () => {
    proxied.proxy.holdRunInstances = false;
    await world.dispose();
    await boot.stop();
  });

  const upArgs = (hosts: number) => [
    'up',
    '--provisioner',
    'ec2',
    '--hosts',
    String(hosts),
    '--region',
    'eu-west-1',
    '--instance-type',
    't3.large',
    '--image',
    image,
    '--ssh-from',
    '127.0.0.1/32',
    '--ttl',
    '2h',
    '--json',
  ];

  async function liveInstances(session?: string): Promise<string[]> {
    const filters = [
      { Name: 'instance-state-name', Values: ['pending', 'running'] },
      session ? { Name: 'tag:graft:session', Values: [session] } : { Name: 'tag-key', Values: ['graft:session'] },
    ];
    const found = await hooks.moto.client().send(new DescribeInstancesCommand({ Filters: filters }));
    return (found.Reservations ?? []).flatMap((r) => (r.Instances ?? []).map((i) => i.InstanceId!));
  }

  /** Starts `graft up`, and SIGKILLs it once every RunInstances reached moto but none was answered. */
  async function killUpMidFlight(hosts: number): Promise<void> {
    proxied.proxy.holdRunInstances = true;
    const child = world.spawn(upArgs(hosts));
    const deadline = Date.now() + 30_000;
    while ((await liveInstances()).length < hosts) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`up never launched ${hosts} instances (exit ${child.exitCode})`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
    proxied.proxy.holdRunInstances = false;
  }

  it('given up, exec, extend and down, then the VMs come up with pinned keys, their end moves, and down verifies none is left', async () => {
    const up = await world.run(upArgs(2));
    expect(up.code, up.stderr).to.equal(0);
    const session = up.json!.result.session as string;
    expect(up.json!.result.hosts.map((h: { name: string; state: string; user: string }) => [h.name, h.state, h.user])).to.deep.equal([
      ['ec2-01', 'up', `graft-${session}`],
      ['ec2-02', 'up', `graft-${session}`],
    ]);
    expect(up.json!.warnings.join('\n')).to.match(/emulated VMs/);
    expect(up.stderr).to.match(/\[reachable 2\/2\]/);

    const exec = await world.run(['exec', '--json', '--', 'id -un']);
    expect(exec.code, exec.stderr).to.equal(0);
    expect(exec.json!.result.hosts.map((r: { stdout: string[] }) => r.stdout[0])).to.deep.equal([`graft-${session}`, `graft-${session}`]);

    const before = boot.shutdownCalls().length;
    const extend = await world.run(['extend', '--ttl', '5h', '--json']);
    expect(extend.code, extend.stderr).to.equal(0);
    // Both VMs re-armed over SSH for about five hours from now.
    expect(boot.shutdownCalls().slice(before)).to.have.length(2);
    for (const call of boot.shutdownCalls().slice(before)) expect(call).to.match(/^-P \+(299|300|301) /);
    const tagged = await hooks.moto.client().send(new DescribeInstancesCommand({ Filters: [{ Name: 'tag:graft:session', Values: [session] }] }));
    for (const instance of (tagged.Reservations ?? []).flatMap((r) => r.Instances ?? [])) {
      expect(Number(instance.Tags!.find((t) => t.Key === 'graft:expires')!.Value)).to.equal(Math.floor(Date.parse(extend.json!.result.expiresAt) / 1000));
    }

    const down = await world.run(['down', '--json']);
    expect(down.code, down.stderr).to.equal(0);
    expect(down.json!.result.destroyed.sort()).to.deep.equal(['ec2-01', 'ec2-02']);
    expect(await liveInstances(session)).to.deep.equal([]);
  });

  it('given a graph on an ec2 pool of two VMs, when it runs in a repository, then both sides run on their own VM, the fan-in holds both files, and down leaves no instance', async function () {
    this.timeout(runOnPoolTimeoutMs);
    const hosts = { provisioner: 'ec2', region: 'eu-west-1', 'instance-type': 't3.large', image, 'ssh-from': '127.0.0.1/32' };
    const session = await runFanInOnPool(world, hosts, ['ec2-01', 'ec2-02']);
    expect(await liveInstances(session)).to.deep.equal([]);
  });

  it('given an up SIGKILLed before any launch was answered, when gc runs, then it lists every instance as up-interrupted, and gc --yes removes them all', async () => {
    await killUpMidFlight(3);
    const [session] = (await world.run(['sessions', '--json'])).json!.result.sessions;
    const hosts = (await world.run(['hosts', '--session', session.id, '--json'])).json!.result.hosts;
    // graft never heard back: no row knows an instance id. Only the tags can find them.
    expect(hosts.map((h: { state: string }) => h.state)).to.deep.equal(['creating', 'creating', 'creating']);

    const listed = await world.run(['gc', '--json']);
    expect(listed.code, listed.stderr).to.equal(0);
    expect(listed.json!.result.deleted).to.equal(false);
    expect(listed.json!.result.orphans.map((o: { id: string }) => o.id).sort()).to.deep.equal((await liveInstances(session.id)).sort());
    expect(new Set(listed.json!.result.orphans.map((o: { reason: string; session: string }) => `${o.reason} ${o.session}`))).to.deep.equal(
      new Set([`up-interrupted ${session.id}`]),
    );
    expect(await liveInstances(session.id)).to.have.length(3);

    const collected = await world.run(['gc', '--yes', '--json']);
    expect(collected.code, collected.stderr).to.equal(0);
    expect(collected.json!.result.deleted).to.equal(true);
    expect(await liveInstances(session.id)).to.deep.equal([]);
    // Nothing left for down but to verify and end the session.
    const down = await world.run(['down', '--session', session.id, '--json']);
    expect(down.code, down.stderr).to.equal(0);
  });

  it('given an up SIGKILLed mid-flight, when down runs, then it finds every instance by tag and terminates it', async () => {
    await killUpMidFlight(2);
    const [session] = (await world.run(['sessions', '--json'])).json!.result.sessions;
    expect(await liveInstances(session.id)).to.have.length(2);
    const down = await world.run(['down', '--json']);
    expect(down.code, down.stderr).to.equal(0);
    expect(down.json!.result.destroyed).to.have.length(2);
    expect(await liveInstances(session.id)).to.deep.equal([]);
  });

  it('given a live session of this home and no flags, when gc runs, then its VMs are not orphans', async () => {
    const up = await world.run(upArgs(1));
    expect(up.code, up.stderr).to.equal(0);
    const gc = await world.run(['gc', '--json']);
    expect(gc.code, gc.stderr).to.equal(0);
    expect(gc.json!.result.orphans).to.deep.equal([]);
  });

  it("given a team's store, when another operator's home runs gc, then a session that ended with its VM left is collected and a live session is not touched", async function () {
    this.timeout(180_000);
    const cluster = await PostgresCluster.start();
    const bobHome = mkdtempSync(join(tmpdir(), 'graft-bob-'));
    try {
      const database = cluster.createDatabase();
      const alice = { env: { GRAFT_DATABASE_URL: database, GRAFT_TEAM_KEY: randomBytes(32).toString('base64'), GRAFT_OPERATOR: 'alice' } };
      const bob = { env: { ...alice.env, GRAFT_OPERATOR: 'bob', GRAFT_HOME: bobHome } };
      const up = async () => {
        const result = await world.run(upArgs(1), alice);
        expect(result.code, result.stderr).to.equal(0);
        return result.json!.result.session as string;
      };
      const live = await up();
      const ended = await up();
      // Alice's machine dies right after her `down` recorded the end, before its VM went.
      cluster.psql(`UPDATE sessions SET status = 'ended' WHERE id = '${ended}'`, new URL(database).pathname.slice(1));

      const listed = await world.run(['gc', '--json'], bob);
      expect(listed.code, listed.stderr).to.equal(0);
      expect(listed.json!.result.orphans.map((o: { session: string; reason: string }) => [o.session, o.reason])).to.deep.equal([[ended, 'session-ended']]);
      const collected = await world.run(['gc', '--yes', '--json'], bob);
      expect(collected.code, collected.stderr).to.equal(0);
      expect(await liveInstances(ended)).to.deep.equal([]);
      expect(await liveInstances(live)).to.have.length(1);
      expect((await world.run(['down', '--session', live, '--json'], alice)).code).to.equal(0);
    } finally {
      cluster.stop();
      rmSync(bobHome, { recursive: true, force: true });
    }
  });

  it('given bad cloud flags, when up runs, then it fails with a usage error naming each flag, and nothing is launched', async () => {
    const bad = await world.run(['up', '--provisioner', 'ec2', '--region', 'nowhere', '--subnet', 'sub-1', '--json']);
    expect(bad.code).to.equal(2);
    expect(bad.json!.error!.message).to.include('--region: is not an AWS region').and.include('--subnet: is not a subnet id');
    const mixed = await world.run(['up', '--provisioner', 'ec2', '--zone', 'europe-west4-a', '--json']);
    expect(mixed.code).to.equal(2);
    expect(mixed.json!.error!.message).to.equal('--zone does not apply to --provisioner ec2');
    expect(await liveInstances()).to.deep.equal([]);
  });
});
