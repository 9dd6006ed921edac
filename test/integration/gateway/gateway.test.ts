import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventBus, type GraftEvent } from '../../../src/core/events.js';
import { spentBudget, type BudgetLimit } from '../../../src/core/gateway/budgets.js';
import { startGateway, type ModelGateway } from '../../../src/core/gateway/gateway-server.js';
import { PriceTable, type ModelPrice } from '../../../src/core/gateway/prices.js';
import { GatewayStore, type TokenGrant } from '../../../src/core/state/gateway-store.js';
import { StateStore } from '../../../src/core/state/store.js';
import { repoRoot } from '../../helpers/cli.js';
import { startRecordedUpstream, type RecordedUpstream } from '../../helpers/recorded-upstream.js';

const session = 'gwintegr';
const fixture = (name: string) => readFileSync(join(repoRoot, 'test', 'fixtures', 'gateway', name), 'utf8');
const sonnet: ModelPrice = {
  pattern: 'claude-sonnet-5-5',
  input: 2_000_000,
  output: 10_000_000,
  cacheRead: 100_000,
  cacheWrite: 2_500_000,
  cacheWrite1h: 4_000_000,
  source: 'test',
  checked: '2026-12-04',
  file: 'test',
};
/** What anthropic-messages.sse costs at `sonnet`'s rates, in pico-dollars: 1200 in, 87 out, 3000 read, 200 + 300 (1 h) written. */
const streamCost = 1200n * 2_000_000n + 87n * 10_000_000n + 3000n * 100_000n + 200n * 2_500_000n + 300n * 4_000_000n;

interface Reply {
  status: number;
  body: string;
  /** The body as it arrived, chunk by chunk. */
  chunks: string[];
}

/** A request to the gateway as a CLI would make it; `onFirstChunk` hears the first bytes of the body. */
function call(
  port: number,
  path: string,
  options: { headers?: Record<string, string>; body?: unknown; method?: string; onFirstChunk?: () => void } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const body = options.body === undefined ? '' : JSON.stringify(options.body);
    const req = request(
      { host: '127.0.0.1', port, path, method: options.method ?? 'POST', headers: { 'content-type': 'application/json', ...options.headers } },
      (res) => {
        const chunks: string[] = [];
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          if (chunks.length === 0) options.onFirstChunk?.();
          chunks.push(chunk);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: chunks.join(''), chunks }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('model gateway against a local upstream (loopback only)', () => {
  let dir: string;
  let state: StateStore;
  let store: GatewayStore;
  let upstream: RecordedUpstream;
  let gateway: ModelGateway;
  let events: GraftEvent[];
  let live: Set<string>;
  let limits: BudgetLimit[];
  let exceeded: TokenGrant[];
  const grant = (over: Partial<TokenGrant> = {}) => ({
    task: 'impl',
    attempt: 1,
    agent: 'coder',
    identity: 'impl',
    vendor: 'anthropic' as const,
    expiresAt: new Date(Date.now() + 600_000).toISOString(),
    ...over,
  });

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'graft-gateway-'));
    state = StateStore.open(join(dir, 'state.db'));
    state.createSession({ id: session, status: 'live', provisioner: 'local', spec: {}, expiresAt: new Date(Date.now() + 3_600_000).toISOString() });
    store = new GatewayStore(state);
    upstream = await startRecordedUpstream();
    events = [];
    live = new Set(['impl', 'rev']);
    limits = [];
    exceeded = [];
    const bus = new EventBus();
    bus.on((e) => events.push(e));
    gateway = await startGateway({
      sessionId: session,
      store,
      prices: PriceTable.of([sonnet]),
      upstreams: { anthropic: upstream.url, openai: `${upstream.url}/v1`, gemini: upstream.url },
      vendorKey: (g) => `sk-real-${g.vendor}-key`,
      isLive: (g) => live.has(g.identity),
      allowedModels: (g) => (g.vendor === 'anthropic' ? ['claude-sonnet-5-5', 'claude-haiku-*', 'mystery-*'] : ['*']),
      spentBudget: (g) => spentBudget(limits, (scope, name) => store.spent(session, scope, scope === 'task' ? g.task : name)),
      onBudgetExceeded: (g) => exceeded.push(g),
      events: bus,
    });
  });
  afterEach(async () => {
    await gateway.close();
    await upstream.close();
    state.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('given a streamed answer, when the upstream holds back the rest until the caller has the first event, then it arrives (nothing is buffered), byte for byte, with the real key upstream, and is metered exactly', async () => {
    const token = store.issueToken(session, grant());
    const whole = fixture('anthropic-messages.sse');
    const cut = whole.indexOf('event: content_block_start');
    let firstArrived!: () => void;
    const arrived = new Promise<void>((resolve) => (firstArrived = resolve));
    // The upstream sends message_start, then waits until the caller has received it: a buffering gateway would never deliver it, and this test would time out.
    upstream.answer({ contentType: 'text/event-stream', parts: [whole.slice(0, cut), whole.slice(cut)], waitBefore: () => arrived });
    const reply = await call(gateway.port, '/anthropic/v1/messages?beta=true', {
      headers: { 'x-api-key': token, 'anthropic-version': '2023-06-01' },
      body: { model: 'claude-sonnet-5-5', stream: true, max_tokens: 100, messages: [] },
      onFirstChunk: firstArrived,
    });
    expect(reply.status).to.equal(200);
    expect(reply.body).to.equal(whole);
    expect(reply.chunks[0]).to.equal(whole.slice(0, cut));
    const seen = upstream.requests[0]!;
    expect(seen.url).to.equal('/v1/messages?beta=true');
    expect(seen.headers['x-api-key']).to.equal('sk-real-anthropic-key');
    expect(seen.headers['anthropic-version']).to.equal('2023-06-01');
    expect(JSON.stringify(seen.headers)).to.not.include(token);
    expect(JSON.parse(seen.body).model).to.equal('claude-sonnet-5-5');
    const [row] = store.usage(session);
    expect(row).to.deep.include({
      task: 'impl',
      attempt: 1,
      agent: 'coder',
      model: 'claude-sonnet-5-5',
      status: 200,
      inputTokens: 1200,
      outputTokens: 87,
      cacheReadTokens: 3000,
      cacheWriteTokens: 500,
      cacheWrite1hTokens: 300,
      costPico: streamCost,
    });
    const usage = events.find((e) => e.code === 'gateway.usage')!;
    expect(usage.data).to.include({ task: 'impl', model: 'claude-sonnet-5-5', inputTokens: 1200, outputTokens: 87 });
  });

  it("given OpenAI and Gemini requests, when forwarded, then each carries the real key its vendor's way (never the token, nor Gemini's ?key=) and is metered", async () => {
    const openaiToken = store.issueToken(session, grant({ vendor: 'openai' }));
    upstream.answer({ contentType: 'text/event-stream', parts: [fixture('openai-responses.sse')] });
    const openai = await call(gateway.port, '/openai/responses', {
      headers: { authorization: `Bearer ${openaiToken}` },
      body: { model: 'gpt-5.1-codex', stream: true },
    });
    expect(openai.status).to.equal(200);
    expect(upstream.requests[0]!.url).to.equal('/v1/responses');
    expect(upstream.requests[0]!.headers.authorization).to.equal('Bearer sk-real-openai-key');

    const geminiToken = store.issueToken(session, grant({ vendor: 'gemini' }));
    upstream.answer({ contentType: 'text/event-stream', parts: [fixture('gemini-stream.sse')] });
    const gemini = await call(gateway.port, `/gemini/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse&key=${geminiToken}`, {
      body: { contents: [] },
    });
    expect(gemini.status).to.equal(200);
    expect(upstream.requests[1]!.url).to.equal('/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse');
    expect(upstream.requests[1]!.headers['x-goog-api-key']).to.equal('sk-real-gemini-key');

    const rows = store.usage(session);
    expect(rows.map((r) => [r.vendor, r.model, r.inputTokens, r.outputTokens, r.cacheReadTokens])).to.deep.equal([
      ['openai', 'gpt-5.1-codex', 500, 300, 1500],
      ['gemini', 'gemini-2.5-pro', 510, 46, 400],
    ]);
    // Neither model has a price here: metered in tokens, cost unknown, one warning per model.
    expect(rows.map((r) => r.costPico)).to.deep.equal([null, null]);
    expect(events.filter((e) => e.code === 'warning' && /has no price/.test(e.message))).to.have.length(2);
  });

  it('given bad tokens (none, unknown, revoked, expired, another vendor’s, a finished attempt’s), when they call, then each is refused 401 in the vendor’s error shape, recorded, and nothing reaches the upstream', async () => {
    const revoked = store.issueToken(session, grant({ identity: 'old' }));
    store.revokeTokens(session, 'old');
    const expired = store.issueToken(session, grant({ expiresAt: new Date(Date.now() - 1000).toISOString() }));
    const openaiToken = store.issueToken(session, grant({ vendor: 'openai' }));
    const finished = store.issueToken(session, grant({ identity: 'gone' }));
    const body = { model: 'claude-sonnet-5-5', messages: [] };
    const cases: [Record<string, string>, RegExp][] = [
      [{}, /no API key was sent/],
      [{ 'x-api-key': 'sk-ant-someone-elses-key' }, /not a gateway token of graft session gwintegr/],
      [{ 'x-api-key': revoked }, /was revoked at/],
      [{ 'x-api-key': expired }, /expired at/],
      [{ 'x-api-key': openaiToken }, /is for the openai API, not anthropic/],
      [{ authorization: `Bearer ${finished}` }, /is no longer running/],
    ];
    for (const [headers, why] of cases) {
      const reply = await call(gateway.port, '/anthropic/v1/messages', { headers, body });
      expect(reply.status, JSON.stringify(headers)).to.equal(401);
      const error = JSON.parse(reply.body);
      expect(error.type).to.equal('error');
      expect(error.error.type).to.equal('authentication_error');
      expect(error.error.message).to.match(why);
    }
    const geminiReply = await call(gateway.port, '/gemini/v1beta/models/gemini-2.5-pro:generateContent', { headers: { 'x-goog-api-key': 'nope' }, body: {} });
    expect(JSON.parse(geminiReply.body).error).to.include({ code: 401, status: 'UNAUTHENTICATED' });
    expect(upstream.requests).to.have.length(0);
    expect(events.filter((e) => e.code === 'gateway.refused' && e.level === 'warn')).to.have.length(cases.length + 1);
  });

  it('given a model outside the agent’s list, when asked for, then it is refused 403 with a message the CLI shows, recorded in the audit trail, and not forwarded', async () => {
    const token = store.issueToken(session, grant());
    const reply = await call(gateway.port, '/anthropic/v1/messages', { headers: { 'x-api-key': token }, body: { model: 'claude-opus-5', messages: [] } });
    expect(reply.status).to.equal(403);
    expect(JSON.parse(reply.body).error).to.deep.equal({
      type: 'permission_error',
      message:
        'graft refused model claude-opus-5 for task impl: agent coder may use claude-sonnet-5-5, claude-haiku-*, mystery-* (its models: list in the graph)',
    });
    const refusal = events.find((e) => e.code === 'gateway.refused')!;
    expect(refusal.level).to.equal('warn');
    expect(refusal.data).to.include({ reason: 'forbidden-model', task: 'impl', agent: 'coder' });
    expect(upstream.requests).to.have.length(0);
    const codexToken = store.issueToken(session, grant({ vendor: 'openai' }));
    const unnamed = await call(gateway.port, '/openai/responses', { headers: { authorization: `Bearer ${codexToken}` }, body: { input: 'hi' } });
    expect(unnamed.status).to.equal(400);
    expect(JSON.parse(unnamed.body).error).to.include({ code: 'bad_request', message: 'the request names no model' });
  });

  it('given a task budget smaller than one request, when the first request spends past it, then the next is refused 403 budget-exceeded, the controller hears it, and no more is spent', async () => {
    limits = [{ scope: 'task', name: 'impl', microUsd: 1 }];
    const token = store.issueToken(session, grant());
    upstream.answer({ contentType: 'text/event-stream', parts: [fixture('anthropic-messages.sse')] });
    const body = { model: 'claude-sonnet-5-5', stream: true, messages: [] };
    expect((await call(gateway.port, '/anthropic/v1/messages', { headers: { 'x-api-key': token }, body })).status).to.equal(200);
    const refused = await call(gateway.port, '/anthropic/v1/messages', { headers: { 'x-api-key': token }, body });
    expect(refused.status).to.equal(403);
    expect(JSON.parse(refused.body).error.message).to.equal(
      'graft refused this request: the budget of task impl ($0.000001) is spent ($0.00527); raise it with: graft extend --budget ...',
    );
    expect(exceeded.map((g) => [g.task, g.attempt])).to.deep.equal([['impl', 1]]);
    expect(upstream.requests).to.have.length(1);
    expect(store.usage(session)).to.have.length(1);
    expect(store.spent(session, 'task', 'impl')).to.equal(streamCost);
    const event = events.find((e) => e.code === 'gateway.budget-exceeded')!;
    expect(event.level).to.equal('warn');
    expect(event.data).to.include({ task: 'impl', scope: 'task', budgetUsd: 0.000001 });
    // A request that generates nothing (counting tokens) is not stopped by the budget.
    upstream.answer({ contentType: 'application/json', parts: ['{"input_tokens":12}'] });
    expect(
      (await call(gateway.port, '/anthropic/v1/messages/count_tokens', { headers: { 'x-api-key': token }, body: { model: 'claude-sonnet-5-5', messages: [] } }))
        .status,
    ).to.equal(200);
  });

  it('given an upstream that cannot be reached, when a request comes, then the caller gets a 502 in its vendor’s shape and the request is recorded with no cost', async () => {
    await upstream.close();
    const token = store.issueToken(session, grant());
    const reply = await call(gateway.port, '/anthropic/v1/messages', { headers: { 'x-api-key': token }, body: { model: 'claude-sonnet-5-5', messages: [] } });
    expect(reply.status).to.equal(502);
    expect(JSON.parse(reply.body).error.type).to.equal('api_error');
    expect(store.usage(session).map((r) => [r.status, r.costPico])).to.deep.equal([[502, 0n]]);
  });
});
