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

export class InventoryBuilder {
  private readonly groups = new Map<string, InventoryGroup>();
  private readonly priorities = new Map<string, number>();
  private readonly parents = new Map<string, Set<string>>();
  private readonly hosts = new Map<string, HostDraft>();
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

  addGroup(name: string): void {
    if (this.groups.has(name)) return;
    this.groups.set(name, { name, hosts: [], children: [], vars: {}, varSources: {} });
    this.parents.set(name, new Set());
  }

  /** Adds `child` under `parent`, refusing (as Ansible does) an edge that would make a group its own ancestor. */
  addChild(parent: string, child: string, where: SourcePath): void {
    this.addGroup(parent);
    this.addGroup(child);
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

  /** A path of child edges from `from` down to `to`, if there is one. */
  private pathDown(from: string, to: string, seen = new Set<string>()): string[] | undefined {
    if (from === to) return [to];
    if (seen.has(from)) return undefined;
    seen.add(from);
    for (const c of this.groups.get(from)?.children ?? []) {
      const rest = this.pathDown(c, to, seen);
      if (rest) return [from, ...rest];
    }
    return undefined;
  }

  /** Adds a host to a group; a port from `name:port` becomes `ansible_port` only when the host is new. */
  addHost(name: string, group: string, port: number | undefined, where: SourcePath): void {
    let host = this.hosts.get(name);
    if (!host) {
      host = { name, source: where, directGroups: new Set(), vars: {}, varSources: {} };
      this.hosts.set(name, host);
      if (port !== undefined) this.setHostVar(name, 'ansible_port', port, where);
    }
    this.addGroup(group);
    const g = this.groups.get(group)!;
    if (!g.hosts.includes(name)) g.hosts.push(name);
    host.directGroups.add(group);
  }

  setHostVar(host: string, key: string, value: unknown, where: SourcePath): void {
    const h = this.hosts.get(host);
    if (!h) return;
    h.vars[key] = value;
    h.varSources[key] = where;
  }

  setGroupVar(group: string, key: string, value: unknown, where: SourcePath): void {
    this.addGroup(group);
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
    for (const host of this.hosts.values()) {
      const others = [...host.directGroups].filter((g) => g !== 'all' && g !== 'ungrouped');
      const ungrouped = this.groups.get('ungrouped')!;
      if (others.length === 0) this.addHost(host.name, 'ungrouped', undefined, '');
      else if (host.directGroups.has('ungrouped')) {
        host.directGroups.delete('ungrouped');
        ungrouped.hosts = ungrouped.hosts.filter((h) => h !== host.name);
      }
    }
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
    const visit = (g: string): void => {
      if (out.has(g)) return;
      out.add(g);
      for (const p of this.parents.get(g) ?? []) visit(p);
    };
    for (const g of direct) visit(g);
    return out;
  }

  /** Longest distance from `all`, as Ansible's Group.depth. */
  private depths(): Map<string, number> {
    const memo = new Map<string, number>([['all', 0]]);
    const depthOf = (g: string): number => {
      const known = memo.get(g);
      if (known !== undefined) return known;
      let d = 0;
      for (const p of this.parents.get(g) ?? []) d = Math.max(d, depthOf(p) + 1);
      memo.set(g, d);
      return d;
    };
    for (const g of this.groups.keys()) depthOf(g);
    return memo;
  }
}
