/**
 * Benchmark: the dashboard in a real browser (Debian's Chromium through playwright-core).
 *
 * A run of BENCH_TASKS tasks (default 1,000) is written straight into a fresh state store, in
 * three shapes — wide (all independent), deep (10 chains of 100), mixed (each task needs two
 * earlier ones) — and served by the dashboard as `graft dashboard` serves it. For each shape:
 *
 * - first paint: from the start of the navigation (the page's time origin) to the moment the
 *   graph is on screen (a performance mark in the first animation frame after it was drawn),
 *   over BENCH_RUNS fresh page loads; the target is < 1 s;
 * - update latency: a task's state is written to the store by another connection (as the
 *   controller or `graft approve` would); the time until the page's node shows the new state,
 *   measured by a MutationObserver against the same clock, BENCH_UPDATES times; target < 200 ms.
 *
 * Peers: the same snapshot as `graft status --json` reads it (the CLI's view of the same run),
 * timed as a whole process, so the page's cost can be read against the CLI's.
 *
 *   npm run bench:dashboard
 *   BENCH_TASKS=2000 BENCH_SHAPES=mixed npm run bench:dashboard
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { startDashboard } from '../src/core/dashboard/dashboard-server.js';
import type { GraphSpec, TaskSpec } from '../src/core/model/graph.js';
import { initialRecords } from '../src/core/graph/scheduler.js';
import { closeRuntime, openRuntime } from '../src/core/runtime.js';
import { RunStore } from '../src/core/state/run-store.js';
import { launchChromium } from '../test/helpers/browser.js';
import { graftBin } from '../test/helpers/cli.js';

const taskCount = Number(process.env.BENCH_TASKS ?? 1000);
const runs = Number(process.env.BENCH_RUNS ?? 5);
const updates = Number(process.env.BENCH_UPDATES ?? 20);
const shapes = (process.env.BENCH_SHAPES ?? 'wide,deep,mixed').split(',');

function graphOf(shape: string): GraphSpec {
  const tasks: Record<string, TaskSpec> = {};
  for (let i = 0; i < taskCount; i++) {
    const needs =
      shape === 'deep' ? (i % 100 === 0 ? [] : [`t${i - 1}`]) : shape === 'mixed' && i >= 10 ? [`t${Math.floor(i / 10) - 1 + (i % 3)}`, `t${i - 10}`] : [];
    tasks[`t${i}`] = { name: `t${i}`, agent: 'sh', needs: [...new Set(needs)], retries: 0, secrets: [] };
  }
  return {
    file: `/bench/${shape}.yaml`,
    base: 'main',
    hosts: { provisioner: 'local', count: 10, slots: 8, labels: [] },
    agents: { sh: { name: 'sh', harness: 'shell', command: 'true', args: [], secrets: [] } },
    tasks,
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const p95 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * 0.95))]!;

async function measure(browser: Browser, shape: string): Promise<void> {
  const home = mkdtempSync(join(tmpdir(), 'graft-bench-dash-'));
  const env = { ...process.env, GRAFT_HOME: home };
  const runtime = openRuntime({ env });
  const sessionId = `b${shape.slice(0, 3)}0000`.slice(0, 8);
  runtime.store.createSession({ id: sessionId, status: 'live', provisioner: 'local', spec: {}, expiresAt: new Date(Date.now() + 3_600_000).toISOString() });
  const graph = graphOf(shape);
  const store = new RunStore(runtime.store);
  store.createRun(sessionId, { ...graph, repo: home, baseCommit: '0'.repeat(40), autoApprove: false }, initialRecords(graph), process.pid);
  store.setRunStatus(sessionId, 'running');
  const server = await startDashboard(runtime, { sessionId, host: '127.0.0.1', port: 0, approver: 'bench', writable: true });
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  await page.goto(server.signInUrl());
  const paints: number[] = [];
  for (let i = 0; i < runs; i++) {
    await page.reload();
    const mark = await page.waitForFunction(() => performance.getEntriesByName('graft:graph-painted')[0]?.startTime, undefined, {
      timeout: 60_000,
      polling: 10,
    });
    paints.push((await mark.jsonValue()) as number);
  }
  // A writer elsewhere: the controller's own connection, as in `graft run`.
  const writer = openRuntime({ env });
  const writes = new RunStore(writer.store);
  const latencies: number[] = [];
  for (let i = 0; i < updates; i++) {
    const task = `t${(i * 37) % taskCount}`;
    const state = i % 2 === 0 ? 'running' : 'succeeded';
    await page.evaluate(
      ([name, want]) => {
        const node = document.querySelector(`[data-task="${name}"]`)!;
        (window as unknown as { seen: Promise<number> }).seen = new Promise((resolve) => {
          const observer = new MutationObserver(() => {
            if (node.getAttribute('data-state') === want) {
              observer.disconnect();
              resolve(performance.timeOrigin + performance.now());
            }
          });
          observer.observe(node, { attributes: true });
        });
      },
      [task, state] as const,
    );
    const written = performance.timeOrigin + performance.now();
    writes.updateTask(sessionId, task, (r) => ({ ...r, state, attempt: 1, startedAt: new Date().toISOString() }));
    const seen = await page.evaluate(() => (window as unknown as { seen: Promise<number> }).seen);
    latencies.push(seen - written);
  }
  const cliTimes: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    execFileSync(process.execPath, [graftBin, 'status', '--json', '--session', sessionId], { env, stdio: 'ignore' });
    cliTimes.push(performance.now() - t);
  }
  const paint = median(paints);
  console.log(
    `${shape.padEnd(6)} ${taskCount} tasks: first paint median ${paint.toFixed(0)} ms (max ${Math.max(...paints).toFixed(0)}; target 1000 ms: ${(paint / 1000).toFixed(2)}x) · update median ${median(latencies).toFixed(1)} ms, p95 ${p95(latencies).toFixed(1)} ms (target 200 ms: ${(p95(latencies) / 200).toFixed(2)}x) · graft status --json ${median(cliTimes).toFixed(0)} ms (page / status ${(paint / median(cliTimes)).toFixed(2)}x)`,
  );
  await context.close();
  await server.close();
  await closeRuntime(writer);
  await closeRuntime(runtime);
  rmSync(home, { recursive: true, force: true });
}

const chromium = await launchChromium();
try {
  for (const shape of shapes) await measure(chromium.browser, shape);
} finally {
  await chromium.close();
}
