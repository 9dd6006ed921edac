/**
 * What the dashboard page is sent: a session's run as views of its tasks, its humans' inbox, and
 * (when a model gateway meters the session) tokens and cost. Built from the state store only, so
 * the page shows the same thing whether the controller serves it or `graft dashboard` does.
 * Records are stored redacted; nothing here adds a secret.
 */
import type { ApprovalRecord, TaskRecord } from '../model/task.js';
import type { TaskState } from '../model/graph.js';
import type { RunGraph, RunStatus } from '../state/run-store.js';
import type { HumanInboxEntry } from '../state/message-store.js';
import type { GraphLayout } from './graph-layout.js';

/** Tokens and cost of a task's attempts, as a model gateway metered them. */
export interface TaskUsage {
  requests: number;
  inputTokens: number;
  outputTokens: number;
  /** USD of its priced requests; null when none had a price (as in `graft cost`). */
  costUsd: number | null;
}

/** The session's spend against its budget (the graph's, or the one `graft extend --budget` set). */
export interface SessionCost {
  /** Null when no request had a price. */
  spentUsd: number | null;
  budgetUsd?: number;
}

/**
 * Where tokens and cost come from: the model gateway's metering (dashboard/dashboard-usage.ts).
 * Tasks without metered requests have no usage, a session without any and without a budget no
 * cost, and the page then shows neither. Both methods are read on every change.
 */
export interface UsageSource {
  taskUsage(sessionId: string): Map<string, TaskUsage>;
  sessionCost(sessionId: string): SessionCost | undefined;
}

export interface TaskView {
  name: string;
  state: TaskState;
  attempt: number;
  needs: string[];
  agentTemplate: string;
  harness: string;
  host?: string;
  agent?: string;
  startedAt?: string;
  endedAt?: string;
  branch?: string;
  status?: string;
  summary?: string;
  error?: string;
  /** The gate the graph gives the task, and the one it waits at now. */
  gate?: 'before' | 'after';
  waiting?: 'before' | 'after';
  approvals?: ApprovalRecord[];
  usage?: TaskUsage;
}

export interface RunView {
  status: RunStatus;
  controller?: { pid: number; alive: boolean };
}

export interface DashboardSnapshot {
  session: string;
  graph: string;
  run: RunView;
  /** Whether the page may approve and answer (false for a session that has ended). */
  writable: boolean;
  tasks: TaskView[];
  layout: GraphLayout;
  inbox: HumanInboxEntry[];
  cost?: SessionCost;
}

/** A task record as the page shows it, with what the graph says of it. */
export function taskView(graph: RunGraph, record: TaskRecord, usage?: TaskUsage): TaskView {
  const spec = graph.tasks[record.name];
  const template = spec ? graph.agents[spec.agent] : undefined;
  const waiting = record.state === 'awaiting-approval' ? 'before' : record.state === 'awaiting-result-approval' ? 'after' : undefined;
  return {
    name: record.name,
    state: record.state,
    attempt: record.attempt,
    needs: spec?.needs ?? [],
    agentTemplate: spec?.agent ?? '',
    harness: template?.harness ?? 'shell',
    host: record.host,
    agent: record.agent,
    startedAt: record.startedAt,
    endedAt: record.endedAt,
    branch: record.branch,
    status: record.status,
    summary: record.summary,
    error: record.error,
    gate: spec?.approval,
    waiting,
    approvals: record.approvals,
    ...(usage ? { usage } : {}),
  };
}
