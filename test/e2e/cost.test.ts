import { expect } from 'chai';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { RunStore } from '../../src/core/state/run-store.js';
import { StateStore } from '../../src/core/state/store.js';
import { GraftWorld } from '../helpers/cli.js';
import { recordGatewayRequests } from '../helpers/gateway-usage.js';
import { makeRepo } from '../helpers/git-repo.js';

/**
 * The gateway's commands on the built CLI: `graft cost`, the cost in `graft status`, `graft
 * extend --budget`, and `graft graph check`'s word on unmetered agents. The requests are
 * recorded into the session's store as the gateway records them (GatewayStore), so the figures
 * are known exactly; the gateway itself is tested against a live upstream in
 * test/integration/gateway.
 */
describe('e2e: graft cost, status costs, extend --budget, graph check (the built CLI)', function () {
  this.timeout(240_000);
  let world: GraftWorld;
  let root: string;
  let repo: string;

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'graft-cost-'));
    repo = makeRepo(root);
    world = new GraftWorld();
  });
  afterEach(async () => {
    await world.dispose();
    rmSync(root, { recursive: true, force: true });
  });

  it('given recorded requests, when graft cost, status and extend --budget run, then tokens and dollars are exact per task, agent and model, unknown prices say so, and budgets are set and audited', async () => {
    const graph = join(root, 'graph.yaml');
    writeFileSync(
      graph,
      stringify({
        base: 'main',
        hosts: { provisioner: 'local', count: 1, slots: 2 },
        budget: '$10',
        agents: { sh: { harness: 'shell', command: 'true' } },
        tasks: { build: { agent: 'sh' }, check: { agent: 'sh', needs: ['build'] } },
      }),
    );
    const ran = await world.run(['run', graph, '--json'], { cwd: repo, timeoutMs: 200_000 });
    expect(ran.code, ran.stderr).to.equal(0);
    const session = ran.json!.result.session as string;

    recordGatewayRequests(world.home, session, [
      { task: 'build', agent: 'coder', model: 'claude-sonnet-5-5', tokens: [1200, 87, 3000, 500], costPico: 4_320_000_000n },
      { task: 'build', agent: 'coder', model: 'claude-sonnet-5-5', tokens: [800, 13, 0, 0], costPico: 1_730_000_000n },
      { task: 'build', agent: 'coder', model: 'claude-haiku-4-5', tokens: [100, 10, 0, 0], costPico: 150_000_000n },
      { task: 'check', agent: 'reviewer', model: 'mystery-model', tokens: [5, 6, 7, 8], costPico: null },
    ]);

    const cost = await world.run(['cost', '--json'], { cwd: repo });
    expect(cost.code, cost.stderr).to.equal(0);
    expect(cost.json!.result.tasks).to.deep.equal([
      {
        task: 'build',
        agent: 'coder',
        model: 'claude-sonnet-5-5',
        requests: 2,
        inputTokens: 2000,
        outputTokens: 100,
        cacheReadTokens: 3000,
        cacheWriteTokens: 500,
        costUsd: 0.00605,
        unpricedRequests: 0,
      },
      {
        task: 'build',
        agent: 'coder',
        model: 'claude-haiku-4-5',
        requests: 1,
        inputTokens: 100,
        outputTokens: 10,
        cacheReadTokens: 0,
        cacheWriteTokens: 0,
        costUsd: 0.00015,
        unpricedRequests: 0,
      },
      {
        task: 'check',
        agent: 'reviewer',
        model: 'mystery-model',
        requests: 1,
        inputTokens: 5,
        outputTokens: 6,
        cacheReadTokens: 7,
        cacheWriteTokens: 8,
        costUsd: null,
        unpricedRequests: 1,
      },
    ]);
    expect(cost.json!.result.total).to.deep.equal({
      requests: 4,
      inputTokens: 2105,
      outputTokens: 116,
      cacheReadTokens: 3007,
      cacheWriteTokens: 508,
      costUsd: 0.0062,
      unpricedRequests: 1,
    });
    const table = (await world.run(['cost'], { cwd: repo })).stdout.split('\n');
    expect(table[0]).to.match(/^TASK\s+AGENT\s+MODEL\s+REQUESTS\s+INPUT\s+OUTPUT\s+CACHE READ\s+CACHE WRITE\s+COST$/);
    expect(table[1]).to.match(/^build\s+coder\s+claude-sonnet-5-5\s+2\s+2,000\s+100\s+3,000\s+500\s+\$0\.00605$/);
    expect(table[3]).to.match(/^check\s+reviewer\s+mystery-model\s+1\s+5\s+6\s+7\s+8\s+unknown$/);
    expect(table[4]).to.match(/^total\s+4\s+2,105\s+116\s+3,007\s+508\s+\$0\.0062 \+ unknown$/);

    const status = await world.run(['status', '--json'], { cwd: repo });
    expect(status.json!.result.tasks.map((t: { name: string; cost?: { costUsd: number | null } }) => [t.name, t.cost?.costUsd])).to.deep.equal([
      ['build', 0.0062],
      ['check', null],
    ]);
    expect(status.json!.result.cost.costUsd).to.equal(0.0062);
    expect((await world.run(['status'], { cwd: repo })).stdout).to.match(/\nbuild\s+succeeded\s+\S+\s+1\s+[\d.]+ s\s+\$0\.0062\s+graft\//);

    const raised = await world.run(['extend', '--budget', '$3', '--task', 'build', '--by', 'lead', '--json'], { cwd: repo });
    expect(raised.code, raised.stderr).to.equal(0);
    expect(raised.json!.result).to.deep.equal({ session, budget: { session, scope: 'task', name: 'build', budgetUsd: 3, spentUsd: 0.0062 } });
    const graphWide = await world.run(['extend', '--budget', '25', '--json'], { cwd: repo });
    expect(graphWide.json!.result.budget).to.include({ scope: 'graph', budgetUsd: 25, spentUsd: 0.0062 });
    const audit = readFileSync(join(world.home, 'sessions', session, 'audit.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
    expect(audit.filter((e) => e.code === 'budget.changed').map((e) => [e.data.scope, e.data.name, e.data.budgetUsd, e.data.by])).to.deep.include.members([
      ['task', 'build', 3, 'lead'],
    ]);
    const typo = await world.run(['extend', '--budget', '3', '--task', 'buld'], { cwd: repo });
    expect(typo.code).to.equal(2);
    expect(typo.stderr).to.include('the run of session').and.include('has no task "buld" (did you mean "build"?)');
    const bad = await world.run(['extend', '--budget', 'lots'], { cwd: repo });
    expect(bad.code).to.equal(2);
    expect(bad.stderr).to.include('--budget "lots" is not an amount of dollars');
    expect((await world.run(['extend'], { cwd: repo })).stderr).to.include('say what to extend: --ttl DURATION, --budget DOLLARS, or both');
  });

  it('given a running task the gateway marked over budget, when its process ends, then the attempt fails with reason budget-exceeded and is not retried, though it has retries left', async () => {
    const graph = join(root, 'budget.yaml');
    const flag = join(root, 'go');
    // The task runs as its own account: it must be able to see the flag appear.
    chmodSync(root, 0o755);
    writeFileSync(
      graph,
      stringify({
        base: 'main',
        hosts: { provisioner: 'local', count: 1, slots: 1 },
        agents: { sh: { harness: 'shell' } },
        tasks: { spend: { agent: 'sh', retries: 2, command: `while [ ! -e ${flag} ]; do sleep 0.2; done` } },
      }),
    );
    const run = world.spawn(['run', graph, '--json'], repo);
    const exited = new Promise<number | null>((resolve) => run.on('exit', resolve));
    let output = '';
    run.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    // Wait until it runs, then do what the gateway does when it refuses a request for a spent budget.
    while (!/"state":"running"/.test(output)) await new Promise((resolve) => setTimeout(resolve, 200));
    const session = JSON.parse(output.split('\n').find((l) => l.includes('"run.started"'))!).session as string;
    const state = StateStore.open(join(world.home, 'state.db'));
    new RunStore(state).updateTask(session, 'spend', (r) => ({ ...r, budgetExceeded: 'the budget of task spend ($0.01) is spent ($0.012)' }));
    state.close();
    writeFileSync(flag, '');
    expect(await exited).to.equal(1);
    const status = await world.run(['status', '--json'], { cwd: repo });
    const [task] = status.json!.result.tasks;
    expect(task).to.include({
      name: 'spend',
      state: 'failed',
      attempt: 1,
      reason: 'budget-exceeded',
      error: 'budget-exceeded: the budget of task spend ($0.01) is spent ($0.012)',
    });
    expect(task).to.not.have.property('budgetExceeded');
    expect((await world.run(['status'], { cwd: repo })).stdout)
      .to.match(/\nspend\s+failed \(budget-exceeded\)\s/)
      .and.include('stopped by a budget: spend (budget-exceeded: the budget of task spend ($0.01) is spent ($0.012))');
  });

  it('given an agent that opts out of the gateway, when the graph is checked, then each of its tasks is warned unmetered; a subscription token without the opt-out is refused', async () => {
    const graph = join(root, 'optout.yaml');
    writeFileSync(
      graph,
      'agents:\n  sub: { harness: claude, gateway: false, secrets: [CLAUDE_CODE_OAUTH_TOKEN] }\n  metered: { harness: claude, secrets: [ANTHROPIC_API_KEY] }\ntasks:\n  a: { agent: sub, prompt: go }\n  b: { agent: metered, prompt: go }\n',
    );
    const checked = await world.run(['graph', 'check', graph, '--json'], { cwd: root });
    expect(checked.code, checked.stderr).to.equal(0);
    expect(checked.json!.warnings).to.deep.equal([
      `${graph}: task a is unmetered: its agent sub has gateway: false, so its vendor key goes to the host and graft counts no tokens, enforces no budget or model list for it`,
    ]);
    writeFileSync(graph, 'agents:\n  sub: { harness: claude, secrets: [CLAUDE_CODE_OAUTH_TOKEN] }\ntasks:\n  a: { agent: sub, prompt: go }\n');
    const refused = await world.run(['graph', 'check', graph], { cwd: root });
    expect(refused.code).to.equal(3);
    expect(refused.stderr).to.include(
      `${graph}:2: agents.sub.secrets: agent sub authenticates with CLAUDE_CODE_OAUTH_TOKEN, a subscription token the model gateway cannot forward`,
    );
  });
});
