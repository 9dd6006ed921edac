/**
 * Cycles in a directed graph of names (task → the tasks it needs), found so they can be
 * reported: strongly connected parts (Tarjan) and the simple cycles in them (Johnson's outer
 * loop), all iterative so that a graph thousands of tasks deep cannot overflow the stack.
 */

/** Bounds on cycle listing: a dense knot of tasks has exponentially many cycles, and a few make the point. */
const MAX_CYCLES = 20;
const MAX_CYCLE_SEARCH_STEPS = 200_000;

/** Tarjan's strongly connected components, iteratively (a deep chain must not overflow the stack). */
export function stronglyConnected(edges: Map<string, string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const components: string[][] = [];
  let next = 0;
  for (const root of edges.keys()) {
    if (index.has(root)) continue;
    const work: { node: string; child: number }[] = [{ node: root, child: 0 }];
    index.set(root, next);
    low.set(root, next++);
    stack.push(root);
    onStack.add(root);
    while (work.length > 0) {
      const frame = work[work.length - 1]!;
      const targets = edges.get(frame.node)!;
      if (frame.child < targets.length) {
        const target = targets[frame.child++]!;
        if (!index.has(target)) {
          index.set(target, next);
          low.set(target, next++);
          stack.push(target);
          onStack.add(target);
          work.push({ node: target, child: 0 });
        } else if (onStack.has(target)) low.set(frame.node, Math.min(low.get(frame.node)!, index.get(target)!));
        continue;
      }
      work.pop();
      if (work.length > 0) {
        const parent = work[work.length - 1]!.node;
        low.set(parent, Math.min(low.get(parent)!, low.get(frame.node)!));
      }
      if (low.get(frame.node) === index.get(frame.node)) {
        const component: string[] = [];
        let member: string;
        do {
          member = stack.pop()!;
          onStack.delete(member);
          component.push(member);
        } while (member !== frame.node);
        components.push(component);
      }
    }
  }
  return components;
}

/**
 * The simple cycles inside one component, each listed once, starting from its task that comes
 * first in the file. Johnson's outer loop: search from the first task of a strongly connected
 * part, then drop that task and look again, so no search wanders through acyclic leftovers.
 * `complete` is false when the bounds cut the search short.
 */
export function elementaryCycles(component: string[], edges: Map<string, string[]>, order: Map<string, number>): { cycles: string[][]; complete: boolean } {
  const remaining = new Set(component);
  const cycles: string[][] = [];
  let steps = 0;
  for (;;) {
    const sub = new Map([...remaining].map((n) => [n, edges.get(n)!.filter((t) => remaining.has(t))]));
    const parts = stronglyConnected(sub).filter((c) => c.length > 1);
    if (parts.length === 0) return { cycles, complete: true };
    const firstOf = (part: string[]) => part.reduce((a, b) => (order.get(a)! <= order.get(b)! ? a : b));
    const part = parts.reduce((a, b) => (order.get(firstOf(a))! <= order.get(firstOf(b))! ? a : b));
    const start = firstOf(part);
    const inPart = new Set(part);
    // Depth-first over simple paths from `start`, with an explicit stack: a long cycle must not overflow the call stack.
    const path = [start];
    const onPath = new Set(path);
    const next = [0];
    while (path.length > 0) {
      const targets = sub.get(path[path.length - 1]!)!;
      const i = next[next.length - 1]!;
      if (i >= targets.length) {
        onPath.delete(path.pop()!);
        next.pop();
        continue;
      }
      next[next.length - 1] = i + 1;
      if (++steps > MAX_CYCLE_SEARCH_STEPS) return { cycles, complete: false };
      const target = targets[i]!;
      if (target === start) {
        if (cycles.length === MAX_CYCLES) return { cycles, complete: false };
        cycles.push([...path]);
      } else if (inPart.has(target) && !onPath.has(target)) {
        path.push(target);
        onPath.add(target);
        next.push(0);
      }
    }
    remaining.delete(start);
  }
}

/** `cycle: a → b → c → a`, shortened in the middle when the cycle is long. */
export function showCycle(names: string[]): string {
  if (names.length <= 12) return `cycle: ${[...names, names[0]].join(' → ')}`;
  return `cycle of ${names.length} tasks: ${[...names.slice(0, 6), '…', ...names.slice(-5), names[0]].join(' → ')}`;
}

/** `a, b, c`, shortened when long. */
export function showList(names: string[]): string {
  return names.length > 12 ? `${names.slice(0, 10).join(', ')} and ${names.length - 10} more` : names.join(', ');
}
