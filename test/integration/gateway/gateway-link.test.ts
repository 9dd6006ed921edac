import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { agentCommand, agentEndpoint } from '../../../src/core/hosts/agent-access.js';
import { createAgent } from '../../../src/core/agents/create-agent.js';
import { GatewayLink } from '../../../src/core/controller/gateway-link.js';
import { initialRecords } from '../../../src/core/graph/scheduler.js';
import type { GraftEvent } from '../../../src/core/events.js';
import { defaultProvisioners } from '../../../src/core/provisioners/factory.js';
import type { HostRecord } from '../../../src/core/model/host.js';
import { closeRuntime, openRuntime, type GraftRuntime } from '../../../src/core/runtime.js';
import { bringUp } from '../../../src/core/session/bring-up.js';
import { tearDown } from '../../../src/core/session/tear-down.js';
import { shellQuote } from '../../../src/core/shell-quote.js';
import { GatewayStore } from '../../../src/core/state/gateway-store.js';
import { RunStore, type RunGraph } from '../../../src/core/state/run-store.js';
import type { SessionRow } from '../../../src/core/state/store.js';
import { GraftWorld, repoRoot } from '../../helpers/cli.js';
import { startRecordedUpstream, type RecordedUpstream } from '../../helpers/recorded-upstream.js';

// Made at run time, so no file on this machine (a compile cache of this test, say) holds it but those graft writes.
const vendorKey = `sk-ant-api03-${randomBytes(24).toString('base64url')}`;
const stream = readFileSync(join(repoRoot, 'test', 'fixtures', 'gateway', 'anthropic-messages.sse'), 'utf8');

describe('model gateway end to end: an agent account on a local host calls it through the reverse tunnel (as root)', function () {
  this.timeout(180_000);
  let world: GraftWorld;
  let runtime: GraftRuntime;
  let session: SessionRow;
  let host: HostRecord;
  let upstream: RecordedUpstream;
  let link: GatewayLink | undefined;
  let runs: RunStore;
  const stopped: string[] = [];
  const events: GraftEvent[] = [];
  const graph = (): RunGraph => ({
    file: '/dev/null',
    base: 'HEAD',
    hosts: { provisioner: 'local', count: 1, slots: 2, labels: [] },
    agents: {
      coder: { name: 'coder', harness: 'claude', model: 'claude-sonnet-5-5', args: [], secrets: ['ANTHROPIC_API_KEY'], gateway: true, telemetry: false },
    },
    // One request of the recorded stream costs $0.00527 at the shipped Sonnet 5.5 prices: the second is over the budget.
    tasks: { impl: { name: 'impl', agent: 'coder', prompt: 'go', needs: [], retries: 3, secrets: [], budgetMicroUsd: 5_000 } },
    repo: repoRoot,
    baseCommit: '0'.repeat(40),
    autoApprove: false,
  });

  /** curl as the agent's own account, over its own key, as its CLI would call its API base. */
  async function asAgent(url: string, token: string, model = 'claude-sonnet-5-5'): Promise<{ status: string; body: string }> {
    const agent = runtime.store.getAgent(session.id, 'impl')!;
    const body = JSON.stringify({ model, max_tokens: 64, stream: true, messages: [{ role: 'user', content: 'hi' }] });
    const command = `TOKEN=${shellQuote(token)}; curl -sS -q --noproxy '*' -o body -w '%{http_code}' -H "x-api-key: $TOKEN" -H 'content-type: application/json' --data ${shellQuote(body)} ${shellQuote(`${url}/anthropic/v1/messages`)}; echo; cat body; rm -f body`;
    const result = await runtime.pool.exec(agentEndpoint(agent, host), agentCommand(session.id, agent, command), { timeoutMs: 60_000 });
    const [status = '', ...rest] = result.stdout.split('\n');
    return { status, body: rest.join('\n') };
  }

  before(async function () {
    if (process.getuid?.() !== 0) throw new Error('these tests create Unix accounts: run them as root (CI does)');
    upstream = await startRecordedUpstream();
    upstream.answer({ contentType: 'text/event-stream', parts: [stream] });
    world = new GraftWorld({ ANTHROPIC_API_KEY: vendorKey, GRAFT_ANTHROPIC_BASE_URL: upstream.url });
    runtime = openRuntime({ env: world.env });
    runtime.events.on((e) => events.push(e));
    const up = await bringUp(
      runtime,
      { provisioner: 'local', hosts: 1, slots: 2, labels: [], ttlMs: 3_600_000 },
      defaultProvisioners(runtime.pool, runtime.layout.knownHosts),
    );
    session = up.session;
    host = up.hosts[0]!;
    runs = new RunStore(runtime.store);
    runs.createRun(session.id, graph(), initialRecords(graph()), process.pid);
    // The agent is made as the controller makes it: the vendor key the gateway holds is not granted to it.
    await createAgent(runtime, session, { name: 'impl', secrets: [], interactive: false });
    runs.updateTask(session.id, 'impl', (r) => ({ ...r, state: 'running', attempt: 1, agent: 'impl', host: host.name, startedAt: new Date().toISOString() }));
    link = await GatewayLink.open(runtime, session, runs, graph(), { budgetExceeded: (task) => stopped.push(task) });
  });

  after(async () => {
    await link?.close();
    await upstream?.close();
    if (runtime) {
      const current = session ? runtime.store.getSession(session.id) : undefined;
      if (current) await tearDown(runtime, current, defaultProvisioners(runtime.pool, runtime.layout.knownHosts)).catch(() => undefined);
      await closeRuntime(runtime);
    }
    await world?.dispose();
  });

  it('given a running attempt, when its agent calls the gateway URL with its token, then the answer streams back through the tunnel, the vendor sees the real key, the key is nowhere on the host, and a spent budget stops the next request', async () => {
    const access = (await link!.access(runs.getTask(session.id, 'impl')!, host))!;
    expect(access.url).to.match(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(access.token).to.match(/^graft-gw-[A-Za-z0-9_-]{43}$/);
    expect(runtime.store.listHosts(session.id)[0]!.meta.gatewayPort).to.equal(new URL(access.url).port);

    const first = await asAgent(access.url, access.token);
    expect(first.status).to.equal('200');
    expect(first.body).to.equal(stream);
    expect(upstream.requests[0]!.headers['x-api-key']).to.equal(vendorKey);
    expect(upstream.requests[0]!.url).to.equal('/v1/messages');
    const [row] = new GatewayStore(runtime.store).usage(session.id);
    expect(row).to.deep.include({
      task: 'impl',
      attempt: 1,
      agent: 'coder',
      model: 'claude-sonnet-5-5',
      inputTokens: 1200,
      outputTokens: 87,
      cacheReadTokens: 3000,
      cacheWriteTokens: 500,
    });
    // $2 in + $10 out + $0.10 cache read + $2.50 (5 min) / $4 (1 h) cache write per million, from data/model-prices.json.
    expect(row!.costPico).to.equal(1200n * 2_000_000n + 87n * 10_000_000n + 3000n * 100_000n + 200n * 2_500_000n + 300n * 4_000_000n);

    // The vendor key was never sent to the host: not in the agent's files, nor anywhere it can read.
    const agent = runtime.store.getAgent(session.id, 'impl')!;
    const search = await runtime.pool.exec(
      agentEndpoint(agent, host),
      agentCommand(session.id, agent, `grep -rl -F -e ${shellQuote(vendorKey)} . /tmp /var/tmp 2>/dev/null; echo done`),
    );
    expect(search.stdout).to.equal('done\n');
    expect(agent.secrets).to.deep.equal([]);

    // A model outside the agent's list is refused at the gateway, in the vendor's shape.
    const opus = await asAgent(access.url, access.token, 'claude-opus-5');
    expect(opus.status).to.equal('403');
    expect(JSON.parse(opus.body).error.type).to.equal('permission_error');

    // The first request spent the task's $0.005: the next is refused and the controller told to stop the task.
    const second = await asAgent(access.url, access.token);
    expect(second.status).to.equal('403');
    expect(JSON.parse(second.body).error.message).to.match(/^graft refused this request: the budget of task impl \(\$0\.005\) is spent \(\$0\.00527\)/);
    expect(stopped).to.deep.equal(['impl']);
    expect(runs.getTask(session.id, 'impl')!.budgetExceeded).to.equal('the budget of task impl ($0.005) is spent ($0.00527)');
    expect(upstream.requests).to.have.length(1);
    expect(events.some((e) => e.code === 'gateway.budget-exceeded' && e.level === 'warn')).to.equal(true);
    // The next attempt of the task would not even start.
    expect(link!.spent('impl')).to.equal('the budget of task impl ($0.005) is spent ($0.00527)');
  });

  it('given its agent revoked, when the same token calls again, then it is refused 401', async () => {
    const access = (await link!.access(runs.getTask(session.id, 'impl')!, host))!;
    link!.revoke('impl');
    const after = await asAgent(access.url, access.token);
    expect(after.status).to.equal('401');
    expect(JSON.parse(after.body).error.message).to.match(/^the gateway token of task impl \(agent impl, attempt 1\) was revoked at /);
  });
});
