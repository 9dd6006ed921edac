/**
 * The moto EC2 emulator for tests: `moto_server` from this machine's Python, on a free
 * loopback port, started once per test file and reset between tests. Stopped in `after` and on
 * process exit, so a failing test never leaves it running.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { EC2Client } from '@aws-sdk/client-ec2';
import { pickFreePort } from '../../src/core/provisioners/local/loopback-probe.js';

export const MOTO_REGION = 'eu-west-1';

/** Environment for a graft process that talks to moto (or a proxy in front of it) and to nothing else. */
export function awsTestEnv(endpoint: string): NodeJS.ProcessEnv {
  return {
    AWS_ENDPOINT_URL_EC2: endpoint,
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
    AWS_REGION: MOTO_REGION,
    // The credential chain must never look further (instance metadata is a network call).
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
  };
}

export interface Moto {
  endpoint: string;
  /** Forgets every resource (moto's own reset API). */
  reset(): Promise<void>;
  /** An EC2 client for the test's own look at moto (not graft's). */
  client(endpoint?: string): EC2Client;
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export async function startMoto(): Promise<Moto> {
  const port = await pickFreePort('127.0.0.1');
  const child = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', 'ignore', 'pipe'] });
  running.add(child);
  let log = '';
  child.stderr?.on('data', (chunk: Buffer) => (log = (log + chunk.toString()).slice(-4000)));
  const endpoint = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`moto_server exited (${child.exitCode}):\n${log}`);
    try {
      if ((await fetch(`${endpoint}/moto-api/data.json`)).ok) break;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) throw new Error(`moto_server did not answer within 30 s:\n${log}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    endpoint,
    async reset() {
      await fetch(`${endpoint}/moto-api/reset`, { method: 'POST' });
    },
    client(target = endpoint) {
      return new EC2Client({ region: MOTO_REGION, endpoint: target, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' }, maxAttempts: 1 });
    },
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      running.delete(child);
    },
  };
}

/** Mocha hooks: moto started in `before`, reset before each test, stopped in `after`. */
export function useMoto(): { readonly moto: Moto } {
  let moto: Moto | undefined;
  before(async function () {
    this.timeout(40_000);
    moto = await startMoto();
  });
  beforeEach(async () => {
    await moto?.reset();
  });
  after(async () => {
    await moto?.stop();
  });
  return {
    get moto(): Moto {
      if (!moto) throw new Error('moto is not started yet (use it inside a test)');
      return moto;
    },
  };
}

/** An AMI moto knows (any will do: moto boots nothing). */
export async function motoImage(client: EC2Client): Promise<string> {
  const { DescribeImagesCommand } = await import('@aws-sdk/client-ec2');
  const images = (await client.send(new DescribeImagesCommand({ Filters: [{ Name: 'name', Values: ['*ubuntu*'] }] }))).Images ?? [];
  const id = images[0]?.ImageId;
  if (!id) throw new Error('moto lists no image');
  return id;
}

/** moto's running graft instances with their user-data: what test/fakes/vm-boot.ts boots. */
export function motoRunningVms(client: EC2Client): () => Promise<{ id: string; userData: string }[]> {
  const userData = new Map<string, string>();
  return async () => {
    const { DescribeInstancesCommand, DescribeInstanceAttributeCommand } = await import('@aws-sdk/client-ec2');
    const found = await client.send(
      new DescribeInstancesCommand({
        Filters: [
          { Name: 'tag-key', Values: ['graft:session'] },
          { Name: 'instance-state-name', Values: ['running'] },
        ],
      }),
    );
    const ids = (found.Reservations ?? []).flatMap((r) => (r.Instances ?? []).map((i) => i.InstanceId!));
    for (const id of ids.filter((i) => !userData.has(i))) {
      const attribute = await client.send(new DescribeInstanceAttributeCommand({ InstanceId: id, Attribute: 'userData' }));
      userData.set(id, Buffer.from(attribute.UserData?.Value ?? '', 'base64').toString('utf8'));
    }
    return ids.map((id) => ({ id, userData: userData.get(id)! }));
  };
}
