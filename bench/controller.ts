/**
 * Benchmark: the controller's overhead and memory.
 *
 * (1) A graph of BENCH_TASKS no-op `shell` tasks (default 1,000) on 10 local hosts × 8 slots, in
 *     two shapes — wide (all independent) and deep (10 chains) — run by `graft run`. The peer is
 *     the same number of `true` execs issued directly over graft's SSH layer to the same hosts,
 *     8 at a time per host, chains in order: the ratio is what the controller adds on top of
 *     bare execs (agents, worktrees, results, revocation, bookkeeping).
 *     A second peer, the isolation floor: per task only what isolating it costs at the least —
 *     a fresh account with its key line made in one call of graft's host tool, one SSH login as
 *     it running `true`, the account removed — same hosts, same concurrency, no controller,
 *     worktree or result. What graft takes beyond the floor is the rest of its per-task work.
 *     A third, the isolation floor with the pool: the same per task, but the account is claimed
 *     from the host's warm pool (filled ahead in batches by graft's AccountPool) and revoked at
 *     once; deletion is batched and left to `down`, as graft does.
 *     Also printed: ready → running latency of the deep shape's tasks after its first layer
 *     (a warm pool), p50 and p99, against one bare exec's latency (median of 50 in a row), and
 *     how long `graft down` took (it deletes what the run left for later).
 * (2) The controller's peak memory (VmHWM of the `graft run` process) with BENCH_RUNNING agents
 *     (default 200) running at once on 10 hosts.
 *
 * (3) With BENCH_STORES=sqlite,postgres, each shape also runs with the state in PostgreSQL (team
 *     mode): a throwaway cluster of Debian's server on loopback, durable commits (fsync on), as a
 *     production database; the bare and floor peers are measured once and serve both rows.
 *
 *   npm run bench:controller                 # as root (agents get Unix accounts)
 *   BENCH_TASKS=200 BENCH_SHAPES=wide npm run bench:controller
 *   BENCH_SHAPES=wide BENCH_STORES=sqlite,postgres npm run bench:controller
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pLimit from 'p-limit';
import { stringify } from 'yaml';
import { AccountPool } from '../src/core/agents/account-pool.js';
import { authorizedKeyLine } from '../src/core/hosts/authorized-key.js';
import { HostAdmin } from '../src/core/hosts/host-admin.js';
import type { HostRecord } from '../src/core/model/host.js';
import { closeRuntime, openRuntime, type GraftRuntime } from '../src/core/runtime.js';
import { adminEndpoint } from '../src/core/hosts/endpoints.js';
import { generateEd25519KeyPair } from '../src/core/ssh/index.js';
import { PostgresCluster } from '../test/helpers/postgres-cluster.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const graft = join(root, 'bin', 'run.js');
const tasks = Number(process.env.BENCH_TASKS ?? 1000);
const running = Number(process.env.BENCH_RUNNING ?? 200);
const shapes = (process.env.BENCH_SHAPES ?? 'wide,deep').split(',');
const stores = (process.env.BENCH_STORES ?? 'sqlite').split(',');
const hosts = 10;
const slots = 8;
const chains = 10;
const work = mkdtempSync(join(tmpdir(), 'graft-bench-controller-'));

function makeRepo(): string {
  const repo = join(work, 'repo');
  execFileSync('git', ['init', '-q', '-b', 'main', repo]);
  writeFileSync(join(repo, 'README'), 'bench\n');
  execFileSync('git', ['-C', repo, 'add', '-A']);
  execFileSync('git', ['-C', repo, '-c', 'user.name=b', '-c', 'user.email=b@b', 'commit', '-qm', 'bench']);
  return repo;
}

/** Task names: t0..tN-1; deep: chain c holds every task i with i % chains == c, each needing the previous. */
function graph(shape: string, n: number, hostSlots: number, command: string): string {
  const taskMap: Record<string, Record<string, unknown>> = {};
  for (let i = 0; i < n; i++) taskMap[`t${i}`] = { agent: 'noop', ...(shape === 'deep' && i >= chains ? { needs: [`t${i - chains}`] } : {}) };
  const file = join(work, `${shape}-${n}.yaml`);
  writeFileSync(
    file,
    stringify({
      base: 'main',
      hosts: { provisioner: 'local', count: hosts, slots: hostSlots },
      agents: { noop: { harness: 'shell', command } },
      tasks: taskMap,
    }),
  );
  return file;
}

interface GraftRun {
  session: string;
  home: string;
  env: NodeJS.ProcessEnv;
  wallMs: number;
  tasksMs: number;
  peakRssMb: number;
  outcome: string;
  readyToRunningMs: number[];
  failed: number;
}

/** Runs `graft run --json`, sampling its memory; tasksMs is from the first task starting to the end of the run. */
function runGraft(file: string, repo: string, label: string, database?: string): Promise<GraftRun> {
  const home = join(work, `home-${label}`);
  const team = database ? { GRAFT_DATABASE_URL: database, GRAFT_TEAM_KEY: randomBytes(32).toString('base64'), GRAFT_OPERATOR: 'bench' } : {};
  const env = { ...process.env, GRAFT_HOME: home, ...team };
  return new Promise((done, fail) => {
    const started = performance.now();
    const child = spawn(process.execPath, [graft, 'run', file, '--json'], {
      cwd: repo,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    let peakKb = 0;
    const sample = setInterval(() => {
      try {
        const hwm = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        if (hwm) peakKb = Math.max(peakKb, Number(hwm[1]));
      } catch {
        // Ended.
      }
    }, 100);
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => {
      clearInterval(sample);
      const wallMs = performance.now() - started;
      const events = out
        .trim()
        .split('\n')
        .map(
          (l) =>
            JSON.parse(l) as {
              code?: string;
              time?: string;
              data?: { state?: string; task?: string };
              result?: { session: string; outcome: string; tasks: { name: string; state: string; reason?: string; error?: string }[] };
            },
        );
      const envelope = events.at(-1)!;
      if (!envelope.result) return fail(new Error(`graft run failed (exit ${code}): ${JSON.stringify(envelope).slice(0, 2000)}\n${err.slice(-2000)}`));
      const first = events.find((e) => e.code === 'task.changed' && e.data?.state === 'starting');
      const last = events.filter((e) => e.code === 'run.finished').at(-1);
      const tasksMs = Date.parse(last!.time!) - Date.parse(first!.time!);
      // Ready → running of tasks that became ready during the run (not at its start).
      const readyAt = new Map<string, number>();
      const readyToRunningMs: number[] = [];
      for (const e of events) {
        if (e.code !== 'task.changed' || !e.data?.task) continue;
        if (e.data.state === 'ready' && Date.parse(e.time!) > Date.parse(first!.time!) + 1000) readyAt.set(e.data.task, Date.parse(e.time!));
        if (e.data.state === 'running' && readyAt.has(e.data.task)) readyToRunningMs.push(Date.parse(e.time!) - readyAt.get(e.data.task)!);
      }
      const notSucceeded = envelope.result.tasks.filter((t) => t.state !== 'succeeded');
      // Why, for the figures' reader: a benchmark whose tasks fail measures something else.
      for (const t of notSucceeded.slice(0, 20)) console.error(`${label}: task ${t.name} ${t.state}${t.reason ? ` (${t.reason})` : ''}: ${t.error ?? ''}`);
      const failed = notSucceeded.length;
      done({
        session: envelope.result.session,
        home,
        env,
        wallMs,
        tasksMs,
        peakRssMb: Math.round(peakKb / 1024),
        outcome: envelope.result.outcome,
        readyToRunningMs,
        failed,
      });
    });
  });
}

/**
 * Runs `task(host, k)` n times over the session's hosts (still up), `slots` at a time per host,
 * round robin; chains in order for the deep shape. Returns the wall time.
 */
async function overHosts(
  run: GraftRun,
  shape: string,
  n: number,
  task: (runtime: GraftRuntime, host: HostRecord, k: number) => Promise<unknown>,
  before?: (runtime: GraftRuntime, hosts: HostRecord[]) => Promise<void>,
): Promise<number> {
  const runtime = openRuntime({ env: run.env });
  try {
    const up = runtime.store.listHosts(run.session).filter((h) => h.state === 'up');
    await Promise.all(up.map((h) => runtime.pool.exec(adminEndpoint(h, runtime.env), 'true')));
    await before?.(runtime, up);
    const limits = up.map(() => pLimit(slots));
    let next = 0;
    const one = () => {
      const k = next++;
      const i = k % up.length;
      return limits[i]!(() => task(runtime, up[i]!, k));
    };
    const started = performance.now();
    if (shape === 'wide') await Promise.all(Array.from({ length: n }, one));
    else
      await Promise.all(
        Array.from({ length: chains }, async () => {
          for (let k = 0; k < n / chains; k++) await one();
        }),
      );
    return performance.now() - started;
  } finally {
    await closeRuntime(runtime);
  }
}

/** The same execs over the SSH layer, on the admin logins graft already holds. */
function direct(run: GraftRun, shape: string, n: number): Promise<number> {
  return overHosts(run, shape, n, (runtime, host) => runtime.pool.exec(adminEndpoint(host, runtime.env), 'true'));
}

/** Per task: an account and key line (one call of graft's host tool), a login as it running `true`, the account removed. */
function isolationFloor(run: GraftRun, shape: string, n: number): Promise<number> {
  return overHosts(run, shape, n, async (runtime, host, k) => {
    const admin = new HostAdmin(runtime.pool, host, runtime.env);
    const account = `graft-${run.session}-f${k}`;
    const pair = generateEd25519KeyPair(account);
    const keyLine = authorizedKeyLine({
      publicKey: pair.publicKey,
      from: await admin.controllerAddress(),
      expiresAt: new Date(Date.now() + 3_600_000),
      interactive: false,
    });
    await admin.provision(account, keyLine, []);
    const endpoint = {
      label: account,
      host: host.address,
      port: host.port,
      username: account,
      hostKeys: host.hostKeys,
      privateKey: Buffer.from(pair.privateKey),
    };
    const result = await runtime.pool.exec(endpoint, 'true');
    if (result.exitCode !== 0) throw new Error(`${account}: true exited ${result.exitCode}: ${result.stderr}`);
    // Removal kills the account's processes, its end of the login included, as graft's does.
    await admin.run(['remove', account]);
  });
}

/**
 * The isolation floor with graft's pool: per task an account claimed from the host's warm pool
 * (key line written), a login as it running `true`, and its revocation (key and processes gone);
 * the pool is filled ahead by the AccountPool, and deletion is left to `down` as graft leaves it.
 */
function poolFloor(run: GraftRun, shape: string, n: number): Promise<number> {
  let accounts: AccountPool | undefined;
  return overHosts(
    run,
    shape,
    n,
    async (runtime, host, k) => {
      const admin = new HostAdmin(runtime.pool, host, runtime.env);
      const claimed = await accounts!.claim(host, `floor${k}`);
      const pair = generateEd25519KeyPair(claimed.account);
      const keyLine = authorizedKeyLine({
        publicKey: pair.publicKey,
        from: await admin.controllerAddress(),
        expiresAt: new Date(Date.now() + 3_600_000),
        interactive: false,
      });
      await admin.claimPooled(claimed.account, keyLine, []);
      const endpoint = {
        label: claimed.account,
        host: host.address,
        port: host.port,
        username: claimed.account,
        hostKeys: host.hostKeys,
        privateKey: Buffer.from(pair.privateKey),
      };
      const result = await runtime.pool.exec(endpoint, 'true');
      if (result.exitCode !== 0) throw new Error(`${claimed.account}: true exited ${result.exitCode}: ${result.stderr}`);
      await admin.revokePooled(claimed.account);
    },
    async (runtime, up) => {
      accounts = new AccountPool(runtime, run.session);
      for (const host of up) accounts.setTarget(host, 2 * slots);
    },
  ).finally(() => accounts?.stop());
}

/** One bare exec's latency: the median of 50 `true` in a row on one admin login graft holds. */
async function bareLatency(run: GraftRun): Promise<number> {
  const runtime = openRuntime({ env: run.env });
  try {
    const host = runtime.store.listHosts(run.session).find((h) => h.state === 'up')!;
    await runtime.pool.exec(adminEndpoint(host, runtime.env), 'true');
    const times: number[] = [];
    for (let i = 0; i < 50; i++) {
      const started = performance.now();
      await runtime.pool.exec(adminEndpoint(host, runtime.env), 'true');
      times.push(performance.now() - started);
    }
    return percentile(times, 50);
  } finally {
    await closeRuntime(runtime);
  }
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
}

/** Takes the session down; returns how long it took. */
function down(run: GraftRun, repo: string): number {
  const started = performance.now();
  execFileSync(process.execPath, [graft, 'down', '--session', run.session, '--quiet'], {
    cwd: repo,
    env: run.env,
    stdio: 'ignore',
  });
  return performance.now() - started;
}

const repo = makeRepo();
const rows: string[] = [];
const latency: string[] = [];
const cluster = stores.includes('postgres') ? await PostgresCluster.start({ durable: true }) : undefined;
try {
  for (const shape of shapes) {
    // Each store's run is taken down before the next starts (`down` deletes every pool account
    // on these hosts, so one `down` would otherwise do the other's work); the last run's hosts
    // serve the bare and floor peers, measured once for every row.
    const runs: { store: string; run: GraftRun; downMs: number }[] = [];
    for (const [i, store] of stores.entries()) {
      const run = await runGraft(
        graph(shape, tasks, slots, 'true'),
        repo,
        `${shape}-${store}`,
        cluster && store === 'postgres' ? cluster.createDatabase() : undefined,
      );
      runs.push({ store, run, downMs: i < stores.length - 1 ? down(run, repo) : NaN });
    }
    const last = runs.at(-1)!;
    const bare = await direct(last.run, shape, tasks);
    const floor = await isolationFloor(last.run, shape, tasks);
    const pooled = await poolFloor(last.run, shape, tasks);
    const one = await bareLatency(last.run);
    last.downMs = down(last.run, repo);
    const ratio = (ms: number) => `${(ms / bare).toFixed(1)}x`;
    for (const { store, run, downMs } of runs) {
      rows.push(
        `| ${shape} | ${store} | ${tasks} | ${run.outcome}${run.failed ? ` (${run.failed} not succeeded)` : ''} | ${(run.tasksMs / 1000).toFixed(1)} s | ${(bare / 1000).toFixed(2)} s | **${ratio(run.tasksMs)}** | ${(floor / 1000).toFixed(1)} s (${ratio(floor)}) | ${(pooled / 1000).toFixed(1)} s (${ratio(pooled)}) | ${(run.wallMs / 1000).toFixed(1)} s | ${(downMs / 1000).toFixed(1)} s | ${run.peakRssMb} MB |`,
      );
      console.error(rows.at(-1));
      if (run.readyToRunningMs.length > 0) {
        const p50 = percentile(run.readyToRunningMs, 50);
        const p99 = percentile(run.readyToRunningMs, 99);
        latency.push(
          `| ${shape} | ${store} | ${run.readyToRunningMs.length} | ${one.toFixed(1)} ms | ${p50.toFixed(0)} ms (**${(p50 / one).toFixed(1)}x**) | ${p99.toFixed(0)} ms (**${(p99 / one).toFixed(1)}x**) |`,
        );
        console.error(latency.at(-1));
      }
    }
  }
  const perHost = Math.ceil(running / hosts);
  const hold = graph('wide', running, perHost, 'sleep 20');
  const memory = await runGraft(hold, repo, 'memory');
  down(memory, repo);
  console.log(
    `\n| shape | state store | tasks | outcome | graft: first start → end | bare execs | graft / bare | isolation floor (account + login + removal) | floor with the pool (claim + login + revoke) | graft run wall (with hosts) | graft down | controller peak RSS |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n${rows.join('\n')}`,
  );
  if (latency.length > 0)
    console.log(
      `\n| shape | state store | tasks ready during the run | one bare exec | ready → running p50 | p99 |\n|---|---|---|---|---|---|\n${latency.join('\n')}`,
    );
  console.log(
    `\ncontroller peak RSS with ${running} agents running at once (${hosts} hosts × ${perHost} slots, each task sleeps 20 s): ${memory.peakRssMb} MB (${memory.outcome})`,
  );
} finally {
  cluster?.stop();
  rmSync(work, { recursive: true, force: true });
}
