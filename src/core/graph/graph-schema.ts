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
import { didYouMean } from '../did-you-mean.js';
import type { HarnessName } from '../model/graph.js';
import { notifyTargetSchema } from '../notify/notify-target.js';
import {
  describeValue,
  expected,
  nameKey,
  strictEntry,
  text,
  wholeNumber,
  oneOrMany,
  secretNames,
  duration,
  hostPattern,
  gitRef,
  network,
  limits,
  agentCommon,
  budget,
  modelGlobs,
  upstreamUrl,
} from './graph-values.js';

export const harnessNames = ['shell', 'claude', 'gemini', 'codex'] as const satisfies readonly HarnessName[];
const llmHarnesses = ['claude', 'gemini', 'codex'] as const;

const forLlmOnly = (key: string) => `${JSON.stringify(key)} is for the claude, gemini and codex harnesses; a shell agent runs its command`;
const shellAgent = strictEntry(
  'a shell agent',
  { harness: z.literal('shell'), command: text('a shell command').optional(), ...agentCommon },
  {
    model: forLlmOnly('model'),
    instructions: forLlmOnly('instructions'),
    models: forLlmOnly('models'),
    gateway: forLlmOnly('gateway'),
    budget: '"budget" is for the claude, gemini and codex harnesses (the model gateway meters them); a shell agent calls no model through graft',
    telemetry: forLlmOnly('telemetry'),
  },
);
const llmAgent = strictEntry(
  'an agent',
  {
    harness: z.enum(llmHarnesses),
    model: text('a model name').optional(),
    instructions: text('a path to an instructions file').optional(),
    models: modelGlobs.optional(),
    gateway: z.boolean(expected('true (through the model gateway, the default) or false (the vendor key goes to the host)')).default(true),
    budget: budget.optional(),
    telemetry: z.boolean(expected("true (leave the CLI's own telemetry on) or false (the default)")).default(false),
    ...agentCommon,
  },
  {
    command: '"command" is for shell agents; claude, gemini and codex agents take a prompt on each task',
  },
);

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
  {
    depends_on: 'needs',
    'depends-on': 'needs',
    dependencies: 'needs',
    after: 'needs',
    retry: 'retries',
    host: 'on',
    hosts: 'on',
    secret: 'secrets',
    approve: 'approval',
  },
);

/** Cloud settings other than count and slots (region, zone, instance-type ...), passed to the provisioner as strings. */
const settingValue = z.union([z.string(), z.number(), z.boolean()], expected('a setting value (text or a number)')).transform(String);

const provisionerNames = ['local', 'static', 'ec2', 'gce'];
const providerProblem = (given: unknown) =>
  `expected one of ${provisionerNames.join(', ')}, got ${describeValue(given)}${typeof given === 'string' ? didYouMean(given, provisionerNames) : ''}`;

const hostsSchema = z
  .preprocess(
    (v) =>
      v !== null && typeof v === 'object' && !Array.isArray(v) && !('provisioner' in v) ? { ...v, provisioner: 'inventory' in v ? 'static' : 'local' } : v,
    z.discriminatedUnion(
      'provisioner',
      [
        strictEntry('local hosts', {
          provisioner: z.literal('local'),
          count: wholeNumber('a host count from 1 to 250', 1, 250).default(2),
          slots: wholeNumber('slots per host from 1 to 1000', 1, 1000).default(4),
          labels: z.array(text('a label').refine((l) => labelPattern.test(l), 'a label is letters, digits and _ . - / =')).default([]),
          privacy: z.boolean(expected("true (agents see only their own processes: hidepid on this machine's /proc) or false (the default)")).default(false),
        }),
        strictEntry('inventory hosts', {
          provisioner: z.literal('static'),
          inventory: text('a path to an inventory file'),
          limit: hostPattern.optional(),
          slots: wholeNumber('slots per host from 1 to 1000', 1, 1000).optional(),
        }),
        z
          .looseObject({
            provisioner: z.enum(['ec2', 'gce']),
            count: wholeNumber('a host count from 1 to 1000', 1, 1000),
            slots: wholeNumber('slots per host from 1 to 1000', 1, 1000).default(2),
          })
          .catchall(settingValue)
          .transform(({ provisioner, count, slots, ...settings }, ctx) => {
            for (const key of Object.keys(settings)) {
              const hint = didYouMean(key, ['count', 'slots', 'provisioner']);
              if (hint || !/^[a-z][a-z0-9-]*$/.test(key))
                ctx.addIssue({
                  code: 'custom',
                  path: [key],
                  message: `unknown key ${JSON.stringify(key)}${hint}; cloud settings are lowercase-with-dashes names such as region or instance-type`,
                });
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
  .default({ provisioner: 'local', count: 2, slots: 4, labels: [], privacy: false });

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
  gateway: strictEntry('the gateway section (upstream base URLs per vendor)', {
    anthropic: upstreamUrl.optional(),
    openai: upstreamUrl.optional(),
    gemini: upstreamUrl.optional(),
  }).optional(),
  notify: oneOrMany(notifyTargetSchema, 'a list of webhook URLs or { url, events, format } entries').default([]),
});

export type GraphFile = z.infer<typeof graphFileSchema>;

/**
 * The parts of the file that the cross-entry rules (graph/validate.ts) read, taken leniently so
 * those rules run even when other parts are malformed: a value of the wrong shape is left out.
 */
const lenient = <T extends z.ZodType>(schema: T) => schema.optional().catch(undefined);
/** Needs keep their positions (for the line of `needs[i]`); an entry that is not a string becomes undefined. */
const lenientNeeds = z
  .unknown()
  .optional()
  .transform((v): (string | undefined)[] => (typeof v === 'string' ? [v] : Array.isArray(v) ? v.map((n) => (typeof n === 'string' ? n : undefined)) : []));
const outlineAgent = z.object({ harness: lenient(z.enum(harnessNames)), command: z.unknown().optional(), instructions: z.unknown().optional() });
const outlineTask = z.object({ agent: lenient(z.string()), prompt: z.unknown().optional(), command: z.unknown().optional(), needs: lenientNeeds });
export const graphOutlineSchema = z
  .object({
    agents: z.record(z.string(), outlineAgent.catch({ harness: undefined, command: undefined, instructions: undefined })).catch({}),
    tasks: z.record(z.string(), outlineTask.catch({ agent: undefined, prompt: undefined, command: undefined, needs: [] })).catch({}),
  })
  .catch({ agents: {}, tasks: {} });
