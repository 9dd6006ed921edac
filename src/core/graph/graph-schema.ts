/**
 * The graph file's schema (docs/graph.md is its reference). Strict: an unknown key is an error
 * with a "did you mean" hint, since a misspelt `retries` or `approval` would otherwise be
 * silently ignored. Messages are written for the person editing the file: what was expected,
 * what was found. Rules that span several entries (names that must exist, cycles, a shell
 * agent's command) live in graph/validate.ts, so they can be checked even when some entry is
 * malformed.
 */
import { z } from 'zod';
import { labelPattern } from '../inventory/labels.js';
import { agentAccountName, maxAccountLength } from '../hosts/agent-names.js';
import { didYouMean } from '../did-you-mean.js';
import { durationMs } from '../duration.js';
import type { HarnessName } from '../model/graph.js';
import { parseHostPattern } from '../inventory/selector.js';
import { parseBudget } from '../gateway/money.js';
import { networkModes, parseAllowEntry } from '../hosts/egress.js';
import { type AllowEntry, type NetworkPolicy } from '../model/guardrails.js';
import { parseMemory } from '../hosts/limits.js';
import { secretNamePattern } from '../secrets/secret-source.js';
import { newSessionId } from '../model/session-id.js';
import { notifyTargetSchema } from '../notify/notify-target.js';

/** Task names end up in `graft-<session>-<task>` Unix accounts, which Linux caps at 32 characters. */
export const maxTaskNameLength = maxAccountLength - agentAccountName(newSessionId(), '').length;
/** Agent templates are not accounts; their names follow the identity rule for agent names. */
export const maxAgentNameLength = 31;
/** Words the agent channel gives a meaning (`graft message all`, messages to the humans). */
export const reservedTaskNames: readonly string[] = ['all', 'human', 'humans'];

export const harnessNames = ['shell', 'claude', 'gemini', 'codex'] as const satisfies readonly HarnessName[];
const llmHarnesses = ['claude', 'gemini', 'codex'] as const;

/** How a value found in the file reads in a message. */
export function describeValue(v: unknown): string {
  if (v === null || v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  const text = JSON.stringify(v);
  return `${typeof v} ${text.length > 60 ? `${text.slice(0, 60)}…` : text}`;
}

type Issue = { input?: unknown };
const expected = (what: string) => ({ error: (iss: Issue) => (iss.input === undefined ? `required: ${what}` : `expected ${what}, got ${describeValue(iss.input)}`) });

/** Why `name` cannot name a task or an agent, or undefined when it can. */
export function nameProblem(kind: 'task' | 'agent', name: string): string | undefined {
  const max = kind === 'task' ? maxTaskNameLength : maxAgentNameLength;
  const shown = JSON.stringify(name.length > 40 ? `${name.slice(0, 40)}…` : name);
  if (!/^[a-z][a-z0-9-]*$/.test(name) || name.length > max) {
    const why = kind === 'task' ? ` (it becomes part of the agent's Unix account graft-<session>-<task>, at most ${maxAccountLength} characters)` : '';
    return `${kind} name ${shown} is not allowed: use 1 to ${max} characters, a lowercase letter followed by lowercase letters, digits or dashes${why}`;
  }
  if (kind === 'task' && reservedTaskNames.includes(name)) return `task name ${shown} is reserved (${reservedTaskNames.join(', ')} address groups of recipients in messages); pick another`;
  return undefined;
}

const nameKey = (kind: 'task' | 'agent') =>
  z.string().superRefine((name, ctx) => {
    const problem = nameProblem(kind, name);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

/**
 * A strict object whose unknown keys get one message line each, in the order of the issue's
 * keys (graph-file.ts splits them so each points at its own line). `elsewhere` explains keys
 * that belong to a sibling variant, e.g. `model` on a shell agent.
 */
function strictEntry<S extends z.ZodRawShape>(what: string, shape: S, elsewhere: Record<string, string> = {}, aliases: Record<string, string> = {}) {
  const known = Object.keys(shape);
  return z.strictObject(shape, {
    error: (iss) => {
      if (iss.code === 'unrecognized_keys') {
        return iss.keys.map((key) => elsewhere[key] ?? `unknown key ${JSON.stringify(key)}${didYouMean(key, known, aliases)}; ${what} takes ${known.join(', ')}`).join('\n');
      }
      return iss.code === 'invalid_type' ? `expected ${what} (a mapping), got ${describeValue(iss.input)}` : undefined;
    },
  });
}

const text = (what: string) => z.string(expected(what)).refine((v) => v.trim() !== '', expected(what));
const wholeNumber = (what: string, min: number, max: number) => z.int(expected(what)).min(min, expected(what)).max(max, expected(what));
/** A list, or one item written alone (`needs: plan`). */
const oneOrMany = <T extends z.ZodType>(item: T, what: string) => z.preprocess((v) => (typeof v === 'string' ? [v] : v), z.array(item, expected(what)));

const secretNames = oneOrMany(z.string().regex(secretNamePattern, expected('secret names in UPPER_SNAKE_CASE, e.g. GITHUB_TOKEN')), 'a list of secret names, e.g. [GITHUB_TOKEN]').default([]);
const args = z.array(z.string(expected('each argument as a string (quote numbers)')), expected('a list of arguments, e.g. ["--verbose"]')).default([]);

const duration = z.union([z.number(), z.string()], expected('a duration such as 90s, 30m or 2h')).transform((v, ctx) => {
  const ms = durationMs(v);
  if (ms === undefined) ctx.addIssue({ code: 'custom', message: `expected a duration such as 90s, 30m or 2h (a bare number is seconds), got ${describeValue(v)}` });
  return ms ?? 0;
});

/** A host selector, checked for what can be checked without hosts: it has terms, and its regexes compile. */
const hostPattern = text('a host selector, e.g. "gpu" or "web:&linux"').superRefine((pattern, ctx) => {
  const terms = parseHostPattern(pattern);
  if (terms.length === 0) ctx.addIssue({ code: 'custom', message: `host selector ${JSON.stringify(pattern)} has no terms; use all, a group, a label or a host name` });
  for (const { expr } of terms.filter((t) => t.expr.startsWith('~'))) {
    try {
      new RegExp(expr.slice(1));
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: `invalid regular expression in host selector term "${expr}": ${(error as Error).message}` });
    }
  }
});

/** A commit-ish; a leading `-` would reach git as an option. */
const gitRef = text('a commit-ish such as main, HEAD or a commit id').regex(/^(?!-)[^\s\p{Cc}]+$/u, expected('a commit-ish such as main, HEAD or a commit id (no spaces, not starting with "-")'));

/** `network:` on an agent or a task (hosts/egress.ts): a mode, or an allow-list on top of graft's own services. */
const networkWhat = 'none, gateway, open, or an allow-list such as [10.0.0.0/8, "registry.npmjs.org:443"]';
const network = z.union([z.string(), z.array(z.unknown())], expected(networkWhat)).transform((v, ctx): NetworkPolicy => {
  if (typeof v === 'string') {
    if ((networkModes as readonly string[]).includes(v)) return v as NetworkPolicy;
    ctx.addIssue({ code: 'custom', message: `expected ${networkWhat}, got ${describeValue(v)}${didYouMean(v, networkModes)}` });
    return 'none';
  }
  if (v.length === 0) ctx.addIssue({ code: 'custom', message: 'an empty allow-list: write network: gateway for graft\'s own services only, or none for nothing at all' });
  const allow: AllowEntry[] = [];
  v.forEach((text, i) => {
    if (typeof text !== 'string') return ctx.addIssue({ code: 'custom', path: [i], message: `expected an allow-list entry as a string, got ${describeValue(text)}` });
    const entry = parseAllowEntry(text);
    if (typeof entry === 'string') ctx.addIssue({ code: 'custom', path: [i], message: entry });
    else allow.push(entry);
  });
  return { allow };
});

/** `limits:` on an agent or a task (hosts/limits.ts): CPU cores, memory, processes, enforced by the host's cgroups. */
const limits = strictEntry('limits (cpu, memory, pids)', {
  cpu: z.number(expected('a number of CPU cores such as 2 or 0.5')).min(0.01, expected('at least 0.01 CPU cores')).max(1024, expected('at most 1024 CPU cores')).optional(),
  memory: z.union([z.string(), z.number()], expected('an amount of memory such as 512M or 4G')).transform((v, ctx) => {
    const bytes = parseMemory(v);
    if (bytes === undefined) ctx.addIssue({ code: 'custom', message: `expected an amount of memory such as 512M or 4G (K, M, G, T: powers of 1024; at least 4M), got ${describeValue(v)}` });
    return bytes ?? 0;
  }).optional(),
  pids: wholeNumber('a number of processes from 16 to 1000000', 16, 1_000_000).optional(),
});

const agentCommon = { args, secrets: secretNames, network: network.optional(), limits: limits.optional() };

/** `"$2"`, `"$0.50"` or a number of dollars, kept in micro-dollars. */
const budget = z.union([z.string(), z.number()], expected('a budget in dollars such as "$2" or "$0.50"')).transform((v, ctx) => {
  const micros = parseBudget(v);
  if (micros === undefined) ctx.addIssue({ code: 'custom', message: `expected a budget in dollars such as "$2" or "$0.50" (more than zero, at most 6 decimals), got ${describeValue(v)}` });
  return micros ?? 0;
});
const modelGlobs = z.array(text('a model name or glob, e.g. claude-haiku-*'), expected('a list of model names or globs, e.g. [claude-haiku-*, claude-sonnet-*]')).min(1, 'list at least one model, or leave models out for the default');
const upstreamUrl = text('an http(s) URL').refine((v) => /^https?:\/\/[^\s/]+/.test(v), expected('an http(s) URL such as https://api.anthropic.com'));
const forLlmOnly = (key: string) => `${JSON.stringify(key)} is for the claude, gemini and codex harnesses; a shell agent runs its command`;
const shellAgent = strictEntry('a shell agent', { harness: z.literal('shell'), command: text('a shell command').optional(), ...agentCommon }, {
  model: forLlmOnly('model'),
  instructions: forLlmOnly('instructions'),
  models: forLlmOnly('models'),
  gateway: forLlmOnly('gateway'),
  budget: '"budget" is for the claude, gemini and codex harnesses (the model gateway meters them); a shell agent calls no model through graft',
  telemetry: forLlmOnly('telemetry'),
});
const llmAgent = strictEntry('an agent', {
  harness: z.enum(llmHarnesses),
  model: text('a model name').optional(),
  instructions: text('a path to an instructions file').optional(),
  models: modelGlobs.optional(),
  gateway: z.boolean(expected('true (through the model gateway, the default) or false (the vendor key goes to the host)')).default(true),
  budget: budget.optional(),
  telemetry: z.boolean(expected("true (leave the CLI's own telemetry on) or false (the default)")).default(false),
  ...agentCommon,
}, {
  command: '"command" is for shell agents; claude, gemini and codex agents take a prompt on each task',
});

const agentSchema = z.discriminatedUnion('harness', [shellAgent, llmAgent], {
  error: (iss) => {
    if (iss.code !== 'invalid_union') return `expected an agent (a mapping with harness: ${harnessNames.join(', ')}), got ${describeValue(iss.input)}`;
    const harness = (iss.input as Record<string, unknown> | undefined)?.harness;
    if (harness === undefined) return `required: harness, one of ${harnessNames.join(', ')}`;
    return `expected one of ${harnessNames.join(', ')}, got ${describeValue(harness)}${typeof harness === 'string' ? didYouMean(harness, harnessNames) : ''}`;
  },
});

const taskSchema = strictEntry(
  'a task',
  {
    agent: text('the name of one of the agents'),
    prompt: text('the prompt text').optional(),
    command: text('a shell command').optional(),
    needs: oneOrMany(z.string(expected('task names')), 'a list of task names, e.g. [plan]').default([]),
    on: hostPattern.optional(),
    retries: wholeNumber('a whole number of retries from 0 to 100', 0, 100).default(0),
    timeout: duration.optional(),
    approval: z.enum(['before', 'after'], expected('"before" (a human approves the start) or "after" (a human approves the result)')).optional(),
    secrets: secretNames,
    budget: budget.optional(),
    network: network.optional(),
    limits: limits.optional(),
  },
  {},
  { depends_on: 'needs', 'depends-on': 'needs', dependencies: 'needs', after: 'needs', retry: 'retries', host: 'on', hosts: 'on', secret: 'secrets', approve: 'approval' },
);

/** Cloud settings other than count and slots (region, zone, instance-type ...), passed to the provisioner as strings. */
const settingValue = z.union([z.string(), z.number(), z.boolean()], expected('a setting value (text or a number)')).transform(String);

const provisionerNames = ['local', 'static', 'ec2', 'gce'];
const providerProblem = (given: unknown) => `expected one of ${provisionerNames.join(', ')}, got ${describeValue(given)}${typeof given === 'string' ? didYouMean(given, provisionerNames) : ''}`;

const hostsSchema = z
  .preprocess(
    (v) => (v !== null && typeof v === 'object' && !Array.isArray(v) && !('provisioner' in v) ? { ...v, provisioner: 'inventory' in v ? 'static' : 'local' } : v),
    z.discriminatedUnion(
      'provisioner',
      [
        strictEntry('local hosts', {
          provisioner: z.literal('local'),
          count: wholeNumber('a host count from 1 to 250', 1, 250).default(2),
          slots: wholeNumber('slots per host from 1 to 1000', 1, 1000).default(4),
          labels: z.array(text('a label').refine((l) => labelPattern.test(l), 'a label is letters, digits and _ . - / =')).default([]),
        }),
        strictEntry('inventory hosts', { provisioner: z.literal('static'), inventory: text('a path to an inventory file'), limit: hostPattern.optional(), slots: wholeNumber('slots per host from 1 to 1000', 1, 1000).optional() }),
        z
          .looseObject({ provisioner: z.enum(['ec2', 'gce']), count: wholeNumber('a host count from 1 to 1000', 1, 1000), slots: wholeNumber('slots per host from 1 to 1000', 1, 1000).default(2) })
          .catchall(settingValue)
          .transform(({ provisioner, count, slots, ...settings }, ctx) => {
            for (const key of Object.keys(settings)) {
              const hint = didYouMean(key, ['count', 'slots', 'provisioner']);
              if (hint || !/^[a-z][a-z0-9-]*$/.test(key)) ctx.addIssue({ code: 'custom', path: [key], message: `unknown key ${JSON.stringify(key)}${hint}; cloud settings are lowercase-with-dashes names such as region or instance-type` });
            }
            return { provisioner, count, slots, settings: settings as Record<string, string> };
          }),
      ],
      {
        error: (iss) =>
          iss.code === 'invalid_union'
            ? providerProblem((iss.input as Record<string, unknown>).provisioner)
            : `expected hosts (a mapping such as { provisioner: local, count: 2 }), got ${describeValue(iss.input)}`,
      },
    ),
  )
  .default({ provisioner: 'local', count: 2, slots: 4, labels: [] });

const namedEntries = <T extends z.ZodType>(kind: 'task' | 'agent', entry: T, what: string) =>
  z
    .record(nameKey(kind), entry, {
      error: (iss) => {
        if (iss.code === 'invalid_key') return iss.issues[0]?.message;
        if (iss.code !== 'invalid_type') return undefined;
        return iss.input === undefined ? `required: ${what}` : `expected ${what}, got ${describeValue(iss.input)}`;
      },
    })
    .refine((r) => Object.keys(r).length > 0, `expected ${what}, got an empty mapping`);

/** The whole graph file. */
export const graphFileSchema = strictEntry('the graph file', {
  base: gitRef.default('HEAD'),
  hosts: hostsSchema,
  agents: namedEntries('agent', agentSchema, 'a mapping of agent names to agents (harness, model ...)'),
  tasks: namedEntries('task', taskSchema, 'a mapping of task names to tasks (agent, prompt, needs ...)'),
  budget: budget.optional(),
  gateway: strictEntry('the gateway section (upstream base URLs per vendor)', { anthropic: upstreamUrl.optional(), openai: upstreamUrl.optional(), gemini: upstreamUrl.optional() }).optional(),
  notify: oneOrMany(notifyTargetSchema, 'a list of webhook URLs or { url, events, format } entries').default([]),
});

export type GraphFile = z.infer<typeof graphFileSchema>;

/**
 * The parts of the file that the cross-entry rules (graph/validate.ts) read, taken leniently so
 * those rules run even when other parts are malformed: a value of the wrong shape is left out.
 */
const lenient = <T extends z.ZodType>(schema: T) => schema.optional().catch(undefined);
/** Needs keep their positions (for the line of `needs[i]`); an entry that is not a string becomes undefined. */
const lenientNeeds = z.unknown().optional().transform((v): (string | undefined)[] => (typeof v === 'string' ? [v] : Array.isArray(v) ? v.map((n) => (typeof n === 'string' ? n : undefined)) : []));
const outlineAgent = z.object({ harness: lenient(z.enum(harnessNames)), command: z.unknown().optional(), instructions: z.unknown().optional() });
const outlineTask = z.object({ agent: lenient(z.string()), prompt: z.unknown().optional(), command: z.unknown().optional(), needs: lenientNeeds });
export const graphOutlineSchema = z
  .object({
    agents: z.record(z.string(), outlineAgent.catch({ harness: undefined, command: undefined, instructions: undefined })).catch({}),
    tasks: z.record(z.string(), outlineTask.catch({ agent: undefined, prompt: undefined, command: undefined, needs: [] })).catch({}),
  })
  .catch({ agents: {}, tasks: {} });
