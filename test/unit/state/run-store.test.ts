import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { GatewayStore } from '../../../src/core/state/gateway-store.js';
import { PoolStore } from '../../../src/core/state/pool-store.js';
import { LeaseLostError, RunStore, type ControllerClaim, type RunGraph, type RunRow } from '../../../src/core/state/run-store.js';
import { StateStore } from '../../../src/core/state/store.js';
import type { TaskRecord } from '../../../src/core/model/task.js';
import { storeBackends } from '../../helpers/store-backends.js';

const session = 'runstore';
const graph = { file: 'g.yaml', base: 'main', repo: '/r', baseCommit: 'c', autoApprove: false, agents: {}, tasks: {} } as unknown as RunGraph;
const task = (name: string, state: TaskRecord['state'] = 'pending'): TaskRecord => ({ name, state, attempt: 0 });
const claim = (id: string, machine = 'this-machine', leaseMs = 60_000): ControllerClaim => ({ id, machine, pid: 1000 + id.length, leaseMs });
/** The lease rule of controller-lease.ts, with "this machine" and its live pids given. */
const liveness =
  (here: string, livePids: number[]) =>
  (run: RunRow): boolean =>
    run.controllerMachine === here ? livePids.includes(run.controllerPid!) : Date.parse(run.leaseExpiresAt ?? '') > Date.now();

for (const backend of storeBackends()) {
  describe(`run, pool and gateway stores (${backend.name})`, () => {
    backend.hooks();
    let target: string;
    let state: StateStore;
    let runs: RunStore;
    beforeEach(() => {
      target = backend.fresh();
      state = StateStore.open(target);
      state.createSession({ id: session, status: 'live', provisioner: 'local', spec: {}, expiresAt: '2030-01-01T00:00:00.000Z' });
      runs = new RunStore(state);
      runs.createRun(session, graph, [task('a'), task('b'), task('c')], 1);
    });
    afterEach(() => state.close());

    it('given tasks, when a batch of transitions names one stale state, then the others land and the stale one is not written', () => {
      runs.transition(session, [{ from: 'pending', record: task('b', 'ready') }]);
      const written = runs.transition(session, [
        { from: 'pending', record: task('a', 'ready') },
        { from: 'pending', record: task('b', 'running') },
      ]);
      expect(written.map((r) => r.name)).to.deep.equal(['a']);
      expect(runs.listTasks(session).map((r) => [r.name, r.state])).to.deep.equal([
        ['a', 'ready'],
        ['b', 'ready'],
        ['c', 'pending'],
      ]);
    });

    it('given a live controller on this machine, when another claims the run, then it is refused until that pid is gone', () => {
      expect(runs.claimController(session, claim('first'), liveness('this-machine', []))).to.equal(undefined);
      const holder = runs.claimController(session, claim('second'), liveness('this-machine', [1005]));
      expect(holder?.controllerId).to.equal('first');
      expect(runs.claimController(session, claim('second'), liveness('this-machine', []))).to.equal(undefined);
      expect(runs.getRun(session)!.controllerId).to.equal('second');
    });

    it('given a controller on another machine, when this one claims the run, then its lease decides: refused while it lasts, taken once it ran out', () => {
      expect(runs.claimController(session, claim('remote', 'other-machine', 60_000), () => false)).to.equal(undefined);
      const refused = runs.claimController(session, claim('local'), liveness('this-machine', []));
      expect(refused?.controllerMachine).to.equal('other-machine');
      runs.claimController(session, claim('remote', 'other-machine', -1), () => false);
      expect(runs.claimController(session, claim('local'), liveness('this-machine', []))).to.equal(undefined);
      expect(runs.getRun(session)!.controllerMachine).to.equal('this-machine');
    });

    it('given a fenced controller whose run was taken over, when it writes a task or renews, then it is refused and writes nothing', () => {
      const first = claim('first');
      runs.claimController(session, first, () => false);
      const fenced = new RunStore(state, { fence: first.id });
      expect(fenced.transition(session, [{ from: 'pending', record: task('a', 'ready') }])).to.have.length(1);
      expect(runs.renewLease(session, first)).to.equal(true);
      // Another process (a second handle on the same store) takes the run over.
      const other = StateStore.open(target);
      new RunStore(other).claimController(session, claim('second'), () => false);
      other.close();
      expect(() => fenced.transition(session, [{ from: 'pending', record: task('b', 'ready') }])).to.throw(LeaseLostError, /no longer holds the run/);
      expect(() => fenced.updateTask(session, 'c', (r) => ({ ...r, state: 'ready' }))).to.throw(LeaseLostError);
      expect(runs.renewLease(session, first)).to.equal(false);
      expect(runs.listTasks(session).map((r) => r.state)).to.deep.equal(['ready', 'pending', 'pending']);
      runs.releaseController(session, first);
      expect(runs.getRun(session)!.controllerId, 'the old holder cannot release the new one').to.equal('second');
    });

    it('given several processes claiming a run whose lease ran out, all at once and each slow to judge it, then exactly one holds it', async () => {
      runs.claimController(session, claim('gone', 'other-machine', -1), () => false);
      // Each process opens the store, waits for the common start, then claims; its liveness check
      // takes 300 ms, inside the claim's transaction, so without the write lock all would claim.
      const script = `import('${join(process.cwd(), 'src/core/state/run-store.ts')}').then(async (r) => {
        const s = await import('${join(process.cwd(), 'src/core/state/store.ts')}');
        const store = s.StateStore.open(process.argv[1]);
        const id = 'p' + process.pid;
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, Number(process.argv[2]) - Date.now())));
        const slowLive = (run) => {
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 300);
          return Date.parse(run.leaseExpiresAt) > Date.now();
        };
        const holder = new r.RunStore(store).claimController('${session}', { id, machine: 'm', pid: process.pid, leaseMs: 60000 }, slowLive);
        process.stdout.write(holder ? 'refused' : 'claimed');
        store.close();
      })`;
      // The common start leaves every process time to load, even on a busy machine.
      const start = String(Date.now() + 5_000);
      const runOne = () =>
        new Promise<string>((resolve, reject) =>
          execFile(process.execPath, ['--import', 'tsx', '-e', script, target, start], (error, stdout) => (error ? reject(error) : resolve(stdout))),
        );
      const outcomes = await Promise.all(Array.from({ length: 6 }, runOne));
      expect(outcomes.filter((o) => o === 'claimed')).to.have.length(1);
      expect(outcomes.filter((o) => o === 'refused')).to.have.length(5);
    });

    it('given a pool, when accounts are claimed, then each goes once, in the order they were added, and counts follow', () => {
      const pool = new PoolStore(state);
      pool.addReady(session, 'h1', [
        { account: 'graft-p1', home: '/home/graft-p1' },
        { account: 'graft-p2', home: '/home/graft-p2' },
      ]);
      pool.addReady(session, 'h1', [{ account: 'graft-p1', home: '/home/graft-p1' }]);
      expect(pool.claim(session, 'h1', 'x')?.account).to.equal('graft-p1');
      expect(pool.claim(session, 'h1', 'y')?.account).to.equal('graft-p2');
      expect(pool.claim(session, 'h1', 'z')).to.equal(undefined);
      pool.mark(session, 'h1', ['graft-p1'], 'spent');
      expect(pool.counts(session, 'h1')).to.deep.equal({ ready: 0, claimed: 1, spent: 1, deleted: 0 });
      expect(pool.list(session, ['claimed', 'spent']).map((r) => [r.account, r.state, r.agent])).to.deep.equal([
        ['graft-p1', 'spent', 'x'],
        ['graft-p2', 'claimed', 'y'],
      ]);
    });

    it('given costs past 2^53 pico-dollars, when summed, then the sum is exact (bigint), and budgets read back', () => {
      const gateway = new GatewayStore(state);
      const grant = { task: 'a', attempt: 1, agent: 'coder', identity: 'a', vendor: 'anthropic' as const, expiresAt: '2099-01-01T00:00:00Z' };
      const usage = { inputTokens: 1, outputTokens: 2, cacheReadTokens: 0, cacheWriteTokens: 0, cacheWrite1hTokens: 0 };
      const big = 2n ** 53n + 1n;
      gateway.finishRequest(gateway.startRequest(session, grant, 'm'), 200, usage, big);
      gateway.finishRequest(gateway.startRequest(session, grant, 'm'), 200, usage, 1n);
      expect(gateway.spent(session, 'graph', '')).to.equal(big + 1n);
      expect(gateway.spent(session, 'task', 'a')).to.equal(big + 1n);
      expect(gateway.usage(session).map((u) => [u.costPico, u.outputTokens])).to.deep.equal([
        [big, 2],
        [1n, 2],
      ]);
      gateway.setBudget(session, 'task', 'a', 5_000_000, 'ana');
      gateway.setBudget(session, 'task', 'a', 7_000_000, 'bo');
      expect(gateway.budget(session, 'task', 'a')).to.equal(7_000_000);
    });
  });
}
