import { expect } from 'chai';
import {
  DescribeInstanceAttributeCommand,
  DescribeInstancesCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  DescribeVolumesCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import { bringUp } from '../../../src/core/session/bring-up.js';
import { tearDown } from '../../../src/core/session/tear-down.js';
import { adminEndpoint } from '../../../src/core/hosts/endpoints.js';
import { generateEd25519KeyPair } from '../../../src/core/ssh/index.js';
import { GraftError } from '../../../src/core/errors.js';
import { useEc2Proxy } from '../../fakes/ec2-proxy.js';
import { VmBoot } from '../../fakes/vm-boot.js';
import { MOTO_REGION, motoImage, motoRunningVms, useMoto } from '../../helpers/moto.js';
import { cloudFactory, ec2ApiFor, testRuntime, type TestRuntime } from './cloud-fixtures.js';

describe('ec2 provisioner against moto (real AWS SDK, emulated VMs booted on loopback)', function () {
  this.timeout(60_000);
  const hooks = useMoto();
  const proxied = useEc2Proxy(() => hooks.moto.endpoint);
  let boot: VmBoot | undefined;
  let world: TestRuntime;
  let graftClient: EC2Client;
  let image: string;

  beforeEach(async () => {
    world = testRuntime();
    // graft's client as production builds it (adaptive retries), only pointed at the proxied.proxy.
    graftClient = new EC2Client({
      region: MOTO_REGION,
      endpoint: proxied.proxy.endpoint,
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
      maxAttempts: 8,
      retryMode: 'adaptive',
    });
    image = await motoImage(hooks.moto.client());
  });
  afterEach(async () => {
    await boot?.stop();
    boot = undefined;
    await world.dispose();
  });

  function startBoot(transformConsole?: (text: string) => string): VmBoot {
    const running = motoRunningVms(hooks.moto.client());
    boot = new VmBoot({ running, ...(transformConsole ? { transformConsole } : {}) }).start();
    return boot;
  }

  async function up(hosts: number, settings: Record<string, string> = {}) {
    const factory = cloudFactory(world.runtime, boot!.dir, ec2ApiFor(graftClient));
    return bringUp(
      world.runtime,
      {
        provisioner: 'ec2',
        hosts,
        slots: 2,
        labels: ['gpu'],
        settings: { image, instanceType: 't3.large', sshFrom: '127.0.0.1/32', ...settings },
        ttlMs: 2 * 3_600_000,
      },
      factory,
    );
  }

  it('given two hosts, when up runs, then instances and their volumes carry the graft tags, keys are pinned from the console, and the admin login works', async () => {
    startBoot();
    const { session, hosts } = await up(2);
    expect(hosts.map((h) => [h.name, h.state])).to.deep.equal([
      ['ec2-01', 'up'],
      ['ec2-02', 'up'],
    ]);

    const described = await hooks.moto.client().send(new DescribeInstancesCommand({ Filters: [{ Name: 'tag:graft:session', Values: [session.id] }] }));
    const instances = (described.Reservations ?? []).flatMap((r) => r.Instances ?? []);
    expect(instances).to.have.length(2);
    for (const instance of instances) {
      const tags = Object.fromEntries((instance.Tags ?? []).map((t) => [t.Key, t.Value]));
      const host = hosts.find((h) => h.providerId === instance.InstanceId)!;
      expect(tags['graft:host']).to.equal(host.name);
      expect(Number(tags['graft:expires'])).to.equal(Math.floor(Date.parse(session.expiresAt) / 1000));
      expect(tags['graft:owner']).to.match(/^[a-z0-9-]+-[0-9a-f]{8}$/);
      const behaviour = await hooks.moto
        .client()
        .send(new DescribeInstanceAttributeCommand({ InstanceId: instance.InstanceId, Attribute: 'instanceInitiatedShutdownBehavior' }));
      expect(behaviour.InstanceInitiatedShutdownBehavior?.Value).to.equal('terminate');
      // Pinned from the console, and that console printed the key of the VM's own sshd.
      expect(host.hostKeys).to.deep.equal([boot!.booted.get(instance.InstanceId!)!.sshd.hostPublicKey.split(' ').slice(0, 2).join(' ')]);
    }
    const volumes = await hooks.moto.client().send(new DescribeVolumesCommand({ Filters: [{ Name: 'tag:graft:session', Values: [session.id] }] }));
    expect(volumes.Volumes).to.have.length(2);
    for (const volume of volumes.Volumes ?? [])
      expect((volume.Tags ?? []).map((t) => t.Key)).to.include.members(['graft:session', 'graft:host', 'graft:expires', 'graft:owner']);

    const groups = await hooks.moto.client().send(new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'tag:graft:session', Values: [session.id] }] }));
    expect(groups.SecurityGroups).to.have.length(1);
    expect(groups.SecurityGroups![0]!.IpPermissions!.map((p) => [p.FromPort, p.ToPort, p.IpRanges!.map((r) => r.CidrIp)])).to.deep.equal([
      [22, 22, ['127.0.0.1/32']],
    ]);

    const who = await world.runtime.pool.exec(adminEndpoint(hosts[0]!), 'id -un && sudo -n true && echo sudo-ok');
    expect(who.stdout.trim().split('\n')).to.deep.equal([`graft-${session.id}`, 'sudo-ok']);
    // The dead-man's switch was armed for the session's end (about 120 minutes, rounded up).
    const arm = boot!.shutdownCalls().at(-1)!;
    expect(arm).to.match(/^-P \+(119|120|121) /);
    expect(
      world.events
        .filter((e) => e.code === 'host.booted')
        .map((e) => e.message)
        .join('\n'),
    ).to.match(/\[booted 2\/2\]/);
  });

  it('given a session with VMs, when down runs, then every instance is terminated, the group is deleted, and a listing by tag proves it', async () => {
    startBoot();
    const { session } = await up(2);
    const result = await tearDown(world.runtime, world.runtime.store.getSession(session.id)!, cloudFactory(world.runtime, boot!.dir, ec2ApiFor(graftClient)));
    expect(result.destroyed.sort()).to.deep.equal(['ec2-01', 'ec2-02']);
    const described = await hooks.moto.client().send(new DescribeInstancesCommand({ Filters: [{ Name: 'tag:graft:session', Values: [session.id] }] }));
    expect((described.Reservations ?? []).flatMap((r) => r.Instances ?? []).map((i) => i.State?.Name)).to.deep.equal(['terminated', 'terminated']);
    const groups = await hooks.moto.client().send(new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'tag:graft:session', Values: [session.id] }] }));
    expect(groups.SecurityGroups).to.deep.equal([]);
    expect(world.runtime.store.getSession(session.id)!.status).to.equal('ended');
    expect(world.runtime.store.listHosts(session.id).map((h) => h.state)).to.deep.equal(['destroyed', 'destroyed']);
  });

  it('given the first subnet out of capacity, when up runs, then every VM lands in another subnet and the failover is reported', async () => {
    startBoot();
    const subnets = (
      (await hooks.moto.client().send(new DescribeSubnetsCommand({ Filters: [{ Name: 'default-for-az', Values: ['true'] }] }))).Subnets ?? []
    ).sort((a, b) => a.AvailabilityZone!.localeCompare(b.AvailabilityZone!));
    const [full, next] = subnets.map((s) => s.SubnetId!);
    proxied.proxy.exhaustedSubnets.add(full!);
    const { session, hosts } = await up(3);
    expect(hosts.every((h) => h.state === 'up')).to.equal(true);
    expect(hosts.map((h) => h.meta.placement)).to.deep.equal([next, next, next]);
    const refused = proxied.proxy.runInstances.filter((r) => r.refused);
    // Each host tries the full subnet at most once: the SDK does not retry a capacity error in place.
    expect(refused.length).to.be.within(1, 3);
    expect(refused.every((r) => r.subnet === full)).to.equal(true);
    const failovers = world.events.filter((e) => e.code === 'host.failover' && e.session === session.id);
    expect(failovers).to.have.length(refused.length);
    expect(failovers[0]!.data).to.include({ placement: full, code: 'InsufficientInstanceCapacity' });
  });

  it('given every subnet out of capacity, when up runs, then the hosts fail with the provider exit code and name the subnets', async () => {
    startBoot();
    const subnets = ((await hooks.moto.client().send(new DescribeSubnetsCommand({}))).Subnets ?? []).map((s) => s.SubnetId!);
    for (const subnet of subnets) proxied.proxy.exhaustedSubnets.add(subnet);
    const error = await up(1).then(
      () => undefined,
      (e: unknown) => e as GraftError,
    );
    expect(error?.exitCode).to.equal(7);
    expect(error?.message).to.match(/no capacity for ec2-01 in any placement/);
    expect(error?.message).to.include(subnets[0]);
  });

  it("given a console whose host keys are not the VM's, when up connects, then the host is refused as a key mismatch (exit 6), never trusted", async () => {
    const impostor = generateEd25519KeyPair('impostor').publicKey.split(' ').slice(0, 2).join(' ');
    startBoot((text) => text.replace(/^ssh-ed25519 \S+/m, impostor));
    const error = await up(1).then(
      () => undefined,
      (e: unknown) => e as GraftError,
    );
    expect(error?.exitCode).to.equal(6);
    const [host] = world.runtime.store.listHosts(world.runtime.store.listSessions()[0]!.id);
    expect(host!.hostKeys).to.deep.equal([impostor]);
    expect(host!.meta.error).to.match(/Host key mismatch/);
  });
});
