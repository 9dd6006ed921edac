/**
 * Builds an Inventory the way Ansible's InventoryData does, so both parsers
 * share one set of rules: implicit `all` and `ungrouped`, parentless groups
 * become children of `all`, a host's port from `name:port` is set only when the
 * host is first seen, group vars are merged by (depth, priority, name) and host
 * vars win over all of them. Problems are collected, never thrown one by one,
 * so a file's every problem is reported at once.
 */
import type { ConfigProblem } from '../errors.js';
import type { Inventory, InventoryFormat, InventoryGroup, InventoryHost, SourcePath } from './model.js';

interface HostDraft {
  name: string;
  source: SourcePath;
  directGroups: Set<string>;
  vars: Record<string, unknown>;
  varSources: Record<string, SourcePath>;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Bounds on one inventory, far above real fleets: ranges make it easy to write millions of
 * hosts by mistake (`h[0:9999]` on many lines), and every host costs time and memory.
 */
export const MAX_INVENTORY_HOSTS = 50_000;
export const MAX_INVENTORY_GROUPS = 5_000;

export class InventoryBuilder {
  private readonly groups = new Map<string, InventoryGroup>();
  /** Each group's hosts as a set, for membership checks (its `hosts` array keeps the order). */
  private readonly members = new Map<string, Set<string>>();
  private readonly priorities = new Map<string, number>();
  private readonly parents = new Map<string, Set<string>>();
  private readonly hosts = new Map<string, HostDraft>();
  private readonly overLimit = new Set<'hosts' | 'groups'>();
  readonly problems: ConfigProblem[] = [];

  constructor(
    readonly file: string,
    readonly format: InventoryFormat,
  ) {
    this.addGroup('all');
    this.addGroup('ungrouped');
    this.addChild('all', 'ungrouped', '');
  }

  /** Records a problem at `path`; parsing goes on so that every problem is found. */
  problem(path: string, message: string): void {
    this.problems.push({ file: this.file, path, message });
  }

  hasGroup(name: string): boolean {
    return this.groups.has(name);
  }

  /** Whether more hosts may be added; once the bound is reached, readers stop expanding host patterns. */
  get acceptsHosts(): boolean {
    return !this.overLimit.has('hosts');
  }

  /** Adds a group (once); false when the inventory already has MAX_INVENTORY_GROUPS. */
  addGroup(name: string): boolean {
    if (this.groups.has(name)) return true;
    if (this.groups.size >= MAX_INVENTORY_GROUPS) return this.refuseMore('groups', MAX_INVENTORY_GROUPS);
    this.groups.set(name, { name, hosts: [], children: [], vars: {}, varSources: {} });
    this.members.set(name, new Set());
    this.parents.set(name, new Set());
    return true;
  }

  /** Records, once, that the inventory holds more than it may; always false. */
  private refuseMore(what: 'hosts' | 'groups', limit: number): false {
    if (!this.overLimit.has(what)) {
      this.overLimit.add(what);
      const hint = what === 'hosts' ? 'check host ranges such as web[1:100000]' : 'is this a generated inventory?';
      this.problem('', `the inventory names more than ${limit} ${what}; graft reads at most ${limit} (${hint})`);
    }
    return false;
  }

  /** Adds `child` under `parent`, refusing (as Ansible does) an edge that would make a group its own ancestor. */
  addChild(parent: string, child: string, where: SourcePath): void {
    if (!this.addGroup(parent) || !this.addGroup(child)) return;
    const group = this.groups.get(parent)!;
    if (group.children.includes(child)) return;
    const loop = parent === child ? [child] : this.pathDown(child, parent);
    if (loop) {
      const cycle = [parent, ...loop].join(' → ');
      this.problem(where, `group ${parent} cannot have ${child} as a child: it would be its own ancestor (${cycle})`);
      return;
    }
    group.children.push(child);
    this.parents.get(child)!.add(parent);
  }

  /**
   * A path of child edges from `from` down to `to`, if there is one. Searched from both ends in
   * turn (down from `from`, up from `to`) until they meet or one side runs out, without
   * recursion: a chain of thousands of groups costs the shorter side's walk, whichever order
   * its sections are written in, instead of the whole chain for every edge.
   */
  private pathDown(from: string, to: string): string[] | undefined {
    const down = new Map<string, string | undefined>([[from, undefined]]);
    const up = new Map<string, string | undefined>([[to, undefined]]);
    const downStack = [from];
    const upStack = [to];
    const path = (meet: string): string[] => {
      const steps: string[] = [];
      for (let g: string | undefined = meet; g !== undefined; g = down.get(g)) steps.unshift(g);
      for (let g = up.get(meet); g !== undefined; g = up.get(g)) steps.push(g);
      return steps;
    };
    if (from === to) return [to];
    while (downStack.length > 0 && upStack.length > 0) {
      const lower = downStack.pop()!;
      for (const child of this.groups.get(lower)?.children ?? []) {
        if (down.has(child)) continue;
        down.set(child, lower);
        if (up.has(child)) return path(child);
        downStack.push(child);
      }
      const upper = upStack.pop()!;
      for (const parent of this.parents.get(upper) ?? []) {
        if (up.has(parent)) continue;
        up.set(parent, upper);
        if (down.has(parent)) return path(parent);
        upStack.push(parent);
      }
    }
    return undefined;
  }

  /** Adds a host to a group; a port from `name:port` becomes `ansible_port` only when the host is new. */
  addHost(name: string, group: string, port: number | undefined, where: SourcePath): void {
    let host = this.hosts.get(name);
    if (!host) {
      if (this.hosts.size >= MAX_INVENTORY_HOSTS) {
        this.refuseMore('hosts', MAX_INVENTORY_HOSTS);
        return;
      }
      host = { name, source: where, directGroups: new Set(), vars: {}, varSources: {} };
      this.hosts.set(name, host);
      if (port !== undefined) this.setHostVar(name, 'ansible_port', port, where);
    }
    if (!this.addGroup(group)) return;
    const members = this.members.get(group)!;
    if (!members.has(name)) {
      members.add(name);
      this.groups.get(group)!.hosts.push(name);
    }
    host.directGroups.add(group);
  }

  /** `__proto__` cannot be kept as a variable of a JavaScript object: assigning it would replace the object's prototype. */
  private reservedName(key: string, where: SourcePath): boolean {
    if (key !== '__proto__') return false;
    this.problem(where, 'variable name __proto__ is reserved; graft cannot keep a variable of that name');
    return true;
  }

  setHostVar(host: string, key: string, value: unknown, where: SourcePath): void {
    const h = this.hosts.get(host);
    if (!h || this.reservedName(key, where)) return;
    h.vars[key] = value;
    h.varSources[key] = where;
  }

  setGroupVar(group: string, key: string, value: unknown, where: SourcePath): void {
    if (!this.addGroup(group) || this.reservedName(key, where)) return;
    if (key === 'ansible_group_priority') {
      // Ansible turns this into the group's sort priority and does not keep it as a variable.
      const n = typeof value === 'number' ? value : typeof value === 'string' && /^\s*[-+]?\d+\s*$/.test(value) ? Number(value) : NaN;
      if (Number.isInteger(n)) this.priorities.set(group, n);
      else this.problem(where, `ansible_group_priority must be a whole number, got ${JSON.stringify(value)}`);
      return;
    }
    const g = this.groups.get(group)!;
    const old = g.vars[key];
    // A group defined twice merges a dict variable one level deep, like Ansible's Group.set_variable.
    g.vars[key] = isPlainObject(old) && isPlainObject(value) ? { ...old, ...value } : value;
    g.varSources[key] = where;
  }

  /** Finishes the model. Problems found while reading stay in `problems`; the model holds what was valid. */
  build(): Inventory {
    for (const [name, parents] of this.parents) {
      if (name !== 'all' && parents.size === 0) this.addChild('all', name, '');
    }
    const leaveUngrouped = new Set<string>();
    for (const host of this.hosts.values()) {
      const others = [...host.directGroups].filter((g) => g !== 'all' && g !== 'ungrouped');
      if (others.length === 0) this.addHost(host.name, 'ungrouped', undefined, '');
      else if (host.directGroups.has('ungrouped')) {
        host.directGroups.delete('ungrouped');
        leaveUngrouped.add(host.name);
      }
    }
    const ungrouped = this.groups.get('ungrouped')!;
    if (leaveUngrouped.size > 0) ungrouped.hosts = ungrouped.hosts.filter((h) => !leaveUngrouped.has(h));
    const depth = this.depths();
    const hosts = new Map<string, InventoryHost>();
    for (const draft of this.hosts.values()) {
      const groups = this.ancestorsOf(draft.directGroups);
      const ordered = [...groups].sort((a, b) => depth.get(a)! - depth.get(b)! || this.priority(a) - this.priority(b) || (a < b ? -1 : a > b ? 1 : 0));
      const vars: Record<string, unknown> = {};
      const varSources: Record<string, SourcePath> = {};
      for (const name of ordered) {
        const g = this.groups.get(name)!;
        Object.assign(vars, g.vars);
        Object.assign(varSources, g.varSources);
      }
      Object.assign(vars, draft.vars);
      Object.assign(varSources, draft.varSources);
      hosts.set(draft.name, { name: draft.name, source: draft.source, vars, varSources, groups: [...groups].sort() });
    }
    return { file: this.file, format: this.format, hosts, groups: Object.fromEntries(this.groups) };
  }

  private priority(group: string): number {
    return this.priorities.get(group) ?? 1;
  }

  private ancestorsOf(direct: Iterable<string>): Set<string> {
    const out = new Set<string>();
    const stack = [...direct];
    while (stack.length > 0) {
      const g = stack.pop()!;
      if (out.has(g)) continue;
      out.add(g);
      for (const p of this.parents.get(g) ?? []) stack.push(p);
    }
    return out;
  }

  /** Longest distance from `all`, as Ansible's Group.depth; parents first, without recursion (the groups form no cycle). */
  private depths(): Map<string, number> {
    const memo = new Map<string, number>([['all', 0]]);
    for (const start of this.groups.keys()) {
      const stack = [start];
      while (stack.length > 0) {
        const g = stack[stack.length - 1]!;
        if (memo.has(g)) {
          stack.pop();
          continue;
        }
        const pending = [...(this.parents.get(g) ?? [])].filter((p) => !memo.has(p));
        if (pending.length > 0) {
          stack.push(...pending);
          continue;
        }
        stack.pop();
        let d = 0;
        for (const p of this.parents.get(g) ?? []) d = Math.max(d, memo.get(p)! + 1);
        memo.set(g, d);
      }
    }
    return memo;
  }
}
