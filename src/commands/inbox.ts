import { Flags } from '@oclif/core';
import { GraftCommand } from '../cli/base-command.js';
import { sessionFlag } from '../cli/flags.js';
import { requireRun } from '../core/controller/require-run.js';
import { MessageStore, type HumanInboxEntry } from '../core/state/message-store.js';

export default class Inbox extends GraftCommand<typeof Inbox> {
  static override summary = 'What agents asked or told the humans: open questions first, then messages.';
  static override description = `Shows the messages agents sent to human (graft-agent msg human ...), their broadcasts, and their questions (graft-agent ask ...), each with its id. Answer a question with graft message TASK --answer ID "...". Shown messages are marked read; --all shows everything again, answered questions with their answers.`;
  static override examples = ['<%= config.bin %> inbox', '<%= config.bin %> inbox --all --json'];
  static override flags = {
    session: sessionFlag,
    all: Flags.boolean({ char: 'a', description: 'Include messages already read and questions already answered.' }),
  };

  async run(): Promise<{ session: string; entries: HumanInboxEntry[] }> {
    const { session } = requireRun(this.runtime().store, this.flags.session);
    this.joinSession(session, 'approver', 'inbox');
    const entries = MessageStore.of(this.runtime().store).humanInbox(session.id, { all: this.flags.all });
    if (entries.length === 0) this.log(this.flags.all ? 'no messages' : 'no new messages (graft inbox --all shows earlier ones)');
    for (const e of entries) {
      const kind =
        e.kind === 'question'
          ? e.open
            ? `QUESTION ${e.id} (answer: graft message ${e.sender} --answer ${e.id} "...")`
            : `question ${e.id}, answered by ${e.answer?.sender}`
          : `message ${e.id}${e.recipient === 'all' ? ' to all' : ''}`;
      this.log(`${e.createdAt}  ${e.sender}  ${kind}\n  ${e.body.split('\n').join('\n  ')}${e.answer ? `\n  → ${e.answer.body}` : ''}\n`);
    }
    return { session: session.id, entries };
  }
}
