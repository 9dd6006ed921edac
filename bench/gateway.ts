/**
 * Benchmark: what the model gateway adds to a streamed completion. The same recorded Anthropic
 * Messages stream (test/fixtures/gateway/anthropic-messages.sse, 9 events) is fetched from a
 * local upstream directly, and through graft's gateway in front of that upstream (token check,
 * model and budget checks, the real key swapped in, usage metered, two SQLite writes per
 * request), alternately, over kept-alive connections as a CLI's SDK holds them. Per request:
 * time to the first byte of the body and to the end of the stream; medians (p50) and p90,
 * the overhead (gateway p50 − direct p50) and the ratio. Goal: ≤ 5 ms p50 overhead.
 *
 *   npm run bench:gateway
 *   BENCH_REQUESTS=2000 npm run bench:gateway
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGateway } from '../src/core/gateway/gateway-server.js';
import { PriceTable } from '../src/core/gateway/prices.js';
import { GatewayStore } from '../src/core/state/gateway-store.js';
import { StateStore } from '../src/core/state/store.js';
import { repoRoot } from '../test/helpers/cli.js';
import { startRecordedUpstream } from '../test/helpers/recorded-upstream.js';

const requests = Number(process.env.BENCH_REQUESTS ?? 500);
const stream = readFileSync(join(repoRoot, 'test', 'fixtures', 'gateway', 'anthropic-messages.sse'), 'utf8');
const body = JSON.stringify({ model: 'claude-sonnet-5-5', max_tokens: 1024, stream: true, messages: [{ role: 'user', content: 'Say hello.' }] });
const client = new Agent({ keepAlive: true, maxSockets: 1 });

function fetchStream(port: number, path: string, headers: Record<string, string>): Promise<{ firstByteMs: number; totalMs: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    let firstByteMs = 0;
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: 'POST',
        agent: client,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers },
      },
      (res) => {
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          if (size === 0) firstByteMs = performance.now() - started;
          size += chunk.length;
        });
        res.on('end', () =>
          size === Buffer.byteLength(stream)
            ? resolve({ firstByteMs, totalMs: performance.now() - started })
            : reject(new Error(`got ${size} bytes (status ${res.statusCode})`)),
        );
      },
    );
    req.on('socket', (socket) => socket.setNoDelay(true));
    req.on('error', reject);
    req.end(body);
  });
}

const percentile = (values: number[], p: number) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor((values.length * p) / 100))]!;

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'graft-bench-gateway-'));
  const state = StateStore.open(join(dir, 'state.db'));
  state.createSession({ id: 'benchgw1', status: 'live', provisioner: 'local', spec: {}, expiresAt: new Date(Date.now() + 3_600_000).toISOString() });
  const store = new GatewayStore(state);
  const upstream = await startRecordedUpstream();
  upstream.answer({ contentType: 'text/event-stream', parts: [stream] });
  const gateway = await startGateway({
    sessionId: 'benchgw1',
    store,
    prices: PriceTable.load(),
    upstreams: { anthropic: upstream.url, openai: upstream.url, gemini: upstream.url },
    vendorKey: () => 'sk-ant-bench',
    isLive: () => true,
    allowedModels: () => ['claude-sonnet-5-5', 'claude-haiku-*'],
    spentBudget: () => undefined,
  });
  const token = store.issueToken('benchgw1', {
    task: 'bench',
    attempt: 1,
    agent: 'coder',
    identity: 'bench',
    vendor: 'anthropic',
    expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
  });
  const upstreamPort = Number(new URL(upstream.url).port);
  const direct = () => fetchStream(upstreamPort, '/v1/messages', { 'x-api-key': 'sk-ant-bench' });
  const viaGateway = () => fetchStream(gateway.port, '/anthropic/v1/messages', { 'x-api-key': token });
  // Warm-up: connections made, code paths compiled.
  for (let i = 0; i < 50; i++) {
    await direct();
    await viaGateway();
  }
  const figures = { direct: { first: [] as number[], total: [] as number[] }, gateway: { first: [] as number[], total: [] as number[] } };
  for (let i = 0; i < requests; i++) {
    // Alternating, so load from elsewhere on the machine falls on both alike.
    for (const [name, run] of (i % 2 === 0
      ? [
          ['direct', direct],
          ['gateway', viaGateway],
        ]
      : [
          ['gateway', viaGateway],
          ['direct', direct],
        ]) as ['direct' | 'gateway', typeof direct][]) {
      const { firstByteMs, totalMs } = await run();
      figures[name].first.push(firstByteMs);
      figures[name].total.push(totalMs);
    }
  }
  const metered = store.usage('benchgw1').length;
  await gateway.close();
  await upstream.close();
  client.destroy();
  state.close();
  rmSync(dir, { recursive: true, force: true });

  const f = (ms: number) => `${ms.toFixed(2)} ms`;
  console.log(`model gateway overhead on a streamed completion (${requests} requests each, alternating; ${metered} metered through the gateway)\n`);
  console.log('measure            direct p50   gateway p50   overhead p50   ratio   direct p90   gateway p90');
  for (const [label, key] of [
    ['first byte', 'first'],
    ['whole stream', 'total'],
  ] as const) {
    const d50 = percentile(figures.direct[key], 50);
    const g50 = percentile(figures.gateway[key], 50);
    console.log(
      `${label.padEnd(18)} ${f(d50).padStart(10)}   ${f(g50).padStart(11)}   ${f(g50 - d50).padStart(12)}   ${(g50 / d50).toFixed(2).padStart(4)}x   ${f(percentile(figures.direct[key], 90)).padStart(10)}   ${f(percentile(figures.gateway[key], 90)).padStart(11)}`,
    );
  }
  const overhead = percentile(figures.gateway.total, 50) - percentile(figures.direct.total, 50);
  console.log(`\ngoal: ≤ 5 ms p50 overhead on the whole stream — ${overhead <= 5 ? 'met' : 'NOT met'} (${f(overhead)})`);
}

await main();
