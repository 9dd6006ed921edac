import { expect } from 'chai';
import type { GraphSpec, TaskSpec } from '../../../src/core/model/graph.js';
import {
  attemptEnded,
  attemptFailed,
  cancelAll,
  decide,
  initialRecords,
  outcome,
  place,
  settle,
  starting,
  stranded,
  succeeded,
  type PlanInput,
  type SchedulerHost,
} from '../../../src/core/graph/scheduler.js';
import type { TaskRecord } from '../../../src/core/model/task.js';

function graph(tasks: Record<string, Partial<TaskSpec>>): GraphSpec {
  return {
    file: '/g.yaml',
    base: 'main',
    hosts: { provisioner: 'local', count: 2, slots: 2, labels: [] },
    agents: { a: { name: 'a', harness: 'shell', command: 'true', args: [], secrets: [] } },
    tasks: Object.fromEntries(Object.entries(tasks).map(([name, t]) => [name, { name, agent: 'a', needs: [], retries: 0, secrets: [], ...t }])),
  };
}

/** A tiny driver over the pure functions: settle, place, start, finish. */
class Run {
  tasks = new Map<string, TaskRecord>();
  now = 1_000_000;
  constructor(
    readonly g: GraphSpec,
    readonly hosts: SchedulerHost[],
    readonly priority = new Map<string, number>(),
  ) {
    for (const r of initialRecords(g)) this.tasks.set(r.name, r);
    this.settle();
  }
  put(r: TaskRecord) {
    this.tasks.set(r.name, r);
  }
  settle() {
    for (const r of settle(this.g, this.tasks)) this.put(r);
  }
  input(): PlanInput {
    return {
      graph: this.g,
      tasks: this.tasks,
      hosts: this.hosts,
      eligible: (t) => (t.on ? this.hosts.filter((h) => h.name.startsWith(t.on!)).map((h) => h.name) : this.hosts.map((h) => h.name)),
      priority: this.priority,
      now: this.now,
    };
  }
  /** Starts what can start; returns the placements. */
  tick() {
    const placed = place(this.input());
    for (const p of placed) this.put({ ...starting(this.tasks.get(p.task)!, p.host, p.task, new Date(this.now).toISOString()), state: 'running' });
    return placed;
  }
  finish(name: string, ok = true) {
    const spec = this.g.tasks[name]!;
    const r = this.tasks.get(name)!;
    this.put(
      ok ? succeeded(spec, r, new Date(this.now).toISOString(), { exitCode: 0 }) : attemptFailed(spec, r, { now: this.now, error: 'exit 1', exitCode: 1 }),
    );
    this.settle();
  }
  state(name: string) {
    return this.tasks.get(name)!.state;
  }
}

const hosts = (n: number, slots: number): SchedulerHost[] => Array.from({ length: n }, (_, i) => ({ name: `h${i + 1}`, slots, healthy: true }));

describe('scheduler', () => {
  it('runs a diamond in dependency order: the fan-in waits for both branches', () => {
    const run = new Run(graph({ plan: {}, api: { needs: ['plan'] }, ui: { needs: ['plan'] }, test: { needs: ['api', 'ui'] } }), hosts(2, 2));
    expect(run.tick().map((p) => p.task)).to.deep.equal(['plan']);
    expect(run.tick()).to.deep.equal([]);
    run.finish('plan');
    expect(
      run
        .tick()
        .map((p) => p.task)
        .sort(),
    ).to.deep.equal(['api', 'ui']);
    run.finish('api');
    expect(run.state('test')).to.equal('pending');
    expect(run.tick()).to.deep.equal([]);
    run.finish('ui');
    expect(run.tick().map((p) => p.task)).to.deep.equal(['test']);
    run.finish('test');
    expect(outcome(run.tasks.values())).to.equal('succeeded');
  });

  it('fills every slot of every host on a wide fan-out and no more, spreading by free slots', () => {
    const tasks: Record<string, Partial<TaskSpec>> = {};
    for (let i = 0; i < 50; i++) tasks[`t${i}`] = {};
    const run = new Run(graph(tasks), hosts(3, 4));
    const placed = run.tick();
    expect(placed).to.have.length(12);
    const perHost = new Map<string, number>();
    for (const p of placed) perHost.set(p.host, (perHost.get(p.host) ?? 0) + 1);
    expect([...perHost.values()]).to.deep.equal([4, 4, 4]);
    expect(run.tick()).to.deep.equal([]);
    run.finish('t0');
    expect(run.tick()).to.have.length(1);
  });

  it('starts ready tasks in critical-path order, then file order', () => {
    const run = new Run(
      graph({ short: {}, long: {}, next: { needs: ['long'] }, last: { needs: ['next'] } }),
      hosts(1, 1),
      new Map([
        ['short', 1],
        ['long', 3],
        ['next', 2],
        ['last', 1],
      ]),
    );
    expect(run.tick().map((p) => p.task)).to.deep.equal(['long']);
  });

  it('places a task only on hosts its selector allows', () => {
    const run = new Run(graph({ gpu: { on: 'h2' }, any: {} }), hosts(2, 1));
    const placed = run.tick();
    expect(placed.find((p) => p.task === 'gpu')!.host).to.equal('h2');
    expect(placed.find((p) => p.task === 'any')!.host).to.equal('h1');
  });

  it('retries a failed attempt after an exponential backoff, then fails and blocks everything downstream', () => {
    const run = new Run(graph({ flaky: { retries: 2 }, after: { needs: ['flaky'] }, later: { needs: ['after'] }, free: {} }), hosts(1, 4));
    run.tick();
    run.finish('flaky', false);
    const first = run.tasks.get('flaky')!;
    expect(first.state).to.equal('ready');
    expect(Date.parse(first.notBefore!) - run.now).to.equal(2000);
    expect(run.tick()).to.deep.equal([]);
    run.now += 2000;
    expect(run.tick().map((p) => p.task)).to.deep.equal(['flaky']);
    run.finish('flaky', false);
    expect(Date.parse(run.tasks.get('flaky')!.notBefore!) - run.now).to.equal(4000);
    run.now += 4000;
    run.tick();
    expect(run.tasks.get('flaky')!.attempt).to.equal(3);
    run.finish('flaky', false);
    expect(run.state('flaky')).to.equal('failed');
    expect(run.state('after')).to.equal('blocked');
    expect(run.state('later')).to.equal('blocked');
    expect(run.tasks.get('later')!.error).to.match(/after did not succeed/);
    expect(outcome(run.tasks.values())).to.equal('running');
    run.finish('free');
    expect(outcome(run.tasks.values())).to.equal('failed');
  });

  it('moves a lost host’s task elsewhere without using a retry, and fails it when no host is left', () => {
    const run = new Run(graph({ job: { retries: 0 } }), hosts(2, 1));
    const [first] = run.tick();
    run.put(attemptFailed(run.g.tasks.job!, run.tasks.get('job')!, { now: run.now, error: 'host lost', hostLost: true }));
    const lostOn = first!.host;
    run.hosts.find((h) => h.name === lostOn)!.healthy = false;
    const [second] = run.tick();
    expect(second!.host).to.not.equal(lostOn);
    expect(run.tasks.get('job')!.attempt).to.equal(1);
    run.put(attemptFailed(run.g.tasks.job!, run.tasks.get('job')!, { now: run.now, error: 'host lost', hostLost: true }));
    run.hosts.forEach((h) => (h.healthy = false));
    expect(run.tick()).to.deep.equal([]);
    const [failed] = stranded(run.input(), new Date(run.now).toISOString());
    expect(failed!.state).to.equal('failed');
    expect(failed!.error).to.match(/no healthy host left for job/);
  });

  it('remembers each attempt handed back by a lost host, across the attempts that follow, so its agent and work can be wound up later', () => {
    const run = new Run(graph({ job: { retries: 0 } }), hosts(3, 1));
    const [first] = run.tick();
    run.put(attemptFailed(run.g.tasks.job!, run.tasks.get('job')!, { now: run.now, error: 'host lost', hostLost: true }));
    expect(run.tasks.get('job')!.stranded).to.deep.equal([{ agent: 'job', host: first!.host, attempt: 1, at: new Date(run.now).toISOString() }]);
    const [second] = run.tick();
    expect(run.tasks.get('job')!.stranded, 'a new attempt keeps the list').to.have.length(1);
    run.put(attemptFailed(run.g.tasks.job!, run.tasks.get('job')!, { now: run.now, error: 'host lost', hostLost: true }));
    expect(run.tasks.get('job')!.stranded!.map((s) => s.host)).to.deep.equal([first!.host, second!.host]);
    // An ordinary failure strands nothing: its agent is revoked where it ran.
    run.tick();
    run.finish('job', false);
    expect(run.tasks.get('job')!.stranded).to.have.length(2);
  });

  it('holds a gated task until approved, and a rejection blocks downstream', () => {
    const run = new Run(
      graph({
        build: {},
        review: { needs: ['build'], approval: 'before' },
        ship: { needs: ['review'] },
        check: { approval: 'after' },
        use: { needs: ['check'] },
      }),
      hosts(1, 4),
    );
    run.tick();
    run.finish('build');
    expect(run.state('review')).to.equal('awaiting-approval');
    expect(run.tick().map((p) => p.task)).to.not.include('review');
    run.put(decide(run.g.tasks.review!, run.tasks.get('review')!, { decision: 'approved', by: 'ada', at: 'now', gate: 'before' }));
    expect(run.tick().map((p) => p.task)).to.deep.equal(['review']);

    run.finish('check');
    expect(run.state('check')).to.equal('awaiting-result-approval');
    expect(run.state('use')).to.equal('pending');
    run.put(decide(run.g.tasks.check!, run.tasks.get('check')!, { decision: 'rejected', by: 'bob', at: 'now', gate: 'after', reason: 'wrong API' }));
    run.settle();
    expect(run.state('check')).to.equal('failed');
    expect(run.tasks.get('check')!.error).to.equal('rejected by bob: wrong API');
    expect(run.state('use')).to.equal('blocked');
  });

  it('cancels every unfinished task and leaves finished ones alone', () => {
    const run = new Run(graph({ done: {}, busy: {}, waiting: { needs: ['busy'] } }), hosts(1, 2));
    run.tick();
    run.finish('done');
    const cancelled = cancelAll(run.tasks.values(), 'now', 'cancelled by down');
    expect(cancelled.map((r) => r.name).sort()).to.deep.equal(['busy', 'waiting']);
    for (const r of cancelled) run.put(r);
    expect(run.state('done')).to.equal('succeeded');
    expect(outcome(run.tasks.values())).to.equal('failed');
  });
});

describe('scheduler: the attempt rules', () => {
  const spec = (retries = 1): TaskSpec => ({ name: 'job', agent: 'a', needs: [], retries, secrets: [] });
  const running = (extra: Partial<TaskRecord> = {}): TaskRecord => ({ name: 'job', state: 'running', attempt: 1, host: 'h1', agent: 'job', pid: 42, ...extra });
  const now = 2_000_000;

  it('given exit 0 and no report, when the attempt ends, then the task succeeded with its branch and tip', () => {
    const next = attemptEnded(spec(), running(), { exitCode: 0, branch: 'graft/s/job', tip: 'abc' }, now);
    expect(next).to.include({ state: 'succeeded', exitCode: 0, branch: 'graft/s/job', tip: 'abc' });
    expect(next.pid).to.equal(undefined);
  });

  it('given the agent reported done but exited 1, when the attempt ends, then its report wins and the report is settled', () => {
    const next = attemptEnded(spec(), running({ reported: 'done', summary: 'did it' }), { exitCode: 1 }, now);
    expect(next).to.include({ state: 'succeeded', summary: 'did it' });
    expect(next.reported).to.equal(undefined);
  });

  it("given the agent reported failure with exit 0, when the attempt ends, then it fails with the agent's words and may retry", () => {
    const next = attemptEnded(spec(), running({ reported: 'fail', summary: 'tests red' }), { exitCode: 0 }, now);
    expect(next).to.include({ state: 'ready', error: 'the agent reported failure: tests red' });
  });

  it('given a spent budget, when the attempt ends, then it failed for good with reason budget-exceeded though retries are left', () => {
    const next = attemptEnded(spec(3), running({ budgetExceeded: 'task budget $1.00 spent' }), { exitCode: 0 }, now);
    expect(next).to.include({ state: 'failed', reason: 'budget-exceeded', error: 'budget-exceeded: task budget $1.00 spent' });
    expect(next.budgetExceeded).to.equal(undefined);
  });

  it('given a memory limit hit, when the attempt ends, then the limit is the reason, unless a timeout killed it first', () => {
    const oom = attemptEnded(spec(0), running(), { exitCode: 137, limit: 'oom', limits: { memory: 64 * 1024 * 1024 } }, now);
    expect(oom).to.include({ state: 'failed', reason: 'oom' });
    expect(oom.error).to.match(/memory/);
    const timedOut = attemptEnded(spec(0), running(), { exitCode: 137, limit: 'oom', timedOut: 'timed out after 5 s' }, now);
    expect(timedOut).to.include({ state: 'failed', error: 'timed out after 5 s' });
    expect(timedOut.reason).to.equal(undefined);
  });

  it('given a process that vanished, when the attempt ends, then it failed, even with exit 0 recorded', () => {
    expect(attemptEnded(spec(0), running(), { exitCode: 0, vanished: true }, now)).to.include({
      state: 'failed',
      error: 'its process disappeared without an exit status',
    });
  });
});
