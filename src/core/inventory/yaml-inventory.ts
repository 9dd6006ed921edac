/**
 * Ansible's YAML inventory format (ansible/plugins/inventory/yaml.py): top-level
 * keys are groups (usually just `all`), each with optional `hosts`, `children`
 * and `vars`; host keys may carry ranges and a `:port`.
 *
 * Read as YAML 1.1, as Ansible's PyYAML loader does (`yes`/`on` are booleans,
 * `0777` is octal), except that dates stay strings as they do in Ansible's output.
 * Where Ansible only warns and skips (a group that is not a mapping, an unknown
 * key in a group, a duplicate key) graft reports a problem: a skipped group
 * silently drops hosts from a fleet.
 */
import { isMap, isScalar, isSeq, LineCounter, type Document, type Node } from 'yaml';
import { MAX_YAML_ALIASES, MAX_YAML_ERRORS, moreYamlErrors, parseBoundedYaml } from '../config/yaml-document.js';
import { expandHostPattern } from './host-patterns.js';
import { InventoryBuilder } from './inventory-builder.js';
import type { InventoryReadResult } from './model.js';

const GROUP_KEYS = new Set(['hosts', 'children', 'vars']);

const describe = (node: unknown): string =>
  isSeq(node) ? 'a list' : isMap(node) ? 'a mapping' : isScalar(node) ? `${typeof node.value} ${JSON.stringify(node.value)}` : 'something else';

/** Reads YAML inventory text; `file` is used in problems and as the inventory's file. */
export function readYamlInventory(text: string, file: string): InventoryReadResult {
  const b = new InventoryBuilder(file, 'yaml');
  const lineCounter = new LineCounter();
  const bounded = parseBoundedYaml(text, {
    version: '1.1',
    prettyErrors: false,
    lineCounter,
    customTags: (tags) => tags.filter((t) => typeof t === 'string' || t.tag !== 'tag:yaml.org,2002:timestamp'),
  });
  if (bounded.refused) {
    const pos = lineCounter.linePos(bounded.refused.offset);
    b.problem(`line ${pos.line}, column ${pos.col}`, bounded.refused.message);
    return { inventory: b.build(), problems: b.problems };
  }
  const { doc, resolve } = bounded;
  for (const e of doc.errors.slice(0, MAX_YAML_ERRORS)) {
    const pos = lineCounter.linePos(e.pos[0]);
    b.problem(`line ${pos.line}, column ${pos.col}`, `YAML syntax: ${e.message.split('\n')[0]}`);
  }
  if (doc.errors.length > MAX_YAML_ERRORS) b.problem('', moreYamlErrors(doc.errors.length));
  if (doc.errors.length === 0) {
    try {
      doc.toJS({ maxAliasCount: MAX_YAML_ALIASES });
    } catch (error) {
      // The document composed cleanly, so what yaml cannot build is the file's: too many aliases
      // (ReferenceError), or a merge key (<<) whose source is not a mapping.
      if (!(error instanceof Error)) throw error;
      b.problem(
        '',
        error instanceof ReferenceError
          ? `YAML aliases expand too far (more than ${MAX_YAML_ALIASES}): ${error.message}`
          : `the YAML values cannot be built: ${error.message}`,
      );
    }
  }
  if (b.problems.length === 0) new YamlWalker(doc, resolve, b).walkRoot();
  return { inventory: b.build(), problems: b.problems };
}

class YamlWalker {
  /** Group nodes being walked: an alias back to one of them (`a: &x {children: {b: *x}}`) must not recurse forever. */
  private readonly walking = new Set<unknown>();

  constructor(
    private readonly doc: Document,
    /** Follows an alias to its node (parseBoundedYaml's resolver: one walk for all of them). */
    private readonly resolve: (node: unknown) => unknown,
    private readonly b: InventoryBuilder,
  ) {}

  private plain(node: unknown): unknown {
    const n = this.resolve(node);
    return n && typeof (n as Node).toJS === 'function' ? (n as Node).toJS(this.doc, { maxAliasCount: MAX_YAML_ALIASES }) : n;
  }

  /** Map entries with string keys; other keys are problems. */
  private entries(node: unknown, path: string): [string, unknown][] {
    const out: [string, unknown][] = [];
    if (!isMap(node)) return out;
    for (const pair of node.items) {
      const key = this.resolve(pair.key);
      if (isScalar(key) && typeof key.value === 'string') out.push([key.value, pair.value]);
      else this.b.problem(path, `key ${isScalar(key) ? JSON.stringify(key.value) : describe(key)} must be a string: enclose numbers in quotes`);
    }
    return out;
  }

  walkRoot(): void {
    const root = this.resolve(this.doc.contents);
    if (root === null || (isScalar(root) && root.value === null)) return; // empty file: a valid inventory with no hosts
    if (!isMap(root)) {
      this.b.problem('', `the top level must be a mapping of group names (usually just "all"), got ${describe(root)}`);
      return;
    }
    if (root.has('plugin')) {
      this.b.problem(
        'plugin',
        'this is an inventory plugin configuration, not an inventory: export it with `ansible-inventory -i FILE --list -y > static.yaml`',
      );
      return;
    }
    for (const [name, value] of this.entries(root, '')) this.walkGroup(name, value, name);
  }

  private walkGroup(name: string, node: unknown, path: string): void {
    const data = this.resolve(node);
    this.b.addGroup(name);
    if (data === null || data === undefined || (isScalar(data) && data.value === null)) return;
    if (!isMap(data)) {
      this.b.problem(path, `group ${name} must be a mapping with hosts, children or vars, got ${describe(data)}`);
      return;
    }
    if (this.walking.has(data)) {
      this.b.problem(path, `group ${name} is an alias of a group that contains it, which would nest without end`);
      return;
    }
    this.walking.add(data);
    for (const [key, raw] of this.entries(data, path)) {
      const at = `${path}.${key}`;
      if (!GROUP_KEYS.has(key)) {
        this.b.problem(at, `unexpected key "${key}" in group ${name}: a group holds only hosts, children and vars`);
        continue;
      }
      const value = this.resolve(raw);
      if (value === null || (isScalar(value) && value.value === null)) continue;
      // Ansible accepts a single name as a string (`hosts: web01`).
      if (isScalar(value) && typeof value.value === 'string') {
        if (key === 'vars') {
          this.b.problem(at, `vars of group ${name} must be a mapping of variable names, got a string`);
          continue;
        }
        this.addSection(name, key, [[value.value, null]], at);
        continue;
      }
      if (!isMap(value)) {
        const hint = isSeq(value) && key !== 'vars' ? ` (write "name:" on its own line for each entry instead of "- name")` : '';
        this.b.problem(at, `${key} of group ${name} must be a mapping, got ${describe(value)}${hint}`);
        continue;
      }
      if (key === 'vars') {
        const vars = this.plain(value) as Record<string, unknown>;
        for (const [k, v] of Object.entries(vars)) this.b.setGroupVar(name, k, v, `${at}.${k}`);
      } else this.addSection(name, key, this.entries(value, at), at);
    }
    this.walking.delete(data);
  }

  private addSection(group: string, key: string, entries: [string, unknown][], at: string): void {
    for (const [entry, value] of entries) {
      if (key === 'children') {
        this.walkGroup(entry, value, `${at}.${entry}`);
        this.b.addChild(group, entry, `${at}.${entry}`);
      } else this.addHosts(group, entry, value, `${at}.${entry}`);
    }
  }

  private addHosts(group: string, pattern: string, node: unknown, at: string): void {
    if (!this.b.acceptsHosts) return;
    const expanded = expandHostPattern(pattern);
    if (expanded.error !== undefined) {
      this.b.problem(at, expanded.error);
      return;
    }
    const value = this.resolve(node);
    let vars: Record<string, unknown> = {};
    if (isMap(value)) vars = this.plain(value) as Record<string, unknown>;
    else if (value !== null && value !== undefined && !(isScalar(value) && value.value === null)) {
      this.b.problem(at, `host ${pattern} must map to its variables (or nothing), got ${describe(value)}`);
      return;
    }
    for (const name of expanded.names) {
      this.b.addHost(name, group, expanded.port, at);
      for (const [k, v] of Object.entries(vars)) this.b.setHostVar(name, k, v, `${at}.${k}`);
    }
  }
}
