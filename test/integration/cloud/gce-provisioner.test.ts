import { expect } from 'chai';
import compute from '@google-cloud/compute';
import { GceApi } from '../../../src/core/provisioners/gce/gce-api.js';
import { noCredentials } from '../../../src/core/provisioners/gce/gce-clients.js';
import { parseGceSettings } from '../../../src/core/provisioners/gce/gce-settings.js';
import { bringUp } from '../../../src/core/session/bring-up.js';
import { tearDown } from '../../../src/core/session/tear-down.js';
import { adminEndpoint } from '../../../src/core/hosts/endpoints.js';
import { FakeGce, fakeGceBootOptions } from '../../fakes/gce-server.js';
import { VmBoot } from '../../fakes/vm-boot.js';
import { cloudFactory, fastTiming, testRuntime, type TestRuntime } from './cloud-fixtures.js';

const PROJECT = 'graft-test-project';

describe('gce provisioner against the fake Compute REST server (real @google-cloud/compute client)', function () {
  this.timeout(60_000);
  const fake = new FakeGce();
  let clients: { instances: compute.InstancesClient; zoneOperations: compute.ZoneOperationsClient };
  let boot: VmBoot | undefined;
  let world: TestRuntime;

  before(async () => {
    await fake.start();
    // The client as the tests must use it: REST fallback over plain HTTP to loopback, and an explicit
    // auth client, so no credential discovery looks for a metadata server.
    const options = { apiEndpoint: '127.0.0.1', port: fake.port, protocol: 'http', fallback: true as const, authClient: noCredentials() as never };
    clients = { instances: new compute.InstancesClient(options), zoneOperations: new compute.ZoneOperationsClient(options) };
  });
  after(async () => {
    await fake.stop();
  });
  beforeEach(() => {
    fake.reset();
    world = testRuntime();
    // The fake serves serial port output itself: the boot publishes what the VM printed there.
    boot = new VmBoot(fakeGceBootOptions(fake)).start();
  });
  afterEach(async () => {
    await boot?.stop();
    await world.dispose();
  });

  const factory = () =>
    cloudFactory(world.runtime, boot!.dir, (settings) => new GceApi(clients, { settings: parseGceSettings(settings), pacing: fastTiming.poll }));
  const settings = (zones: string) => ({ project: PROJECT, zones, machineType: 'e2-standard-4' });

  it('given three hosts, when up and down run, then VMs carry the labels, keys come from the serial port, the login works, and down lists nothing after', async () => {
    const { session, hosts } = await bringUp(
      world.runtime,
      { provisioner: 'gce', hosts: 3, slots: 1, labels: [], settings: settings('europe-west4-a'), ttlMs: 3_600_000 },
      factory(),
    );
    expect(hosts.map((h) => h.state)).to.deep.equal(['up', 'up', 'up']);
    const made = fake.instances();
    expect(made.map((i) => i.name).sort()).to.deep.equal(['gce-01', 'gce-02', 'gce-03'].map((h) => `graft-${session.id}-${h}`));
    for (const instance of made) {
      expect(instance.labels).to.include({ 'graft-session': session.id, 'graft-expires': String(Math.floor(Date.parse(session.expiresAt) / 1000)) });
      expect(instance.labels['graft-owner']).to.match(/^[a-z0-9-]+$/);
      expect(instance.resource.scheduling).to.deep.equal({ instanceTerminationAction: 'DELETE', terminationTime: session.expiresAt });
      expect((instance.resource.disks as { initializeParams: { labels: Record<string, string> } }[])[0]!.initializeParams.labels).to.include({
        'graft-session': session.id,
      });
      expect(instance.serial).to.include('-----BEGIN SSH HOST KEY KEYS-----');
    }
    expect(fake.requests.some((r) => r.path.endsWith('/serialPort'))).to.equal(true);
    expect(fake.requests.every((r) => r.authorization === undefined)).to.equal(true);
    const who = await world.runtime.pool.exec(adminEndpoint(hosts[2]!), 'id -un');
    expect(who.stdout.trim()).to.equal(`graft-${session.id}`);

    const down = await tearDown(world.runtime, world.runtime.store.getSession(session.id)!, factory());
    expect(down.destroyed.sort()).to.deep.equal(['gce-01', 'gce-02', 'gce-03']);
    expect(fake.instances()).to.deep.equal([]);
    expect(fake.requests.filter((r) => r.method === 'DELETE')).to.have.length(3);
  });

  it('given the first zone exhausted, when up runs, then the VMs are made in the next zone and the failover is reported', async () => {
    fake.exhaustZone('europe-west4-a');
    const { hosts } = await bringUp(
      world.runtime,
      { provisioner: 'gce', hosts: 2, slots: 1, labels: [], settings: settings('europe-west4-a,europe-west4-b'), ttlMs: 3_600_000 },
      factory(),
    );
    expect(hosts.map((h) => [h.state, h.meta.placement])).to.deep.equal([
      ['up', 'europe-west4-b'],
      ['up', 'europe-west4-b'],
    ]);
    expect(fake.instances().map((i) => i.zone)).to.deep.equal(['europe-west4-b', 'europe-west4-b']);
    const failover = world.events.find((e) => e.code === 'host.failover');
    expect(failover?.data).to.include({ placement: 'europe-west4-a', code: 'ZONE_RESOURCE_POOL_EXHAUSTED' });
  });

  it('given VMs of two sessions, when one session is listed, then the label filter picks its VMs, a repeated launch adds none, and the fake pages like Compute Engine', async () => {
    const api = new GceApi(clients, { settings: parseGceSettings(settings('europe-west4-a')), pacing: fastTiming.poll });
    const expires = new Date(Date.now() + 3_600_000);
    for (let i = 1; i <= 3; i++)
      await api.launch({
        host: `gce-0${i}`,
        placement: 'europe-west4-a',
        userData: '#cloud-config\n',
        tags: { session: 'aaaaaaaa', host: `gce-0${i}`, expires, owner: 'o' },
        idempotencyKey: `k${i}`,
      });
    await api.launch({
      host: 'gce-01',
      placement: 'europe-west4-a',
      userData: '#cloud-config\n',
      tags: { session: 'bbbbbbbb', host: 'gce-01', expires, owner: 'o' },
      idempotencyKey: 'other',
    });
    // A launch repeated after a lost answer returns the VM already made, not a second one.
    await api.launch({
      host: 'gce-01',
      placement: 'europe-west4-a',
      userData: '#cloud-config\n',
      tags: { session: 'aaaaaaaa', host: 'gce-01', expires, owner: 'o' },
      idempotencyKey: 'k1',
    });
    const listed = await api.listSession('aaaaaaaa');
    expect(listed.map((i) => i.id).sort()).to.deep.equal(['graft-aaaaaaaa-gce-01', 'graft-aaaaaaaa-gce-02', 'graft-aaaaaaaa-gce-03']);
    expect((await api.listTagged()).length).to.equal(4);
    // And through the raw client with a tiny page, the fake pages as Compute Engine does.
    const [page, next] = await clients.instances.list(
      { project: PROJECT, zone: 'europe-west4-a', filter: 'labels.graft-session = "aaaaaaaa"', maxResults: 2 },
      { autoPaginate: false },
    );
    expect(page).to.have.length(2);
    expect(next?.pageToken).to.equal('2');
  });
});
