import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { budgetsFor, spentBudget, type BudgetLimit } from '../../../src/core/gateway/budgets.js';
import { allowedModels, modelAllowed } from '../../../src/core/gateway/model-policy.js';
import type { AgentSpec, GraphSpec, TaskSpec } from '../../../src/core/model/graph.js';
import { GatewayStore, gatewayTokenPrefix } from '../../../src/core/state/gateway-store.js';
import { StateStore } from '../../../src/core/state/store.js';

const agent = (a: Partial<AgentSpec>): AgentSpec => ({ name: 'coder', harness: 'claude', args: [], secrets: [], ...a });
const task = (t: Partial<TaskSpec>): TaskSpec => ({ name: 'impl', agent: 'coder', needs: [], retries: 0, secrets: [], ...t });

describe('gateway model policy', () => {
  it("given an agent's model, when no models: list is set, then its model and its CLI's helper models pass and nothing else does", () => {
    const claude = allowedModels(agent({ model: 'claude-sonnet-5-5' }));
    expect(modelAllowed('claude-sonnet-5-5', claude)).to.equal(true);
    expect(modelAllowed('claude-haiku-4-5-20251001', claude)).to.equal(true);
    expect(modelAllowed('claude-opus-5', claude)).to.equal(false);
    expect(modelAllowed('claude-sonnet-5-5-extended', claude)).to.equal(false);
    const gemini = allowedModels(agent({ harness: 'gemini', model: 'gemini-2.5-pro' }));
    expect(['gemini-2.5-pro', 'gemini-2.5-flash', 'gemini-2.5-flash-lite'].every((m) => modelAllowed(m, gemini))).to.equal(true);
    expect(modelAllowed('gemini-3-pro-preview', gemini)).to.equal(false);
    expect(allowedModels(agent({ harness: 'codex', model: 'gpt-5.1-codex' }))).to.deep.equal(['gpt-5.1-codex']);
  });

  it('given a models: list of globs, when checked, then only the list counts; a Claude alias allows its family; no model at all allows any', () => {
    const listed = allowedModels(agent({ model: 'claude-sonnet-5-5', models: ['claude-haiku-*', 'claude-sonnet-5*'] }));
    expect(listed).to.deep.equal(['claude-haiku-*', 'claude-sonnet-5*']);
    expect(modelAllowed('claude-sonnet-5', listed)).to.equal(true);
    expect(modelAllowed('claude-opus-5', listed)).to.equal(false);
    expect(modelAllowed('claude-sonnet-5-5', allowedModels(agent({ model: 'sonnet' })))).to.equal(true);
    expect(modelAllowed('claude-opus-5', allowedModels(agent({ model: 'sonnet[1m]' })))).to.equal(false);
    expect(allowedModels(agent({}))).to.deep.equal(['*']);
  });
});

describe('gateway budgets', () => {
  const graph: Pick<GraphSpec, 'budgetMicroUsd' | 'agents' | 'tasks'> = {
    budgetMicroUsd: 10_000_000,
    agents: { coder: agent({ budgetMicroUsd: 4_000_000 }) },
    tasks: { impl: task({ budgetMicroUsd: 2_000_000 }), other: task({ name: 'other' }) },
  };

  it("given budgets on the task, its agent and the graph, when overrides are set, then each scope's override replaces the graph's figure", () => {
    expect(budgetsFor(graph, 'impl', () => undefined)).to.deep.equal([
      { scope: 'task', name: 'impl', microUsd: 2_000_000 },
      { scope: 'agent', name: 'coder', microUsd: 4_000_000 },
      { scope: 'graph', name: '', microUsd: 10_000_000 },
    ]);
    const raised = budgetsFor(graph, 'impl', (scope) => (scope === 'task' ? 5_000_000 : undefined));
    expect(raised[0]).to.deep.equal({ scope: 'task', name: 'impl', microUsd: 5_000_000 });
    expect(budgetsFor(graph, 'other', (scope, name) => (scope === 'task' && name === 'other' ? 1 : undefined))[0]).to.deep.equal({
      scope: 'task',
      name: 'other',
      microUsd: 1,
    });
    expect(budgetsFor({ agents: graph.agents, tasks: { x: task({ name: 'x', agent: 'coder' }) } }, 'x', () => undefined)).to.deep.equal([
      { scope: 'agent', name: 'coder', microUsd: 4_000_000 },
    ]);
  });

  it('given spending, when it is one pico-dollar under a budget the request goes, and at the budget it is refused naming that budget', () => {
    const limits: BudgetLimit[] = [
      { scope: 'task', name: 'impl', microUsd: 2_000_000 },
      { scope: 'graph', name: '', microUsd: 10_000_000 },
    ];
    const twoDollars = 2_000_000n * 1_000_000n;
    expect(spentBudget(limits, (scope) => (scope === 'task' ? twoDollars - 1n : 0n))).to.equal(undefined);
    expect(spentBudget(limits, (scope) => (scope === 'task' ? twoDollars : 0n))).to.deep.equal({
      scope: 'task',
      name: 'impl',
      microUsd: 2_000_000,
      spentPico: twoDollars,
    });
    expect(spentBudget(limits, (scope) => (scope === 'graph' ? 10n ** 13n : 0n))?.scope).to.equal('graph');
  });
});

describe('gateway tokens and usage in the state store', () => {
  let dir: string;
  let state: StateStore;
  let store: GatewayStore;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'graft-gw-store-'));
    state = StateStore.open(join(dir, 'state.db'));
    state.createSession({ id: 'gwstore1', status: 'live', provisioner: 'local', spec: {}, expiresAt: new Date(Date.now() + 3_600_000).toISOString() });
    store = new GatewayStore(state);
  });
  afterEach(() => {
    state.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('given an issued token, when looked up, then it names its grant; only its hash is stored; revoking marks every token of the agent', () => {
    const grant = {
      task: 'impl',
      attempt: 1,
      agent: 'coder',
      identity: 'impl',
      vendor: 'anthropic' as const,
      expiresAt: new Date(Date.now() + 60_000).toISOString(),
    };
    const token = store.issueToken('gwstore1', grant);
    const second = store.issueToken('gwstore1', grant);
    expect(token.startsWith(gatewayTokenPrefix)).to.equal(true);
    expect(token).to.not.equal(second);
    expect(store.findToken('gwstore1', token)).to.deep.equal(grant);
    expect(store.findToken('othersess', token)).to.equal(undefined);
    expect(store.findToken('gwstore1', `${token}x`)).to.equal(undefined);
    state.close();
    const bytes = readFileSync(join(dir, 'state.db')).toString('latin1') + readFileSync(join(dir, 'state.db-wal'), { flag: 'a+' }).toString('latin1');
    expect(bytes.includes(token.slice(gatewayTokenPrefix.length))).to.equal(false);
    state = StateStore.open(join(dir, 'state.db'));
    store = new GatewayStore(state);
    expect(store.revokeTokens('gwstore1', 'impl')).to.equal(2);
    expect(store.findToken('gwstore1', token)?.revokedAt).to.be.a('string');
    expect(store.revokeTokens('gwstore1', 'impl')).to.equal(0);
  });

  it('given requests recorded, when summed per scope, then the sums are exact past 2^53 pico-dollars and unpriced requests add nothing', () => {
    const grant = { task: 'impl', attempt: 1, agent: 'coder', identity: 'impl', vendor: 'anthropic' as const, expiresAt: '2099-01-01T00:00:00Z' };
    const big = 2n ** 53n + 1n;
    const usage = { inputTokens: 1, outputTokens: 2, cacheReadTokens: 3, cacheWriteTokens: 4, cacheWrite1hTokens: 0 };
    store.finishRequest(store.startRequest('gwstore1', grant, 'm'), 200, usage, big);
    store.finishRequest(store.startRequest('gwstore1', grant, 'm'), 200, usage, big);
    store.finishRequest(store.startRequest('gwstore1', { ...grant, task: 'other', agent: 'rev' }, 'unknown-model'), 200, usage, null);
    expect(store.spent('gwstore1', 'task', 'impl')).to.equal(2n * big);
    expect(store.spent('gwstore1', 'agent', 'rev')).to.equal(0n);
    expect(store.spent('gwstore1', 'graph', '')).to.equal(2n * big);
    expect(store.usage('gwstore1').map((r) => r.costPico)).to.deep.equal([big, big, null]);
  });
});
