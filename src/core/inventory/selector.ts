/**
 * Ansible host patterns, for `--on` and graph host selectors, over any list of
 * hosts (inventory hosts, or the hosts of a session from any provisioner).
 *
 * - `all` or `*`: every host; `web`: a group, host or label; `web*`, `*.example.com`: globs;
 *   `~web\d+`: a regular expression; `web[0]`, `web[0:2]`: a slice of a term's hosts.
 * - `a:b` or `a,b` union, `a:&b` intersection, `a:!b` exclusion, applied in Ansible's
 *   order whatever the order written: unions, then intersections, then exclusions.
 *   A pattern of only `&`/`!` terms starts from `all`.
 *
 * graft adds labels: a term matches a host when it matches the host's name, one of
 * its groups or one of its labels. Unlike Ansible, which warns and goes on, a term
 * that matches no host is an error: a misspelt `!prod` would otherwise run on prod.
 */
import { minimatch } from 'minimatch';
import { UsageError } from '../errors.js';
import { labelPattern } from './labels.js';

/** What a selector needs to know of a host. */
export interface SelectableHost {
  name: string;
  groups: readonly string[];
  labels: readonly string[];
}

/** One term of a pattern with its operator. */
export interface PatternTerm {
  op: 'union' | 'intersection' | 'exclusion';
  expr: string;
}

/** Splits a pattern into terms as Ansible's `split_host_pattern` does; `:` inside `[...]` is not a separator. */
export function parseHostPattern(pattern: string): PatternTerm[] {
  const parts = pattern.includes(',') ? pattern.split(',') : (pattern.match(/(?:[^\s:[\]]|\[[^\]]*\])+/g) ?? []);
  return parts
    .map((p) => p.trim())
    .filter((p) => p !== '')
    .map((p) =>
      p.startsWith('&') ? { op: 'intersection', expr: p.slice(1) } : p.startsWith('!') ? { op: 'exclusion', expr: p.slice(1) } : { op: 'union', expr: p },
    );
}

const GLOB_CHARS = /[*?[]/;

function nameMatcher(expr: string): (candidate: string) => boolean {
  if (expr.startsWith('~')) {
    let re: RegExp;
    try {
      re = new RegExp(expr.slice(1));
    } catch (error) {
      throw new UsageError(`invalid regular expression in host pattern "${expr}": ${(error as Error).message}`);
    }
    return (candidate) => re.test(candidate);
  }
  if (!GLOB_CHARS.test(expr)) return (candidate) => candidate === expr;
  // fnmatch semantics: no braces, no extglobs, dots are ordinary characters.
  return (candidate) => minimatch(candidate, expr, { dot: true, nobrace: true, noext: true, nonegate: true, nocomment: true });
}

/** Ansible's subscript: `web[0]`, `web[-1]`, `web[1:3]` (end included), `web[2:]`. */
function splitSubscript(expr: string): { base: string; slice?: (hosts: string[]) => string[] } {
  if (expr.startsWith('~')) return { base: expr };
  const m = /^(.+)\[(-?\d+)(?:(:)(-?\d*))?\]$/.exec(expr);
  if (!m) return { base: expr };
  const start = Number(m[2]);
  const end = m[3] ? (m[4] ? Number(m[4]) : undefined) : start;
  return {
    base: m[1]!,
    slice: (hosts) => {
      const at = (i: number): number => (i < 0 ? hosts.length + i : i);
      return hosts.slice(at(start), end === undefined ? undefined : at(end) + 1);
    },
  };
}

function matchTerm(expr: string, hosts: readonly SelectableHost[]): string[] {
  if (expr === 'all' || expr === '*') return hosts.map((h) => h.name);
  const { base, slice } = splitSubscript(expr);
  const matches = nameMatcher(base);
  const found = hosts.filter((h) => matches(h.name) || h.groups.some(matches) || h.labels.some(matches)).map((h) => h.name);
  return slice ? slice(found) : found;
}

function knownNames(hosts: readonly SelectableHost[]): string[] {
  const groups = [...new Set(hosts.flatMap((h) => h.groups))].sort();
  const labels = [...new Set(hosts.flatMap((h) => h.labels))].sort();
  const names = hosts.map((h) => h.name);
  return [
    `known groups: ${groups.join(', ') || '(none)'}`,
    `known labels: ${labels.join(', ') || '(none)'}`,
    `known hosts: ${names.slice(0, 20).join(', ') || '(none)'}${names.length > 20 ? `, … (${names.length} in all)` : ''}`,
  ];
}

/**
 * Names of the hosts `pattern` selects, in the order of `hosts`. Throws UsageError,
 * with the known groups, labels and hosts as hints, when the pattern is empty, when a
 * term matches no host, or when the selection is empty.
 */
export function selectHosts(pattern: string, hosts: readonly SelectableHost[]): string[] {
  const terms = parseHostPattern(pattern);
  if (terms.length === 0) throw new UsageError(`empty host pattern "${pattern}"`, ['Use `all`, a group, a label or a host name, e.g. --on web:&gpu']);
  const ordered = [...terms.filter((t) => t.op === 'union'), ...terms.filter((t) => t.op === 'intersection'), ...terms.filter((t) => t.op === 'exclusion')];
  if (ordered[0]!.op !== 'union') ordered.unshift({ op: 'union', expr: 'all' });

  let selected = new Set<string>();
  for (const term of ordered) {
    const matched = new Set(matchTerm(term.expr, hosts));
    if (matched.size === 0) {
      const sign = term.op === 'intersection' ? '&' : term.op === 'exclusion' ? '!' : '';
      throw new UsageError(`"${sign}${term.expr}" in host pattern "${pattern}" matches no host`, knownNames(hosts));
    }
    if (term.op === 'union') selected = new Set([...selected, ...matched]);
    else if (term.op === 'intersection') selected = new Set([...selected].filter((n) => matched.has(n)));
    else selected = new Set([...selected].filter((n) => !matched.has(n)));
  }
  const result = hosts.map((h) => h.name).filter((n) => selected.has(n));
  if (result.length === 0) throw new UsageError(`host pattern "${pattern}" selects no host`, knownNames(hosts));
  return result;
}

/** Checks labels given on the command line by the same rule as `graft_labels`. */
export function checkLabels(labels: string[]): string[] {
  const bad = labels.filter((l) => !labelPattern.test(l));
  if (bad.length > 0) {
    throw new UsageError(`labels must be letters, digits and _ . - / = (no spaces or ": , & ! *"): ${bad.map((l) => JSON.stringify(l)).join(', ')}`);
  }
  return labels;
}
