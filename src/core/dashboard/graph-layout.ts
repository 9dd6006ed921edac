/**
 * Where each task of a run's graph is drawn: a layered (Sugiyama-style) layout computed once per
 * run, since a run's graph is frozen at its start. Tasks are placed in columns by the longest
 * chain of needs above them, and ordered within a column by the mean position of what they need
 * (a few downward and upward sweeps), which keeps most edges short and uncrossed.
 *
 * Why not dagre or elkjs: on this project's machines they took 4–8 s for 1,000 tasks without
 * edges and 266–291 s for 1,000 tasks with 2,000 needs (docs/dashboard.md); the dashboard's first
 * paint of such a graph has to fit in one second. Graphs here are acyclic and their ranks known,
 * so the costly parts of those general engines (cycle breaking, network-simplex ranking,
 * crossing minimisation by transposition) buy little. This is linear per sweep.
 */

/** A task's box, top-left corner and size, in the page's units (CSS pixels at zoom 1). */
export interface NodeBox {
  name: string;
  x: number;
  y: number;
  rank: number;
}

export interface GraphLayout {
  nodes: NodeBox[];
  /** Each need as [from, to]: `to` needs `from`. */
  edges: [string, string][];
  width: number;
  height: number;
  nodeWidth: number;
  nodeHeight: number;
}

export const nodeWidth = 150;
export const nodeHeight = 30;
const columnGap = 60;
const rowGap = 10;
const sweeps = 4;

/** Lays out tasks (name → what it needs), in the order given when nothing else decides. */
export function layoutGraph(needs: Map<string, string[]>): GraphLayout {
  const names = [...needs.keys()];
  const rank = ranks(needs);
  const columns: string[][] = [];
  for (const name of names) (columns[rank.get(name)!] ??= []).push(name);
  const dependants = new Map<string, string[]>(names.map((n) => [n, []]));
  for (const [name, ups] of needs) for (const up of ups) dependants.get(up)?.push(name);
  const position = new Map<string, number>();
  const index = () => columns.forEach((column) => column.forEach((name, i) => position.set(name, i)));
  index();
  for (let sweep = 0; sweep < sweeps; sweep++) {
    const down = sweep % 2 === 0;
    const order = down ? columns.slice(1) : columns.slice(0, -1).reverse();
    for (const column of order) {
      const key = new Map(column.map((name) => [name, barycenter(down ? needs.get(name)! : dependants.get(name)!, position) ?? position.get(name)!]));
      column.sort((a, b) => key.get(a)! - key.get(b)!);
      column.forEach((name, i) => position.set(name, i));
    }
  }
  const tallest = Math.max(1, ...columns.map((c) => c.length));
  const nodes: NodeBox[] = [];
  columns.forEach((column, r) => {
    // Short columns are centred against the tallest, so a fan-in sits between what it joins.
    const offset = ((tallest - column.length) * (nodeHeight + rowGap)) / 2;
    column.forEach((name, i) => nodes.push({ name, rank: r, x: r * (nodeWidth + columnGap), y: offset + i * (nodeHeight + rowGap) }));
  });
  const edges: [string, string][] = [];
  for (const [name, ups] of needs) for (const up of ups) if (needs.has(up)) edges.push([up, name]);
  return {
    nodes,
    edges,
    width: Math.max(nodeWidth, columns.length * (nodeWidth + columnGap) - columnGap),
    height: tallest * (nodeHeight + rowGap) - rowGap,
    nodeWidth,
    nodeHeight,
  };
}

/** Each task's column: the length of the longest chain of needs above it (Kahn's order, so no recursion depth). */
function ranks(needs: Map<string, string[]>): Map<string, number> {
  const rank = new Map<string, number>();
  const waiting = new Map<string, number>();
  const dependants = new Map<string, string[]>();
  for (const [name, ups] of needs) {
    const known = ups.filter((u) => needs.has(u));
    waiting.set(name, known.length);
    for (const up of known) (dependants.get(up) ?? dependants.set(up, []).get(up)!).push(name);
  }
  const queue = [...needs.keys()].filter((n) => waiting.get(n) === 0);
  for (const n of queue) rank.set(n, 0);
  for (let i = 0; i < queue.length; i++) {
    const name = queue[i]!;
    for (const next of dependants.get(name) ?? []) {
      rank.set(next, Math.max(rank.get(next) ?? 0, rank.get(name)! + 1));
      const left = waiting.get(next)! - 1;
      waiting.set(next, left);
      if (left === 0) queue.push(next);
    }
  }
  // A cycle cannot reach a run (the graph is checked first); its tasks would share column 0.
  for (const name of needs.keys()) if (!rank.has(name)) rank.set(name, 0);
  return rank;
}

function barycenter(neighbours: string[], position: Map<string, number>): number | undefined {
  let sum = 0;
  let count = 0;
  for (const n of neighbours) {
    const p = position.get(n);
    if (p !== undefined) {
      sum += p;
      count += 1;
    }
  }
  return count === 0 ? undefined : sum / count;
}
