import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gatewayUsage } from '../../../src/core/dashboard/dashboard-usage.js';
import { GatewayStore } from '../../../src/core/state/gateway-store.js';
import { RunStore, type RunGraph } from '../../../src/core/state/run-store.js';
import { StateStore } from '../../../src/core/state/store.js';

describe("the dashboard's tokens and cost, from the gateway's metering", () => {
  let dir: string;
  let state: StateStore;
  const session = 'dashuse1';
  const graph = (budgetMicroUsd?: number): RunGraph =>
    ({
      file: 'g.yaml',
      base: 'main',
      repo: '/r',
      baseCommit: 'c',
      autoApprove: false,
      hosts: { provisioner: 'local', count: 1, slots: 1 },
      agents: {},
      tasks: {},
      ...(budgetMicroUsd !== undefined ? { budgetMicroUsd } : {}),
    }) as unknown as RunGraph;
  const record = (task: string, tokens: [number, number], costPico: bigint | null) => {
    const store = new GatewayStore(state);
    const grant = { task, attempt: 1, agent: 'coder', identity: task, vendor: 'anthropic' as const, expiresAt: '2099-01-01T00:00:00Z' };
    store.finishRequest(
      store.startRequest(session, grant, 'm'),
      200,
      { inputTokens: tokens[0], outputTokens: tokens[1], cacheReadTokens: 0, cacheWriteTokens: 0, cacheWrite1hTokens: 0 },
      costPico,
    );
  };
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'graft-dash-usage-'));
    state = StateStore.open(join(dir, 'state.db'));
    state.createSession({ id: session, status: 'live', provisioner: 'local', spec: {}, expiresAt: new Date(Date.now() + 3_600_000).toISOString() });
  });
  afterEach(() => {
    state.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('given no metered request and no budget, when read, then there is nothing to show', () => {
    new RunStore(state).createRun(session, graph(), [], 1);
    const usage = gatewayUsage(state);
    expect(usage.taskUsage(session).size).to.equal(0);
    expect(usage.sessionCost(session)).to.equal(undefined);
  });

  it("given a graph budget and requests, when read, then each task has its sums, the session its spend against the budget, and graft extend's budget wins", () => {
    new RunStore(state).createRun(session, graph(10_000_000), [], 1);
    const usage = gatewayUsage(state);
    expect(usage.sessionCost(session)).to.deep.equal({ spentUsd: 0, budgetUsd: 10 });
    record('build', [1000, 50], 1_500_000_000_000n);
    record('build', [200, 10], 500_000_000_000n);
    record('check', [5, 6], null);
    expect(Object.fromEntries(usage.taskUsage(session))).to.deep.equal({
      build: { requests: 2, inputTokens: 1200, outputTokens: 60, costUsd: 2 },
      check: { requests: 1, inputTokens: 5, outputTokens: 6, costUsd: null },
    });
    expect(usage.sessionCost(session)).to.deep.equal({ spentUsd: 2, budgetUsd: 10 });
    new GatewayStore(state).setBudget(session, 'graph', '', 1_500_000, 'lead');
    expect(usage.sessionCost(session)).to.deep.equal({ spentUsd: 2, budgetUsd: 1.5 });
  });
});
