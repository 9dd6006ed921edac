/**
 * Ansible's INI inventory format. This is a dedicated parser on purpose: the
 * generic `ini` npm package cannot read Ansible's host lines
 * (`web01:2222 ansible_user=deploy motd="hello world"`, shlex quoting, `#`
 * comments after values), host ranges, or `[group:children]` sections, and it
 * would turn values into strings where Ansible evaluates them as Python
 * literals. The rules follow ansible/plugins/inventory/ini.py (ansible-core 2.14):
 *
 * - lines before any section belong to `ungrouped`; `#` and `;` start comment lines;
 * - `[g]` holds host lines, `[g:vars]` `key=value` lines, `[g:children]` group names;
 * - a group named under `:children` or given `:vars` must be declared somewhere by `[g]` or `[g:children]`.
 *
 * Unlike Ansible, which stops at the first error, every problem of the file is collected.
 */
import { expandHostPattern } from './host-patterns.js';
import { InventoryBuilder } from './inventory-builder.js';
import type { InventoryReadResult } from './model.js';
import { pythonLiteralOrText, ShlexError, shlexSplit } from './python-literal.js';

const SECTION = /^\[([^:\]\s]+)(?::(\w+))?\]\s*(?:#.*)?$/;
const GROUP_NAME = /^([^:\]\s]+)\s*(?:#.*)?$/;

type SectionKind = 'hosts' | 'vars' | 'children' | 'skip';

/** Reads INI inventory text; `file` is used in problems and as the inventory's file. */
export function readIniInventory(text: string, file: string): InventoryReadResult {
  const b = new InventoryBuilder(file, 'ini');
  const declared = new Set(['all', 'ungrouped']);
  const needsDeclaration: { group: string; line: number; why: string }[] = [];
  const childEdges: { parent: string; child: string; where: string }[] = [];
  let group = 'ungrouped';
  let kind: SectionKind = 'hosts';

  const lines = text.split(/\r\n|\r|\n/);
  lines.forEach((raw, index) => {
    const lineNo = index + 1;
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) return;
    const at = (what: string): string => `line ${lineNo}: ${what}`;

    const section = SECTION.exec(line);
    if (section) {
      group = section[1]!;
      const tag = section[2] ?? 'hosts';
      if (tag !== 'hosts' && tag !== 'vars' && tag !== 'children') {
        b.problem(at(line), `section has unknown type "${tag}": use [${group}], [${group}:vars] or [${group}:children]`);
        kind = 'skip';
        return;
      }
      kind = tag;
      b.addGroup(group);
      if (kind === 'vars') needsDeclaration.push({ group, line: lineNo, why: `[${group}:vars] is given for it` });
      else declared.add(group);
      return;
    }
    if (line.startsWith('[') && line.endsWith(']')) {
      b.problem(at(line), 'invalid section header: write [group], [group:vars] or [group:children], with no spaces');
      kind = 'skip';
      return;
    }

    if (kind === 'skip') return;
    if (kind === 'vars') {
      const eq = line.indexOf('=');
      if (eq < 0) {
        b.problem(at(`[${group}:vars]`), `expected key=value, got "${line}"`);
        return;
      }
      const key = line.slice(0, eq).trim();
      b.setGroupVar(group, key, pythonLiteralOrText(line.slice(eq + 1).trim()), at(`[${group}:vars] ${key}`));
    } else if (kind === 'children') {
      const m = GROUP_NAME.exec(line);
      if (!m) b.problem(at(`[${group}:children]`), `expected a group name, got "${line}"`);
      else {
        childEdges.push({ parent: group, child: m[1]!, where: at(`[${group}:children] ${m[1]!}`) });
        needsDeclaration.push({ group: m[1]!, line: lineNo, why: `[${group}:children] names it` });
      }
    } else readHostLine(b, line, group, at);
  });

  for (const need of needsDeclaration) {
    if (!declared.has(need.group)) {
      b.problem(`line ${need.line}`, `group ${need.group} is not defined: ${need.why}, but there is no [${need.group}] or [${need.group}:children] section`);
    }
  }
  for (const edge of childEdges) if (declared.has(edge.child)) b.addChild(edge.parent, edge.child, edge.where);
  const inventory = b.build();
  return { inventory, problems: b.problems };
}

function readHostLine(b: InventoryBuilder, line: string, group: string, at: (what: string) => string): void {
  let tokens: string[];
  try {
    tokens = shlexSplit(line);
  } catch (error) {
    if (!(error instanceof ShlexError)) throw error;
    b.problem(at(`[${group}]`), `cannot split host line "${line}": ${error.message}`);
    return;
  }
  const pattern = tokens[0];
  if (pattern === undefined || !b.acceptsHosts) return;
  const where = at(`[${group}] ${pattern}`);
  const expanded = expandHostPattern(pattern);
  if (expanded.error !== undefined) {
    b.problem(where, expanded.error);
    return;
  }
  if (pattern.endsWith(':') && expanded.port === undefined) {
    b.problem(where, 'a host name cannot end with ":", which is reserved for a port (host:2222)');
    return;
  }
  if (expanded.names.includes('---')) {
    b.problem(where, '"---" starts a YAML document: is this a YAML inventory with an .ini name?');
    return;
  }
  const vars: [string, unknown][] = [];
  for (const token of tokens.slice(1)) {
    const eq = token.indexOf('=');
    if (eq < 0) b.problem(where, `expected key=value after the host name, got "${token}"`);
    else vars.push([token.slice(0, eq), pythonLiteralOrText(token.slice(eq + 1))]);
  }
  for (const name of expanded.names) {
    b.addHost(name, group, expanded.port, where);
    for (const [key, value] of vars) b.setHostVar(name, key, value, `${where}: ${key}`);
  }
}
