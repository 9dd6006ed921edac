import { expect } from 'chai';
import { emulatedVmsVariable } from '../../../src/core/provisioners/cloud/emulated-vms.js';
import { gceEndpointVariable } from '../../../src/core/provisioners/gce/gce-clients.js';
import { FakeGce, fakeGceBootOptions } from '../../fakes/gce-server.js';
import { VmBoot } from '../../fakes/vm-boot.js';
import { GraftWorld } from '../../helpers/cli.js';
import { runFanInOnPool, runOnPoolTimeoutMs } from './pool-run.js';

/** The built graft binary with --provisioner gce against the fake Compute server (GRAFT_GCE_ENDPOINT). */
describe('graft CLI with --provisioner gce (fake Compute server)', function () {
  this.timeout(60_000);
  const fake = new FakeGce();
  let endpoint: string;
  let boot: VmBoot;
  let world: GraftWorld;

  before(async () => {
    endpoint = await fake.start();
  });
  after(async () => {
    await fake.stop();
  });
  beforeEach(() => {
    fake.reset();
    boot = new VmBoot(fakeGceBootOptions(fake)).start();
    world = new GraftWorld({ [gceEndpointVariable]: endpoint, [emulatedVmsVariable]: boot.dir, GRAFT_CLOUD_POLL_INTERVAL: '100ms' });
  });
  afterEach(async () => {
    await world.dispose();
    await boot.stop();
  });

  it('given up and down, then the VMs come up through the fake with no credentials sent, and down leaves none', async () => {
    const up = await world.run(['up', '--provisioner', 'gce', '--hosts', '2', '--project', 'graft-test-project', '--zone', 'europe-west4-a', '--json']);
    expect(up.code, up.stderr).to.equal(0);
    expect(up.json!.result.hosts.map((h: { state: string }) => h.state)).to.deep.equal(['up', 'up']);
    expect(fake.instances()).to.have.length(2);
    expect(fake.requests.every((r) => r.authorization === undefined)).to.equal(true);
    const down = await world.run(['down', '--json']);
    expect(down.code, down.stderr).to.equal(0);
    expect(fake.instances()).to.deep.equal([]);
  });

  it('given a graph on a gce pool of two VMs, when it runs in a repository, then both sides run on their own VM, the fan-in holds both files, and down leaves no instance', async function () {
    this.timeout(runOnPoolTimeoutMs);
    await runFanInOnPool(world, { provisioner: 'gce', project: 'graft-test-project', zone: 'europe-west4-a' }, ['gce-01', 'gce-02']);
    expect(fake.instances()).to.deep.equal([]);
  });

  it('given a non-loopback endpoint, when up runs, then it is refused as a usage error before any call', async () => {
    const bad = await world.run(['up', '--provisioner', 'gce', '--project', 'graft-test-project', '--zone', 'europe-west4-a', '--json'], {
      env: { [gceEndpointVariable]: 'http://203.0.113.9:80' },
    });
    expect(bad.code).to.equal(2);
    expect(bad.json!.error!.message).to.match(/GRAFT_GCE_ENDPOINT must be http:\/\/127/);
    expect(fake.requests).to.deep.equal([]);
  });
});
