import { expect } from 'chai';
import type { CloudApi, CloudInstance } from '../../../src/core/provisioners/cloud/cloud-api.js';
import { findOrphans } from '../../../src/core/provisioners/cloud/orphan-collection.js';
import { testRuntime, type TestRuntime } from './cloud-fixtures.js';

/** A CloudApi that only lists: findOrphans decides from tags and the state store alone. */
function listing(instances: CloudInstance[]): CloudApi {
  return { provider: 'ec2', listTagged: async () => instances } as unknown as CloudApi;
}

describe('gc: which graft VMs count as forgotten', () => {
  let world: TestRuntime;
  beforeEach(() => (world = testRuntime()));
  afterEach(async () => world.dispose());

  it('given VMs of every kind of session, then only unknown, ended, interrupted and expired ones are orphans', async () => {
    const { store } = world.runtime;
    const soon = new Date(Date.now() + 3_600_000);
    const long = new Date(Date.now() - 3_600_000);
    store.createSession({ id: 'liveaaaa', status: 'live', provisioner: 'ec2', spec: {}, expiresAt: soon.toISOString() });
    store.createSession({ id: 'endedbbb', status: 'ended', provisioner: 'ec2', spec: {}, expiresAt: soon.toISOString() });
    store.createSession({ id: 'killedcc', status: 'creating', provisioner: 'ec2', spec: { upPid: 2 ** 22 + 7 }, expiresAt: soon.toISOString() });
    const vm = (id: string, session: string, owner: string, expires: Date): CloudInstance => ({
      id,
      placement: 'subnet-1',
      state: 'running',
      tags: { session, host: 'ec2-01', owner, expires },
    });
    const instances = [
      vm('i-live', 'liveaaaa', 'me', soon),
      vm('i-ended', 'endedbbb', 'me', soon),
      vm('i-killed', 'killedcc', 'me', soon),
      vm('i-unknown', 'goneeeee', 'me', soon),
      vm('i-theirs', 'theirsss', 'someone-else', soon),
      vm('i-theirs-expired', 'theirsss', 'someone-else', long),
      vm('i-live-expired', 'liveaaaa', 'me', long),
    ];
    const { orphans } = await findOrphans(world.runtime, [{ provider: 'ec2', settings: {}, api: listing(instances) }], { owner: 'me', graceMs: 60_000 });
    expect(Object.fromEntries(orphans.map((o) => [o.id, o.reason]))).to.deep.equal({
      'i-ended': 'session-ended',
      'i-killed': 'up-interrupted',
      'i-unknown': 'session-unknown',
      'i-theirs-expired': 'expired',
      'i-live-expired': 'expired',
    });
  });

  it("given a VM just past its end, then the grace leaves it to its own dead-man's switch", async () => {
    const justPast = new Date(Date.now() - 60_000);
    const api = listing([{ id: 'i-1', placement: 's', state: 'running', tags: { session: 'xxxxxxxx', owner: 'other', expires: justPast } }]);
    expect((await findOrphans(world.runtime, [{ provider: 'ec2', settings: {}, api }], { owner: 'me', graceMs: 15 * 60_000 })).orphans).to.deep.equal([]);
    expect((await findOrphans(world.runtime, [{ provider: 'ec2', settings: {}, api }], { owner: 'me', graceMs: 0 })).orphans).to.have.length(1);
  });
});
