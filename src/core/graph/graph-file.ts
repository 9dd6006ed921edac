/**
 * Loads a graph file into the GraphSpec the controller runs: YAML read with its positions, the
 * schema (graph/graph-schema.ts), the graph rules (graph/validate.ts), instruction files read
 * and paths made absolute. Every problem of the file is reported at once, each with its line.
 */
import { stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { z } from 'zod';
import { ConfigError, type ConfigProblem } from '../errors.js';
import type { AgentSpec, GraphSpec, HostsSpec, TaskSpec } from '../model/graph.js';
import { graphProblems } from './validate.js';
import { graphFileSchema, graphOutlineSchema, type GraphFile } from './graph-schema.js';
import { describeValue, nameProblem } from './graph-values.js';
import { readConfigText, UnreadableConfigFile } from '../config/config-text.js';
import { formatDocPath, readYamlFile, type DocPath } from '../config/yaml-file.js';

/** A graph is written by hand; anything bigger is the wrong file. */
export const MAX_GRAPH_FILE_BYTES = 1024 * 1024;
/**
 * YAML tokens in a graph: a thousand tasks take some 30,000, and prompts written as block text
 * are one token each. Checking every entry of a damaged graph costs time per entry, so the bound
 * keeps a file of tens of thousands of bogus entries from taking seconds to refuse.
 */
export const MAX_GRAPH_YAML_TOKENS = 100_000;
/** Instructions go into an agent's context; a file this big is a mistake, not a prompt. */
export const MAX_INSTRUCTIONS_BYTES = 1024 * 1024;

const HINTS = ['Every key of the graph file is described in docs/graph.md; check a file with: graft graph check FILE'];

const isMapping = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Loads and validates the graph file; throws ConfigError with every problem found. */
export async function loadGraphFile(file: string): Promise<GraphSpec> {
  const absolute = resolve(file);
  const source = await readYamlFile(absolute, MAX_GRAPH_FILE_BYTES, MAX_GRAPH_YAML_TOKENS);
  const at = (path: DocPath, message: string): ConfigProblem => ({ file, path: formatDocPath(path), line: source.lineOf(path), message });
  if (source.problems.length > 0)
    throw new ConfigError(
      source.problems.map((p) => ({ ...p, file })),
      HINTS,
    );
  const value = source.value;
  if (value === null || value === undefined)
    throw new ConfigError([{ file, path: '', message: 'the file is empty; a graph needs at least agents: and tasks:' }], HINTS);
  if (!isMapping(value))
    throw new ConfigError(
      [at([], `the top level must be a mapping with agents: and tasks: (and optionally base: and hosts:), got ${describeValue(value)}`)],
      HINTS,
    );

  const parsed = graphFileSchema.safeParse(value, {
    error: (iss) => (iss.code === 'invalid_type' ? `expected ${iss.expected}, got ${describeValue(iss.input)}` : undefined),
  });
  const problems = parsed.success ? [] : parsed.error.issues.flatMap((issue) => issueProblems(issue, at));
  for (const p of graphProblems(graphOutlineSchema.parse(value))) problems.push(at(p.path, p.message));
  // zod's records drop a `__proto__` key without a word (it would replace the object's prototype); it is no valid name.
  for (const [section, kind] of [
    ['agents', 'agent'],
    ['tasks', 'task'],
  ] as const) {
    if (isMapping(value[section]) && Object.hasOwn(value[section], '__proto__')) problems.push(at([section, '__proto__'], nameProblem(kind, '__proto__')!));
  }
  const base = dirname(absolute);
  const instructions = await readInstructions(value.agents, base, at, problems);
  await checkInventoryPath(value.hosts, base, at, problems);
  if (parsed.success) for (const p of gatewayProblems(parsed.data)) problems.push(at(p.path, p.message));
  if (problems.length > 0 || !parsed.success) throw new ConfigError(inFileOrder(problems), HINTS);
  return toGraphSpec(parsed.data, absolute, base, instructions);
}

/**
 * A subscription token (Claude's CLAUDE_CODE_OAUTH_TOKEN) authenticates the CLI itself and cannot
 * be forwarded by the gateway: an agent that has only that must opt out of the gateway.
 */
function gatewayProblems(data: GraphFile): { path: DocPath; message: string }[] {
  const problems: { path: DocPath; message: string }[] = [];
  for (const [name, agent] of Object.entries(data.agents)) {
    if (agent.harness !== 'claude' || !agent.gateway) continue;
    const granted = new Set([
      ...agent.secrets,
      ...Object.values(data.tasks)
        .filter((t) => t.agent === name)
        .flatMap((t) => t.secrets),
    ]);
    if (granted.has('CLAUDE_CODE_OAUTH_TOKEN') && !granted.has('ANTHROPIC_API_KEY')) {
      problems.push({
        path: ['agents', name, 'secrets'],
        message: `agent ${name} authenticates with CLAUDE_CODE_OAUTH_TOKEN, a subscription token the model gateway cannot forward: grant ANTHROPIC_API_KEY instead, or set gateway: false on it (its tasks are then unmetered)`,
      });
    }
  }
  return problems;
}

/** One problem per zod issue; unknown keys one per key, at the key's own line. */
function issueProblems(issue: z.core.$ZodIssue, at: (path: DocPath, message: string) => ConfigProblem): ConfigProblem[] {
  if (issue.code === 'unrecognized_keys') {
    const lines = issue.message.split('\n');
    return issue.keys.map((key, i) => at([...issue.path, key], lines[i] ?? `unknown key ${JSON.stringify(key)}`));
  }
  return [at(issue.path, issue.message)];
}

/** Problems sorted by line, stable: the reader fixes the file from top to bottom. */
function inFileOrder(problems: ConfigProblem[]): ConfigProblem[] {
  return problems
    .map((p, i) => ({ p, i }))
    .sort((a, b) => (a.p.line ?? 0) - (b.p.line ?? 0) || a.i - b.i)
    .map(({ p }) => p);
}

/** Reads every agent's instructions file (relative to the graph file), so each missing one is reported. */
async function readInstructions(
  agents: unknown,
  base: string,
  at: (path: DocPath, message: string) => ConfigProblem,
  problems: ConfigProblem[],
): Promise<Map<string, { text: string; file: string }>> {
  const found = new Map<string, { text: string; file: string }>();
  if (!isMapping(agents)) return found;
  for (const [name, agent] of Object.entries(agents)) {
    const given = isMapping(agent) ? agent.instructions : undefined;
    if (typeof given !== 'string' || given.trim() === '') continue;
    const path = resolve(base, given);
    const where = `${given}${path === given ? '' : ` (${path})`}`;
    try {
      // Bounded while reading (a device never ends; a /proc file says it is empty and is not).
      found.set(name, { text: readConfigText(path, MAX_INSTRUCTIONS_BYTES), file: path });
    } catch (error) {
      if (!(error instanceof UnreadableConfigFile)) throw error;
      const why =
        error.code === 'ENOENT'
          ? "not found; paths are relative to the graph file's directory"
          : error.code === 'EACCES'
            ? 'not readable (permission denied)'
            : error.message;
      problems.push(at(['agents', name, 'instructions'], `instructions file ${where} ${why}`));
    }
  }
  return found;
}

/** An inventory named by the graph must exist; its content is checked where it is loaded (graft graph check, run). */
async function checkInventoryPath(
  hosts: unknown,
  base: string,
  at: (path: DocPath, message: string) => ConfigProblem,
  problems: ConfigProblem[],
): Promise<void> {
  const given = isMapping(hosts) ? hosts.inventory : undefined;
  if (typeof given !== 'string' || given.trim() === '') return;
  const path = resolve(base, given);
  const isFile = await stat(path).then(
    (s) => s.isFile(),
    () => false,
  );
  if (!isFile)
    problems.push(
      at(['hosts', 'inventory'], `inventory ${given}${path === given ? '' : ` (${path})`} is not a file; paths are relative to the graph file's directory`),
    );
}

function toGraphSpec(data: GraphFile, file: string, base: string, instructions: Map<string, { text: string; file: string }>): GraphSpec {
  const hosts: HostsSpec = data.hosts.provisioner === 'static' ? { ...data.hosts, inventory: resolve(base, data.hosts.inventory) } : data.hosts;
  const agents: Record<string, AgentSpec> = {};
  for (const [name, agent] of Object.entries(data.agents)) {
    const read = instructions.get(name);
    agents[name] = {
      name,
      harness: agent.harness,
      ...(agent.harness !== 'shell' && agent.model !== undefined ? { model: agent.model } : {}),
      ...(read ? { instructions: read.text, instructionsFile: read.file } : {}),
      ...(agent.harness === 'shell' && agent.command !== undefined ? { command: agent.command } : {}),
      args: agent.args,
      secrets: agent.secrets,
      ...(agent.network !== undefined ? { network: agent.network } : {}),
      ...(agent.limits !== undefined ? { limits: agent.limits } : {}),
      ...(agent.harness !== 'shell'
        ? {
            gateway: agent.gateway,
            telemetry: agent.telemetry,
            ...(agent.models ? { models: agent.models } : {}),
            ...(agent.budget !== undefined ? { budgetMicroUsd: agent.budget } : {}),
          }
        : {}),
    };
  }
  const tasks: Record<string, TaskSpec> = {};
  for (const [name, { timeout, budget, network, limits, ...task }] of Object.entries(data.tasks)) {
    tasks[name] = {
      name,
      ...task,
      ...(timeout !== undefined ? { timeoutMs: timeout } : {}),
      ...(budget !== undefined ? { budgetMicroUsd: budget } : {}),
      ...(network !== undefined ? { network } : {}),
      ...(limits !== undefined ? { limits } : {}),
    };
  }
  return {
    file,
    base: data.base,
    hosts,
    agents,
    tasks,
    ...(data.budget !== undefined ? { budgetMicroUsd: data.budget } : {}),
    ...(data.gateway ? { gateway: data.gateway } : {}),
    ...(data.notify.length > 0 ? { notify: data.notify } : {}),
  };
}
