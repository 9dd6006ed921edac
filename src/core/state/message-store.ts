/**
 * Messages of a session: humans to tasks, tasks to tasks, tasks to humans, broadcasts, status
 * lines, and questions a task asks a human with their answers. It lives in the state store's
 * SQLite file (WAL), so the controller serving agents and a `graft message` or `graft inbox`
 * run in another process read and write it at the same time; every read-and-mark is one
 * IMMEDIATE transaction, so no message is delivered twice to the same reader.
 *
 * Participants: a task by its name, a human as `human:<who>`. Recipients: a task, `human`
 * (every human: the `graft inbox`), or `all` (every task but the sender; humans see tasks'
 * broadcasts in their inbox too). Who has read what is tracked per reader (a task name, or
 * `human`), so one broadcast row is delivered once to each task.
 */
import { NotFoundError, UsageError } from '../errors.js';
import type { SqlDatabase } from './sql-database.js';
import type { StateStore } from './store.js';
import { checkBody, checkHumanName, checkRecipient, checkSender, checkTask, humanRecipient } from './message-rules.js';

export type MessageKind = 'message' | 'status' | 'question' | 'answer';

const clientKeyPattern = /^[A-Za-z0-9_-]{8,64}$/;

/** One stored message. `sender` is a task name or `human:<who>`; `recipient` a task name, `human` or `all`. */
export interface StoredMessage {
  id: number;
  session: string;
  sender: string;
  recipient: string;
  kind: MessageKind;
  body: string;
  /** The question an answer answers. */
  replyTo?: number;
  createdAt: string;
}

/** A question with its answer, once a human gave one. */
export interface Question extends StoredMessage {
  kind: 'question';
  answer?: StoredMessage;
}

/** An entry of the humans' inbox: questions carry whether they are still open. */
export interface HumanInboxEntry extends StoredMessage {
  /** For questions: true until answered. */
  open?: boolean;
  answer?: StoredMessage;
}

interface RawMessage {
  id: number;
  session_id: string;
  sender: string;
  recipient: string;
  kind: MessageKind;
  body: string;
  reply_to: number | null;
  created_at: string;
}

export class MessageStore {
  constructor(private readonly db: SqlDatabase) {}

  /** The message store sharing a state store's database (and its transactions). */
  static of(store: StateStore): MessageStore {
    return new MessageStore(store.database);
  }

  /**
   * Stores a message from a task or a human (`human:<who>`) to a task, `human` or `all`.
   * With a `key`, posting again with the same sender and key returns the first message
   * instead of storing a second (clients resend when an answer was lost).
   */
  send(sessionId: string, draft: { from: string; to: string; body: string; key?: string }): StoredMessage {
    checkSender(draft.from);
    checkRecipient(draft.to);
    return this.insert(sessionId, draft.from, draft.to, 'message', checkBody(draft.body, 'message'), undefined, draft.key);
  }

  /** Records a task's status line (for the humans and the task's history; not in any inbox). */
  recordStatus(sessionId: string, task: string, text: string): StoredMessage {
    return this.insert(sessionId, checkTask(task, 'sender'), humanRecipient, 'status', checkBody(text, 'status'));
  }

  /** Stores a task's question to the humans; open until {@link answer}. `key` as for {@link send}. */
  ask(sessionId: string, draft: { from: string; body: string; key?: string }): Question {
    return this.insert(
      sessionId,
      checkTask(draft.from, 'sender'),
      humanRecipient,
      'question',
      checkBody(draft.body, 'question'),
      undefined,
      draft.key,
    ) as Question;
  }

  /**
   * Answers an open question as `human:<who>`; the asking task's `ask` then returns it.
   * NotFoundError if the session has no such question, UsageError if it was answered already.
   */
  answer(sessionId: string, questionId: number, draft: { who: string; body: string }): StoredMessage {
    const sender = `human:${checkHumanName(draft.who)}`;
    const body = checkBody(draft.body, 'answer');
    return this.db.transaction(() => {
      const question = this.question(sessionId, questionId);
      if (!question) throw new NotFoundError(`session ${sessionId} has no question ${questionId}`, ['List open questions with: graft inbox']);
      if (question.answer)
        throw new UsageError(`question ${questionId} was already answered by ${question.answer.sender.slice('human:'.length)} at ${question.answer.createdAt}`);
      return this.insert(sessionId, sender, question.sender, 'answer', body, questionId);
    });
  }

  /** A question of the session with its answer, if any; undefined when `id` is no question of it. */
  question(sessionId: string, id: number): Question | undefined {
    const row = this.db.get<RawMessage>("SELECT * FROM messages WHERE session_id = ? AND id = ? AND kind = 'question'", [sessionId, id]);
    if (!row) return undefined;
    const answer = this.db.get<RawMessage>("SELECT * FROM messages WHERE reply_to = ? AND kind = 'answer'", [id]);
    return { ...toMessage(row), kind: 'question', ...(answer ? { answer: toMessage(answer) } : {}) };
  }

  /**
   * The answer to `task`'s own question `questionId`, marked read by the task (so it does not
   * show in its inbox again); undefined while unanswered. NotFoundError if the question is not
   * one the task asked.
   */
  takeAnswer(sessionId: string, task: string, questionId: number): StoredMessage | undefined {
    const question = this.question(sessionId, questionId);
    if (!question || question.sender !== task) throw new NotFoundError(`task ${task} asked no question ${questionId} in session ${sessionId}`);
    if (!question.answer) return undefined;
    this.markRead([question.answer.id], task);
    return question.answer;
  }

  /**
   * A task's unread messages, oldest first, at most `limit`: messages and answers addressed
   * to it, and broadcasts from others. All returned are marked read by it in the same
   * transaction, so concurrent readers never both get one. `remaining` says how many unread
   * are left beyond the limit.
   */
  takeInbox(sessionId: string, task: string, options: { limit?: number } = {}): { messages: StoredMessage[]; remaining: number } {
    checkTask(task, 'reader');
    const limit = options.limit ?? 100;
    const unread = `FROM messages m WHERE m.session_id = ? AND m.kind IN ('message', 'answer')
      AND (m.recipient = ? OR (m.recipient = 'all' AND m.sender <> ?))
      AND NOT EXISTS (SELECT 1 FROM message_reads r WHERE r.message_id = m.id AND r.reader = ?)`;
    return this.db.transaction(() => {
      const rows = this.db.all<RawMessage>(`SELECT m.* ${unread} ORDER BY m.id LIMIT ?`, [sessionId, task, task, task, limit]);
      const total = this.db.get<{ n: number }>(`SELECT COUNT(*) AS n ${unread}`, [sessionId, task, task, task])!.n;
      this.markRead(
        rows.map((r) => r.id),
        task,
      );
      return { messages: rows.map(toMessage), remaining: total - rows.length };
    });
  }

  /**
   * The humans' inbox: open questions first (oldest first; they stay until answered), then
   * messages to `human` and tasks' broadcasts, oldest first — unread ones only unless `all`
   * (which also lists answered questions with their answers). Returned entries are marked read
   * by the humans unless `markRead` is false.
   */
  humanInbox(sessionId: string, options: { all?: boolean; markRead?: boolean } = {}): HumanInboxEntry[] {
    const unreadOnly = options.all ? '' : "AND NOT EXISTS (SELECT 1 FROM message_reads r WHERE r.message_id = m.id AND r.reader = 'human')";
    return this.db.transaction(() => {
      const rows = this.db.all<RawMessage & { answer_id: number | null }>(
        `SELECT m.*, a.id AS answer_id FROM messages m LEFT JOIN messages a ON a.reply_to = m.id AND a.kind = 'answer'
         WHERE m.session_id = ? AND (
           (m.kind = 'question' AND (a.id IS NULL OR ? = 1))
           OR (m.kind = 'message' AND (m.recipient = 'human' OR (m.recipient = 'all' AND m.sender NOT LIKE 'human:%')) ${unreadOnly}))
         ORDER BY (m.kind = 'question' AND a.id IS NULL) DESC, m.id`,
        [sessionId, options.all ? 1 : 0],
      );
      if (options.markRead !== false)
        this.markRead(
          rows.map((r) => r.id),
          humanRecipient,
        );
      return rows.map((row): HumanInboxEntry => {
        if (row.kind !== 'question') return toMessage(row);
        const answered = row.answer_id === null ? undefined : this.question(sessionId, row.id)?.answer;
        return { ...toMessage(row), open: !answered, ...(answered ? { answer: answered } : {}) };
      });
    });
  }

  /** The questions nobody has answered yet, oldest first. */
  openQuestions(sessionId: string): Question[] {
    const rows = this.db.all<RawMessage>(
      "SELECT m.* FROM messages m WHERE m.session_id = ? AND m.kind = 'question' AND NOT EXISTS (SELECT 1 FROM messages a WHERE a.reply_to = m.id AND a.kind = 'answer') ORDER BY m.id",
      [sessionId],
    );
    return rows.map((row) => ({ ...toMessage(row), kind: 'question' }));
  }

  /**
   * What a task said and heard, oldest first: everything it sent (messages, status lines,
   * questions), everything addressed to it, and every broadcast. Does not mark anything read.
   */
  history(sessionId: string, task: string, options: { afterId?: number; limit?: number } = {}): StoredMessage[] {
    const rows = this.db.all<RawMessage>(
      "SELECT * FROM messages WHERE session_id = ? AND id > ? AND (sender = ? OR recipient = ? OR recipient = 'all') ORDER BY id LIMIT ?",
      [sessionId, options.afterId ?? 0, task, task, options.limit ?? 1000],
    );
    return rows.map(toMessage);
  }

  /** Each task's latest status line, by task name. */
  latestStatuses(sessionId: string): Map<string, StoredMessage> {
    const rows = this.db.all<RawMessage>(
      "SELECT * FROM messages WHERE id IN (SELECT MAX(id) FROM messages WHERE session_id = ? AND kind = 'status' GROUP BY sender) ORDER BY id",
      [sessionId],
    );
    return new Map(rows.map((row) => [row.sender, toMessage(row)]));
  }

  private insert(sessionId: string, sender: string, recipient: string, kind: MessageKind, body: string, replyTo?: number, key?: string): StoredMessage {
    if (key !== undefined && !clientKeyPattern.test(key))
      throw new UsageError(`invalid message key ${JSON.stringify(key)}: use 8 to 64 letters, digits, '-' or '_'`);
    return this.db.transaction(() => {
      if (key !== undefined) {
        const earlier = this.db.get<RawMessage>('SELECT * FROM messages WHERE session_id = ? AND sender = ? AND client_key = ?', [sessionId, sender, key]);
        if (earlier) return toMessage(earlier);
      }
      const createdAt = new Date().toISOString();
      const id = this.db.insert(
        'INSERT INTO messages (session_id, sender, recipient, kind, body, reply_to, client_key, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
        [sessionId, sender, recipient, kind, body, replyTo ?? null, key ?? null, createdAt],
      );
      return { id, session: sessionId, sender, recipient, kind, body, ...(replyTo === undefined ? {} : { replyTo }), createdAt };
    });
  }

  private markRead(ids: number[], reader: string): void {
    const now = new Date().toISOString();
    for (const id of ids) this.db.run('INSERT INTO message_reads (message_id, reader, read_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING', [id, reader, now]);
  }
}

function toMessage(row: RawMessage): StoredMessage {
  return {
    id: row.id,
    session: row.session_id,
    sender: row.sender,
    recipient: row.recipient,
    kind: row.kind,
    body: row.body,
    ...(row.reply_to === null ? {} : { replyTo: row.reply_to }),
    createdAt: row.created_at,
  };
}
