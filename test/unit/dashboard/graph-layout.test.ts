import { expect } from 'chai';
import { layoutGraph } from '../../../src/core/dashboard/graph-layout.js';

describe('dashboard graph layout', () => {
  it('given a diamond, when laid out, then each task sits one column right of what it needs and every need is an edge', () => {
    const layout = layoutGraph(
      new Map([
        ['plan', []],
        ['api', ['plan']],
        ['ui', ['plan']],
        ['join', ['api', 'ui']],
      ]),
    );
    const rank = Object.fromEntries(layout.nodes.map((n) => [n.name, n.rank]));
    expect(rank).to.deep.equal({ plan: 0, api: 1, ui: 1, join: 2 });
    expect(layout.edges).to.have.deep.members([
      ['plan', 'api'],
      ['plan', 'ui'],
      ['api', 'join'],
      ['ui', 'join'],
    ]);
    const x = Object.fromEntries(layout.nodes.map((n) => [n.name, n.x]));
    expect(x.plan).to.be.below(x.api!);
    expect(x.api).to.equal(x.ui);
  });

  it('given a long chain beside short ones, when laid out, then a task is ranked by its longest chain of needs and no two boxes overlap', () => {
    const needs = new Map<string, string[]>([
      ['a', []],
      ['b', ['a']],
      ['c', ['b']],
      ['d', ['a', 'c']],
      ['e', []],
    ]);
    const layout = layoutGraph(needs);
    expect(layout.nodes.find((n) => n.name === 'd')!.rank).to.equal(3);
    const boxes = layout.nodes.map((n) => `${n.x},${n.y}`);
    expect(new Set(boxes).size).to.equal(boxes.length);
    for (const n of layout.nodes) {
      expect(n.x + layout.nodeWidth).to.be.at.most(layout.width);
      expect(n.y + layout.nodeHeight).to.be.at.most(layout.height);
    }
  });

  it('given two crossing pairs, when laid out, then ordering by the mean position of needs uncrosses them', () => {
    const layout = layoutGraph(
      new Map([
        ['a', []],
        ['b', []],
        ['y', ['b']],
        ['x', ['a']],
      ]),
    );
    const y = Object.fromEntries(layout.nodes.map((n) => [n.name, n.y]));
    expect(Math.sign(y.a! - y.b!)).to.equal(Math.sign(y.x! - y.y!));
  });
});
