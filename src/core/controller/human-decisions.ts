/**
 * What a human decides about a run, whoever asks: `graft approve`, `graft message --answer`, or
 * the dashboard. Each decision is written to the state store (so it works whether or not the
 * controller runs) and announced as an event, which the session's audit log records with who.
 */
import { NotFoundError, UsageError } from '../errors.js';
import { decide, waitingGate } from '../graph/scheduler.js';
import type { ApprovalRecord, TaskRecord } from '../model/task.js';
import type { GraftRuntime } from '../runtime.js';
import { MessageStore, type StoredMessage } from '../state/message-store.js';
import type { RunRow, RunStore } from '../state/run-store.js';

/** Where a decision came from, recorded in its event (the CLI, or the dashboard page). */
export type DecisionSource = 'cli' | 'dashboard';

export interface ApprovalRequest {
  task: string;
  reject: boolean;
  reason?: string;
  by: string;
  via: DecisionSource;
}

/** Passes or rejects the gate `task` waits at; UsageError when it waits at none. */
export function recordApproval(runtime: GraftRuntime, run: RunRow, runs: RunStore, request: ApprovalRequest): { task: TaskRecord; approval: ApprovalRecord } {
  const { task: name } = request;
  const session = run.sessionId;
  const spec = Object.hasOwn(run.graph.tasks, name) ? run.graph.tasks[name] : undefined;
  if (!spec) throw new NotFoundError(`session ${session} has no task ${name}`, [`Tasks: ${Object.keys(run.graph.tasks).join(', ')}`]);
  let approval: ApprovalRecord | undefined;
  let seen: TaskRecord | undefined;
  const task = runs.updateTask(session, name, (record) => {
    seen = record;
    const gate = waitingGate(record);
    if (!gate) return undefined;
    approval = {
      decision: request.reject ? 'rejected' : 'approved',
      by: request.by,
      at: new Date().toISOString(),
      gate,
      ...(request.reason ? { reason: request.reason } : {}),
    };
    return decide(spec, record, approval);
  });
  if (!task || !approval) {
    throw new UsageError(`${name} is not waiting for approval (it is ${seen?.state ?? 'unknown'})`, [
      spec.approval
        ? `It has an approval: ${spec.approval} gate; approve it when graft status shows it waiting.`
        : `${name} has no approval gate in the graph.`,
    ]);
  }
  runtime.events.emit({
    code: 'approval.recorded',
    level: 'info',
    message: `${name}: ${approval.decision} by ${approval.by} (${approval.gate} gate${request.via === 'dashboard' ? ', from the dashboard' : ''})${approval.reason ? `: ${approval.reason}` : ''}`,
    session,
    data: { task: name, ...approval, via: request.via },
  });
  return { task, approval };
}

export interface AnswerRequest {
  questionId: number;
  /** The task that asked, when the caller names it (the CLI does): refused if it asked no such question. */
  task?: string;
  who: string;
  body: string;
  via: DecisionSource;
}

/** Answers an agent's open question; the agent waiting in `graft-agent ask` gets it at once. */
export function answerQuestion(runtime: GraftRuntime, sessionId: string, request: AnswerRequest): StoredMessage {
  const store = MessageStore.of(runtime.store);
  const question = store.question(sessionId, request.questionId);
  if (!question || (request.task !== undefined && question.sender !== request.task)) {
    throw new NotFoundError(`${request.task ?? 'no task'} asked no question ${request.questionId}`, ['See the open questions with: graft inbox']);
  }
  if (question.answer) throw new UsageError(`question ${question.id} was already answered by ${question.answer.sender}`);
  const message = store.answer(sessionId, question.id, { who: request.who, body: request.body });
  runtime.events.emit({
    code: 'message.sent',
    level: 'info',
    message: `answer to question ${question.id} from ${request.who} to ${question.sender} (${request.body.length} characters${request.via === 'dashboard' ? ', from the dashboard' : ''})`,
    session: sessionId,
    data: { id: message.id, to: question.sender, via: request.via },
  });
  return message;
}
