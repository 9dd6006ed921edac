/**
 * The task graph as graft runs it: what `graph.yaml` says after validation, with defaults
 * filled and paths resolved. Pure data; the loader (graph/graph-file.ts) builds it, the
 * scheduler (graph/scheduler.ts) reads it, the controller persists it with the session.
 */
import type { NetworkPolicy } from './guardrails.js';
import type { ResourceLimits } from './guardrails.js';
import type { NotifyTarget } from './notify.js';

export type HarnessName = 'shell' | 'claude' | 'gemini' | 'codex';

/**
 * An agent template of the graph: every task that names it runs as a fresh agent made from it.
 * The loader guarantees `model` and `instructions` only on LLM harnesses, `command` only on shell.
 */
export interface AgentSpec {
  name: string;
  harness: HarnessName;
  model?: string;
  /** Text of the instructions file (read at load time, at most 1 MiB), for the LLM harnesses. */
  instructions?: string;
  /** Where the instructions came from (absolute), for messages. */
  instructionsFile?: string;
  /** The command the `shell` harness runs (a task may override it). */
  command?: string;
  /** Extra arguments passed to the agent CLI as given. */
  args: string[];
  /** Secret names (UPPER_SNAKE_CASE) granted to every agent made from this template. */
  secrets: string[];
  /** Where its agents may connect (hosts/egress.ts); absent: `gateway`, or `open` for an LLM agent with `gateway: false`. */
  network?: NetworkPolicy;
  /** CPU, memory and process limits of its agents (hosts/limits.ts); absent: none. */
  limits?: ResourceLimits;
  /** LLM harnesses: reach the vendor through the session's model gateway (the default), or, when false, hold the vendor key on the host. */
  gateway?: boolean;
  /** Model globs the gateway lets it call; absent: its `model` plus its CLI's helper models. */
  models?: string[];
  /** Spending limit over every task run by this template, in micro-dollars. */
  budgetMicroUsd?: number;
  /** Leave the CLI's own telemetry on (graft turns it off by default). */
  telemetry?: boolean;
}

export type ApprovalGate = 'before' | 'after';

export interface TaskSpec {
  /** 1 to 17 of [a-z0-9-], starting with a letter: `graft-<session>-<task>` is a Unix account name. Not all, human, humans. */
  name: string;
  /** A key of GraphSpec.agents. */
  agent: string;
  /** Present for every LLM-harness task unless its agent has instructions. */
  prompt?: string;
  /** Overrides the agent's command (shell harness). */
  command?: string;
  /** Tasks whose results this one starts from (merged, in order); empty: the graph's base. Existing, distinct, acyclic. */
  needs: string[];
  /** Host selector (the syntax of `graft exec --on`): which hosts may run it. Checked against hosts by `placementProblems`. */
  on?: string;
  /** How many times a failed attempt is tried again (0: run once). */
  retries: number;
  /** Per attempt, in ms (> 0); the attempt's remote process group is killed when it passes. */
  timeoutMs?: number;
  /** A human gate before it starts, or after it ends and before downstream tasks see its result. */
  approval?: ApprovalGate;
  /** Extra secrets for this task on top of its agent's. */
  secrets: string[];
  /** Spending limit over all its attempts, in micro-dollars. */
  budgetMicroUsd?: number;
  /** Replaces its agent's `network` for this task. */
  network?: NetworkPolicy;
  /** Replace its agent's limits, key by key, for this task. */
  limits?: ResourceLimits;
}

/**
 * Where the hosts come from: the graph's `hosts:` section. `static`: `inventory` is absolute,
 * `limit` a host selector over its hosts, `slots` (when given) replaces every host's
 * `graft_slots`. Cloud `settings` are the section's other keys (region, zone, instance-type,
 * ttl ...), as strings, unchecked beyond their names.
 */
export type HostsSpec =
  | { provisioner: 'local'; count: number; slots: number; labels: string[]; privacy?: boolean }
  | { provisioner: 'static'; inventory: string; limit?: string; slots?: number }
  | { provisioner: 'ec2' | 'gce'; count: number; slots: number; settings: Record<string, string> };

export interface GraphSpec {
  /** The graph file, absolute. */
  file: string;
  /** Commit-ish of the controller's repository every root task starts from (default HEAD; never starts with `-`). */
  base: string;
  hosts: HostsSpec;
  agents: Record<string, AgentSpec>;
  /** In file order. */
  tasks: Record<string, TaskSpec>;
  /** Spending limit of the whole run, in micro-dollars. */
  budgetMicroUsd?: number;
  /** Upstream base URLs of the model gateway, per vendor (the graph's `gateway:` section). */
  gateway?: Partial<Record<'anthropic' | 'openai' | 'gemini', string>>;
  /** Webhooks told when the run ends, a gate waits or an agent asks (docs/dashboard.md). */
  notify?: NotifyTarget[];
}

/** Where one task is in its life. Terminal: succeeded, failed, blocked, cancelled. */
export type TaskState =
  | 'pending' // waiting for its needs
  | 'awaiting-approval' // approval: before, not yet given
  | 'ready' // may start when a slot is free (also: waiting out a retry's backoff)
  | 'starting' // agent being made / worktree synced / harness launched; in doubt after a crash
  | 'running' // its process runs on the host
  | 'awaiting-result-approval' // approval: after, it ended well, downstream waits for a human
  | 'succeeded'
  | 'failed'
  | 'blocked' // a task it needs failed or was rejected
  | 'cancelled';

export const terminalTaskStates: ReadonlySet<TaskState> = new Set(['succeeded', 'failed', 'blocked', 'cancelled']);
