import { Args, Flags } from '@oclif/core';
import { GraftCommand } from '../cli/base-command.js';
import { humanName } from '../core/team/session-access.js';
import { sessionFlag } from '../cli/flags.js';
import { requireRun } from '../core/controller/require-run.js';
import { answerQuestion } from '../core/controller/human-decisions.js';
import { NotFoundError } from '../core/errors.js';
import { MessageStore, type StoredMessage } from '../core/state/message-store.js';
import { broadcastRecipient } from '../core/state/message-rules.js';

export default class Message extends GraftCommand<typeof Message> {
  static override summary = "Send a message to a task's agent (or `all`), or answer an agent's question.";
  static override description = `The agent reads it with graft-agent inbox. Messages are kept in the state store, so this works whether or not the controller is running; an agent that is not running yet gets it when it starts. With --answer, the text answers the question of that id (see graft inbox), and the agent waiting in graft-agent ask gets it at once.`;
  static override examples = [
    { description: 'Tell one agent something', command: '<%= config.bin %> message implement-api "use the v2 endpoint"' },
    { description: 'Tell every task', command: '<%= config.bin %> message all "freeze: no new dependencies"' },
    { description: 'Answer question 7 from graft inbox', command: '<%= config.bin %> message implement-api --answer 7 "yes, drop the old route"' },
  ];

  static override args = {
    to: Args.string({ description: 'A task name, or `all`.', required: true }),
    text: Args.string({ description: 'The message.', required: true }),
  };

  static override flags = {
    session: sessionFlag,
    answer: Flags.integer({ description: 'Answer the question with this id (from graft inbox).', min: 1 }),
    by: Flags.string({ description: 'Who is speaking (default: your login name; in team mode your operator name, and no one else).', env: 'GRAFT_APPROVER' }),
  };

  async run(): Promise<{ session: string; message: StoredMessage }> {
    const runtime = this.runtime();
    const { session, run } = requireRun(runtime.store, this.flags.session);
    this.joinSession(session, 'approver', 'message');
    const to = this.args.to;
    if (to !== broadcastRecipient && !Object.hasOwn(run.graph.tasks, to))
      throw new NotFoundError(`session ${session.id} has no task ${to}`, [`Tasks: ${Object.keys(run.graph.tasks).join(', ')}, or all`]);
    const who = humanName(runtime, this.flags.by);
    this.logToSession(session.id);
    if (this.flags.answer)
      return {
        session: session.id,
        message: answerQuestion(runtime, session.id, { questionId: this.flags.answer, task: to, who, body: this.args.text, via: 'cli' }),
      };
    const message = MessageStore.of(runtime.store).send(session.id, { from: `human:${who}`, to, body: this.args.text });
    runtime.events.emit({
      code: 'message.sent',
      level: 'info',
      message: `message from ${who} to ${to} (${this.args.text.length} characters)`,
      session: session.id,
      data: { id: message.id, to },
    });
    return { session: session.id, message };
  }
}
