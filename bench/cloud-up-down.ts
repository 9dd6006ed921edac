/**
 * Benchmark: `up` then `down` of 1, 5, 10 and 20 EC2 VMs against moto, in process through
 * graft's bring-up and tear-down (the same code the CLI runs), with the VMs' first boot
 * played on loopback by test/fakes/vm-boot.ts (one sshd and one real run of graft's boot
 * script per VM, serially, in this same process). Counts every EC2 API call graft makes with
 * a middleware on graft's own client, per operation, and prints how the count grows with N.
 * The polling pace is the one tests use (GRAFT_CLOUD_POLL_INTERVAL=100ms), not the production
 * default (2 s): wall times measure graft plus the emulated boot, not a cloud.
 *
 *   npm run bench:cloud
 *   BENCH_SIZES=1,5 npm run bench:cloud
 */
import { EC2Client } from '@aws-sdk/client-ec2';
import { bringUp } from '../src/core/session/bring-up.js';
import { tearDown } from '../src/core/session/tear-down.js';
import { VmBoot } from '../test/fakes/vm-boot.js';
import { MOTO_REGION, motoImage, motoRunningVms, startMoto } from '../test/helpers/moto.js';
import { cloudFactory, ec2ApiFor, testRuntime } from '../test/integration/cloud/cloud-fixtures.js';

const sizes = (process.env.BENCH_SIZES ?? '1,5,10,20').split(',').map(Number);
const pacing = { poll: { initialMs: 100, maxMs: 500 } };

interface Row {
  n: number;
  upMs: number;
  downMs: number;
  upCalls: Record<string, number>;
  downCalls: Record<string, number>;
}

const total = (calls: Record<string, number>) => Object.values(calls).reduce((a, b) => a + b, 0);

async function measure(n: number, moto: Awaited<ReturnType<typeof startMoto>>): Promise<Row> {
  await moto.reset();
  const world = testRuntime();
  let calls: Record<string, number> = {};
  const client = new EC2Client({
    region: MOTO_REGION,
    endpoint: moto.endpoint,
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
    maxAttempts: 8,
    retryMode: 'adaptive',
  });
  // Counts logical calls (retries are below this step): what graft asks of EC2.
  client.middlewareStack.add(
    (next, context) => (args) => {
      const name = (context.commandName ?? 'unknown').replace(/Command$/, '');
      calls[name] = (calls[name] ?? 0) + 1;
      return next(args);
    },
    { step: 'initialize', name: 'benchCallCounter' },
  );
  const boot = new VmBoot({ running: motoRunningVms(moto.client()) }).start();
  try {
    const image = await motoImage(moto.client());
    const factory = cloudFactory(world.runtime, boot.dir, ec2ApiFor(client), pacing);
    const started = Date.now();
    const { session, hosts } = await bringUp(
      world.runtime,
      { provisioner: 'ec2', hosts: n, slots: 1, labels: [], settings: { image, instanceType: 't3.large', sshFrom: '127.0.0.1/32' }, ttlMs: 3_600_000 },
      factory,
    );
    const upMs = Date.now() - started;
    if (hosts.some((h) => h.state !== 'up')) throw new Error(`not every host came up at n=${n}`);
    const upCalls = calls;
    calls = {};
    const downStarted = Date.now();
    await tearDown(world.runtime, world.runtime.store.getSession(session.id)!, factory);
    return { n, upMs, downMs: Date.now() - downStarted, upCalls, downCalls: calls };
  } finally {
    await boot.stop();
    await world.dispose();
  }
}

const moto = await startMoto();
try {
  const rows: Row[] = [];
  for (const n of sizes) {
    rows.push(await measure(n, moto));
    process.stderr.write(`n=${n} done\n`);
  }
  console.log('\nup then down against moto (in process; emulated boot included in up)\n');
  console.log('| VMs | up (s) | down (s) | API calls up | API calls down | calls per VM |');
  console.log('| ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of rows)
    console.log(
      `| ${r.n} | ${(r.upMs / 1000).toFixed(2)} | ${(r.downMs / 1000).toFixed(2)} | ${total(r.upCalls)} | ${total(r.downCalls)} | ${((total(r.upCalls) + total(r.downCalls)) / r.n).toFixed(1)} |`,
    );
  console.log('\ncalls by operation (up + down):\n');
  const ops = [...new Set(rows.flatMap((r) => [...Object.keys(r.upCalls), ...Object.keys(r.downCalls)]))].sort();
  console.log(`| operation | ${rows.map((r) => `n=${r.n}`).join(' | ')} |`);
  console.log(`| --- | ${rows.map(() => '---:').join(' | ')} |`);
  for (const op of ops) console.log(`| ${op} | ${rows.map((r) => (r.upCalls[op] ?? 0) + (r.downCalls[op] ?? 0)).join(' | ')} |`);
  const first = rows[0]!;
  const last = rows.at(-1)!;
  console.log(
    `\nfrom ${first.n} to ${last.n} VMs (x${last.n / first.n}): calls x${((total(last.upCalls) + total(last.downCalls)) / (total(first.upCalls) + total(first.downCalls))).toFixed(1)}, up time x${(last.upMs / first.upMs).toFixed(1)}, down time x${(last.downMs / first.downMs).toFixed(1)}`,
  );
} finally {
  await moto.stop();
}
