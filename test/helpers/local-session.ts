import { expect } from 'chai';
import type { HostRecord } from '../../src/core/model/host.js';
import { openRuntime, type GraftRuntime } from '../../src/core/runtime.js';
import type { SessionRow } from '../../src/core/state/store.js';
import type { GraftWorld } from './cli.js';

/** A session of one local host, brought up by the built CLI (`graft up`), and a runtime opened on the world's home. */
export async function upLocalSession(world: GraftWorld, slots = 4): Promise<{ runtime: GraftRuntime; session: SessionRow; host: HostRecord }> {
  const up = await world.run(['up', '--hosts', '1', '--slots', String(slots), '--json']);
  expect(up.code, up.stderr).to.equal(0);
  const runtime = openRuntime({ env: world.env });
  const session = runtime.store.getSession(up.json!.result.session as string)!;
  return { runtime, session, host: runtime.store.listHosts(session.id)[0]! };
}
