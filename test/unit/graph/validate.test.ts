import { expect } from 'chai';
import { closestName } from '../../../src/core/did-you-mean.js';
import { BugError } from '../../../src/core/errors.js';
import type { TaskSpec } from '../../../src/core/model/graph.js';
import {
  criticalPathLengths,
  eligibleHosts,
  graphProblems,
  placementProblems,
  topologicalOrder,
  type GraphOutline,
  type GraphPlacement,
} from '../../../src/core/graph/validate.js';

/** A graph of shell tasks from `name: needs` pairs, in the order given. */
function graph(needs: Record<string, string[]>): GraphOutline & { tasks: Record<string, { needs: string[] }> } {
  return {
    agents: { sh: { harness: 'shell', command: 'true' } },
    tasks: Object.fromEntries(Object.entries(needs).map(([name, n]) => [name, { agent: 'sh', needs: n }])),
  };
}
const messages = (g: GraphOutline): string[] => graphProblems(g).map((p) => `${p.path.join('.')}: ${p.message}`);

describe('graph rules', () => {
  it('given a valid diamond, when validated, then there is no problem', () => {
    expect(graphProblems(graph({ plan: [], api: ['plan'], ui: ['plan'], test: ['api', 'ui'] }))).to.deep.equal([]);
  });

  it('given several cycles, when validated, then every cycle is reported with its path, and the tasks waiting on them', () => {
    const g = graph({ a: ['c'], b: ['a'], c: ['b', 'd'], d: ['c'], e: ['e'], f: ['d'], g: ['f'], h: [] });
    expect(messages(g)).to.deep.equal([
      'tasks.e.needs.0: task e needs itself',
      'tasks.a.needs: cycle: a → c → b → a (each task needs the next, so none of them can start)',
      'tasks.c.needs: cycle: c → d → c (each task needs the next, so none of them can start)',
      'tasks.f.needs: task f can never start: it waits on tasks in a cycle',
      'tasks.g.needs: task g can never start: it waits on tasks in a cycle',
    ]);
  });

  it('given two separate cycles, when validated, then both are reported, each from its task first in the file', () => {
    const g = graph({ x: ['y'], y: ['x'], p: ['r'], q: ['p'], r: ['q'] });
    expect(messages(g).filter((m) => m.includes('cycle:'))).to.deep.equal([
      'tasks.x.needs: cycle: x → y → x (each task needs the next, so none of them can start)',
      'tasks.p.needs: cycle: p → r → q → p (each task needs the next, so none of them can start)',
    ]);
  });

  it('given a dense knot of tasks, when validated, then the cycles listed are bounded and the report says there are more', () => {
    const names = Array.from({ length: 9 }, (_, i) => `t${i}`);
    const g = graph(Object.fromEntries(names.map((n) => [n, names.filter((m) => m !== n)])));
    const found = messages(g);
    expect(found.filter((m) => m.includes('cycle:'))).to.have.length(20);
    expect(found.at(-1)).to.equal(`tasks.t0.needs: more cycles among ${names.join(', ')} than are listed here`);
  });

  it('given unknown, duplicate and self needs and an unknown agent, when validated, then each is reported where it is, with suggestions', () => {
    const g: GraphOutline = {
      agents: { coder: { harness: 'claude' } },
      tasks: {
        'implement-api': { agent: 'coder', prompt: 'p', needs: [] },
        test: { agent: 'codr', needs: ['implement-apii', 'test', 'implement-api', 'implement-api', undefined, 'zzz'] },
      },
    };
    expect(messages(g)).to.deep.equal([
      'tasks.test.agent: unknown agent "codr" (did you mean "coder"?); the agents are coder',
      'tasks.test.needs.0: unknown task "implement-apii" (did you mean "implement-api"?)',
      'tasks.test.needs.1: task test needs itself',
      'tasks.test.needs.3: "implement-api" is listed twice',
      'tasks.test.needs.5: unknown task "zzz"',
    ]);
  });

  it('given close and distant misspellings, when a name is suggested, then only likely typos get one', () => {
    expect(closestName('reveiw', ['review', 'plan'])).to.equal('review');
    expect(closestName('Prompt', ['prompt'])).to.equal('prompt');
    expect(closestName('reviews!!', ['review'])).to.equal('review');
    expect(closestName('a'.repeat(1_000_000), ['a', 'plan'])).to.equal(undefined);
    expect(closestName('retry', ['retries'], { retry: 'retries' })).to.equal('retries');
    expect(closestName('xyz', ['plan', 'test'])).to.equal(undefined);
    expect(closestName('ab', ['on'])).to.equal(undefined);
  });

  it('given a chain thousands of tasks deep, when validated and ordered, then nothing overflows and the order is the chain', () => {
    const depth = 5000;
    const needs = Object.fromEntries(Array.from({ length: depth }, (_, i) => [`t${i}`, i === 0 ? [] : [`t${i - 1}`]]));
    const g = graph(needs);
    expect(graphProblems(g)).to.deep.equal([]);
    expect(topologicalOrder(g)).to.deep.equal(Object.keys(needs));
    expect(criticalPathLengths(g).get('t0')).to.equal(depth);
  });

  it('given one cycle through thousands of tasks, when validated, then it is reported once without overflowing the stack', () => {
    const size = 20_000;
    const g = graph(Object.fromEntries(Array.from({ length: size }, (_, i) => [`t${i}`, [`t${(i + 1) % size}`]])));
    const found = messages(g);
    expect(found).to.have.length(1);
    expect(found[0]).to.equal(
      'tasks.t0.needs: cycle of 20000 tasks: t0 → t1 → t2 → t3 → t4 → t5 → … → t19995 → t19996 → t19997 → t19998 → t19999 → t0 (each task needs the next, so none of them can start)',
    );
  });

  it('given a graph written out of order, when ordered, then every task follows its needs and ties keep file order', () => {
    const g = graph({ review: ['test'], test: ['api', 'ui'], ui: ['plan'], docs: [], api: ['plan'], plan: [] });
    expect(topologicalOrder(g)).to.deep.equal(['docs', 'plan', 'ui', 'api', 'test', 'review']);
  });

  it('given a diamond with a tail and a lone task, when critical paths are measured, then each counts the tasks on its longest chain to the end', () => {
    const g = graph({ plan: [], api: ['plan'], ui: ['plan'], test: ['api', 'ui'], review: ['test'], lint: [], docs: ['ui'] });
    expect(Object.fromEntries(criticalPathLengths(g))).to.deep.equal({ plan: 4, lint: 1, api: 3, ui: 3, test: 2, docs: 1, review: 1 });
  });

  it('given a cycle, when ordered, then it is a bug to have skipped validation', () => {
    expect(() => topologicalOrder(graph({ a: ['b'], b: ['a'] }))).to.throw(BugError, 'a, b');
  });

  it('given hosts, when placement is checked, then tasks whose selector picks no host are problems naming the labels there are', () => {
    const task = (name: string, on?: string): TaskSpec => ({ name, agent: 'sh', needs: [], retries: 0, secrets: [], ...(on ? { on } : {}) });
    const spec: GraphPlacement = {
      file: 'g.yaml',
      hosts: { provisioner: 'local', count: 2, slots: 1, labels: [] },
      tasks: { a: task('a', 'gpu'), b: task('b', 'web:&linux'), c: task('c'), d: task('d', 'web:!web01') },
    };
    const hosts = [
      { name: 'web01', groups: ['web'], labels: ['linux'] },
      { name: 'db01', groups: ['db'], labels: ['linux'] },
    ];
    expect(placementProblems(spec, hosts)).to.deep.equal([
      {
        file: 'g.yaml',
        path: 'tasks.a.on',
        message: '"gpu" in host pattern "gpu" matches no host; known groups: db, web; known labels: linux; known hosts: web01, db01',
      },
      {
        file: 'g.yaml',
        path: 'tasks.d.on',
        message: 'host pattern "web:!web01" selects no host; known groups: db, web; known labels: linux; known hosts: web01, db01',
      },
    ]);
  });

  it('given an inventory limit, when placement is checked and hosts are chosen, then a task is placed only among the hosts the limit keeps', () => {
    const task = (name: string, on?: string): TaskSpec => ({ name, agent: 'sh', needs: [], retries: 0, secrets: [], ...(on ? { on } : {}) });
    const hosts = [
      { name: 'web01', groups: ['web'], labels: [] },
      { name: 'web02', groups: ['web'], labels: ['big'] },
      { name: 'db01', groups: ['db'], labels: ['big'] },
    ];
    const spec: GraphPlacement = {
      file: 'g.yaml',
      hosts: { provisioner: 'static', inventory: 'hosts.yaml', limit: 'web' },
      tasks: { a: task('a', 'db'), b: task('b', 'big'), c: task('c') },
    };
    expect(placementProblems(spec, hosts).map((p) => p.path)).to.deep.equal(['tasks.a.on']);
    expect(placementProblems(spec, hosts)[0]!.message).to.match(
      /^"db" in host pattern "db" matches no host \(among the hosts of limit "web"\); known groups: web;/,
    );
    expect(eligibleHosts(spec, spec.tasks.b!, hosts)).to.deep.equal(['web02']);
    expect(eligibleHosts(spec, spec.tasks.c!, hosts)).to.deep.equal(['web01', 'web02']);
    expect(placementProblems({ ...spec, hosts: { provisioner: 'static', inventory: 'hosts.yaml', limit: 'gpu' } }, hosts).map((p) => p.path)).to.deep.equal([
      'hosts.limit',
    ]);
  });
});
