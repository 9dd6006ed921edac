/**
 * What the cloud tests share: a graft runtime in a throwaway home that records every event,
 * and provisioner factories that build graft's real cloud provisioner around an SDK client the
 * test made (pointed at moto or the fake Compute server), with emulated VMs (vm-boot.ts) and
 * fast polling.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EC2Client } from '@aws-sdk/client-ec2';
import type { GraftEvent } from '../../../src/core/events.js';
import { CloudProvisioner } from '../../../src/core/provisioners/cloud/cloud-provisioner.js';
import { type CloudTiming } from '../../../src/core/provisioners/cloud/cloud-timing.js';
import type { CloudApi } from '../../../src/core/provisioners/cloud/cloud-api.js';
import { EmulatedVms } from '../../../src/core/provisioners/cloud/emulated-vms.js';
import { ownerId } from '../../../src/core/provisioners/cloud/owner-id.js';
import { Ec2Api } from '../../../src/core/provisioners/ec2/ec2-api.js';
import { parseEc2Settings } from '../../../src/core/provisioners/ec2/ec2-settings.js';
import { sessionAdminKey } from '../../../src/core/provisioners/factory.js';
import { closeRuntime, openRuntime, type GraftRuntime } from '../../../src/core/runtime.js';
import type { ProvisionerFactory } from '../../../src/core/provisioners/provisioner.js';

export const fastTiming: CloudTiming = { poll: { initialMs: 50, maxMs: 200 }, bootTimeoutMs: 20_000, reachTimeoutMs: 20_000, destroyTimeoutMs: 20_000 };

export interface TestRuntime {
  runtime: GraftRuntime;
  events: GraftEvent[];
  dispose(): Promise<void>;
}

export function testRuntime(): TestRuntime {
  const root = mkdtempSync(join(tmpdir(), 'graft-cloud-'));
  const runtime = openRuntime({ env: { GRAFT_HOME: join(root, 'home') } });
  const events: GraftEvent[] = [];
  runtime.events.on((event) => events.push(event));
  return {
    runtime,
    events,
    async dispose() {
      await closeRuntime(runtime);
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** A factory that builds graft's CloudProvisioner around the API `makeApi` returns for a session's settings. */
export function cloudFactory(
  runtime: GraftRuntime,
  vmsDir: string,
  makeApi: (settings: Record<string, unknown>) => CloudApi,
  timing: Partial<CloudTiming> = {},
): ProvisionerFactory {
  return async (_name, session) => ({
    provisioner: new CloudProvisioner({
      api: makeApi((session.spec.settings ?? {}) as Record<string, unknown>),
      pool: runtime.pool,
      ...(await sessionAdminKey(session)),
      owner: ownerId(runtime.layout.home),
      ttlMs: Number(session.spec.ttlMs),
      emulated: new EmulatedVms(vmsDir),
      timing: { ...fastTiming, ...timing },
    }),
  });
}

/** graft's EC2 API around the test's client. */
export function ec2ApiFor(client: EC2Client): (settings: Record<string, unknown>) => CloudApi {
  return (settings) =>
    new Ec2Api(client, { settings: parseEc2Settings(settings), sshFrom: async () => '127.0.0.1/32', poll: fastTiming.poll, cleanupTimeoutMs: 10_000 });
}
