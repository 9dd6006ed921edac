/**
 * The value schemas the graph file's entries share (graph-schema.ts puts them together): names,
 * text, numbers, durations, host selectors, commit-ishes, `network:`, `limits:` and budgets, each
 * with a message that says what was expected and what was found.
 */
import { z } from 'zod';
import { agentAccountName, maxAccountLength } from '../hosts/agent-names.js';
import { didYouMean } from '../did-you-mean.js';
import { durationMs } from '../duration.js';
import { parseHostPattern } from '../inventory/selector.js';
import { parseBudget } from '../gateway/money.js';
import { networkModes, parseAllowEntry } from '../hosts/egress.js';
import { type AllowEntry, type NetworkPolicy } from '../model/guardrails.js';
import { parseMemory } from '../hosts/limits.js';
import { secretNamePattern } from '../secrets/secret-source.js';
import { newSessionId } from '../model/session-id.js';

/** Task names end up in `graft-<session>-<task>` Unix accounts, which Linux caps at 32 characters. */
export const maxTaskNameLength = maxAccountLength - agentAccountName(newSessionId(), '').length;
/** Agent templates are not accounts; their names follow the identity rule for agent names. */
export const maxAgentNameLength = 31;
/** Words the agent channel gives a meaning (`graft message all`, messages to the humans). */
export const reservedTaskNames: readonly string[] = ['all', 'human', 'humans'];

/** How a value found in the file reads in a message. */
export function describeValue(v: unknown): string {
  if (v === null || v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  const text = JSON.stringify(v);
  return `${typeof v} ${text.length > 60 ? `${text.slice(0, 60)}…` : text}`;
}

type Issue = { input?: unknown };
export const expected = (what: string) => ({
  error: (iss: Issue) => (iss.input === undefined ? `required: ${what}` : `expected ${what}, got ${describeValue(iss.input)}`),
});

/** Why `name` cannot name a task or an agent, or undefined when it can. */
export function nameProblem(kind: 'task' | 'agent', name: string): string | undefined {
  const max = kind === 'task' ? maxTaskNameLength : maxAgentNameLength;
  const shown = JSON.stringify(name.length > 40 ? `${name.slice(0, 40)}…` : name);
  if (!/^[a-z][a-z0-9-]*$/.test(name) || name.length > max) {
    const why = kind === 'task' ? ` (it becomes part of the agent's Unix account graft-<session>-<task>, at most ${maxAccountLength} characters)` : '';
    return `${kind} name ${shown} is not allowed: use 1 to ${max} characters, a lowercase letter followed by lowercase letters, digits or dashes${why}`;
  }
  if (kind === 'task' && reservedTaskNames.includes(name))
    return `task name ${shown} is reserved (${reservedTaskNames.join(', ')} address groups of recipients in messages); pick another`;
  return undefined;
}

export const nameKey = (kind: 'task' | 'agent') =>
  z.string().superRefine((name, ctx) => {
    const problem = nameProblem(kind, name);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

/**
 * A strict object whose unknown keys get one message line each, in the order of the issue's
 * keys (graph-file.ts splits them so each points at its own line). `elsewhere` explains keys
 * that belong to a sibling variant, e.g. `model` on a shell agent.
 */
export function strictEntry<S extends z.ZodRawShape>(what: string, shape: S, elsewhere: Record<string, string> = {}, aliases: Record<string, string> = {}) {
  const known = Object.keys(shape);
  return z.strictObject(shape, {
    error: (iss) => {
      if (iss.code === 'unrecognized_keys') {
        return iss.keys
          .map((key) => elsewhere[key] ?? `unknown key ${JSON.stringify(key)}${didYouMean(key, known, aliases)}; ${what} takes ${known.join(', ')}`)
          .join('\n');
      }
      return iss.code === 'invalid_type' ? `expected ${what} (a mapping), got ${describeValue(iss.input)}` : undefined;
    },
  });
}

export const text = (what: string) => z.string(expected(what)).refine((v) => v.trim() !== '', expected(what));
export const wholeNumber = (what: string, min: number, max: number) => z.int(expected(what)).min(min, expected(what)).max(max, expected(what));
/** A list, or one item written alone (`needs: plan`). */
export const oneOrMany = <T extends z.ZodType>(item: T, what: string) => z.preprocess((v) => (typeof v === 'string' ? [v] : v), z.array(item, expected(what)));

export const secretNames = oneOrMany(
  z.string().regex(secretNamePattern, expected('secret names in UPPER_SNAKE_CASE, e.g. GITHUB_TOKEN')),
  'a list of secret names, e.g. [GITHUB_TOKEN]',
).default([]);
export const args = z.array(z.string(expected('each argument as a string (quote numbers)')), expected('a list of arguments, e.g. ["--verbose"]')).default([]);

export const duration = z.union([z.number(), z.string()], expected('a duration such as 90s, 30m or 2h')).transform((v, ctx) => {
  const ms = durationMs(v);
  if (ms === undefined)
    ctx.addIssue({ code: 'custom', message: `expected a duration such as 90s, 30m or 2h (a bare number is seconds), got ${describeValue(v)}` });
  return ms ?? 0;
});

/** A host selector, checked for what can be checked without hosts: it has terms, and its regexes compile. */
export const hostPattern = text('a host selector, e.g. "gpu" or "web:&linux"').superRefine((pattern, ctx) => {
  const terms = parseHostPattern(pattern);
  if (terms.length === 0)
    ctx.addIssue({ code: 'custom', message: `host selector ${JSON.stringify(pattern)} has no terms; use all, a group, a label or a host name` });
  for (const { expr } of terms.filter((t) => t.expr.startsWith('~'))) {
    try {
      new RegExp(expr.slice(1));
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: `invalid regular expression in host selector term "${expr}": ${(error as Error).message}` });
    }
  }
});

/** A commit-ish; a leading `-` would reach git as an option. */
export const gitRef = text('a commit-ish such as main, HEAD or a commit id').regex(
  /^(?!-)[^\s\p{Cc}]+$/u,
  expected('a commit-ish such as main, HEAD or a commit id (no spaces, not starting with "-")'),
);

/** `network:` on an agent or a task (hosts/egress.ts): a mode, or an allow-list on top of graft's own services. */
export const networkWhat = 'none, gateway, open, or an allow-list such as [10.0.0.0/8, "registry.npmjs.org:443"]';
export const network = z.union([z.string(), z.array(z.unknown())], expected(networkWhat)).transform((v, ctx): NetworkPolicy => {
  if (typeof v === 'string') {
    if ((networkModes as readonly string[]).includes(v)) return v as NetworkPolicy;
    ctx.addIssue({ code: 'custom', message: `expected ${networkWhat}, got ${describeValue(v)}${didYouMean(v, networkModes)}` });
    return 'none';
  }
  if (v.length === 0)
    ctx.addIssue({ code: 'custom', message: "an empty allow-list: write network: gateway for graft's own services only, or none for nothing at all" });
  const allow: AllowEntry[] = [];
  v.forEach((text, i) => {
    if (typeof text !== 'string')
      return ctx.addIssue({ code: 'custom', path: [i], message: `expected an allow-list entry as a string, got ${describeValue(text)}` });
    const entry = parseAllowEntry(text);
    if (typeof entry === 'string') ctx.addIssue({ code: 'custom', path: [i], message: entry });
    else allow.push(entry);
  });
  return { allow };
});

/** `limits:` on an agent or a task (hosts/limits.ts): CPU cores, memory, processes, enforced by the host's cgroups. */
export const limits = strictEntry('limits (cpu, memory, pids)', {
  cpu: z
    .number(expected('a number of CPU cores such as 2 or 0.5'))
    .min(0.01, expected('at least 0.01 CPU cores'))
    .max(1024, expected('at most 1024 CPU cores'))
    .optional(),
  memory: z
    .union([z.string(), z.number()], expected('an amount of memory such as 512M or 4G'))
    .transform((v, ctx) => {
      const bytes = parseMemory(v);
      if (bytes === undefined)
        ctx.addIssue({
          code: 'custom',
          message: `expected an amount of memory such as 512M or 4G (K, M, G, T: powers of 1024; at least 4M), got ${describeValue(v)}`,
        });
      return bytes ?? 0;
    })
    .optional(),
  pids: wholeNumber('a number of processes from 16 to 1000000', 16, 1_000_000).optional(),
});

export const agentCommon = { args, secrets: secretNames, network: network.optional(), limits: limits.optional() };

/** `"$2"`, `"$0.50"` or a number of dollars, kept in micro-dollars. */
export const budget = z.union([z.string(), z.number()], expected('a budget in dollars such as "$2" or "$0.50"')).transform((v, ctx) => {
  const micros = parseBudget(v);
  if (micros === undefined)
    ctx.addIssue({
      code: 'custom',
      message: `expected a budget in dollars such as "$2" or "$0.50" (more than zero, at most 6 decimals), got ${describeValue(v)}`,
    });
  return micros ?? 0;
});
export const modelGlobs = z
  .array(text('a model name or glob, e.g. claude-haiku-*'), expected('a list of model names or globs, e.g. [claude-haiku-*, claude-sonnet-*]'))
  .min(1, 'list at least one model, or leave models out for the default');
export const upstreamUrl = text('an http(s) URL').refine((v) => /^https?:\/\/[^\s/]+/.test(v), expected('an http(s) URL such as https://api.anthropic.com'));
