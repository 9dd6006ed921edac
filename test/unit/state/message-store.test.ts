import { expect } from 'chai';
import { NotFoundError, UsageError } from '../../../src/core/errors.js';
import { MessageStore } from '../../../src/core/state/message-store.js';
import { maxMessageBodyLength } from '../../../src/core/state/message-rules.js';
import { StateStore } from '../../../src/core/state/store.js';
import { storeBackends } from '../../helpers/store-backends.js';

const session = 'msgsessa';

for (const backend of storeBackends())
  describe(`message store (${backend.name})`, () => {
    backend.hooks();
    let target: string;
    let state: StateStore;
    let messages: MessageStore;
    beforeEach(() => {
      target = backend.fresh();
      state = StateStore.open(target);
      state.createSession({ id: session, status: 'live', provisioner: 'local', spec: {}, expiresAt: '2030-01-01T00:00:00.000Z' });
      messages = MessageStore.of(state);
    });
    afterEach(() => state.close());

    const bodies = (list: { body: string }[]) => list.map((m) => m.body);

    it('given a broadcast from one task, when every task reads its inbox twice, then each other task gets it exactly once and the sender never', () => {
      messages.send(session, { from: 'plan', to: 'all', body: 'plan is ready' });
      messages.send(session, { from: 'human:ana', to: 'all', body: 'use v2' });
      for (const task of ['api', 'ui']) {
        expect(bodies(messages.takeInbox(session, task).messages)).to.deep.equal(['plan is ready', 'use v2']);
        expect(messages.takeInbox(session, task).messages).to.deep.equal([]);
      }
      expect(bodies(messages.takeInbox(session, 'plan').messages), 'the sender gets only the human broadcast').to.deep.equal(['use v2']);
    });

    it('given direct messages, when tasks read, then only the addressee gets each, in order, and the limit leaves the rest unread with a count', () => {
      messages.send(session, { from: 'api', to: 'ui', body: 'one' });
      messages.send(session, { from: 'human:ana', to: 'ui', body: 'two' });
      messages.send(session, { from: 'api', to: 'ui', body: 'three' });
      messages.send(session, { from: 'ui', to: 'api', body: 'for api' });
      const first = messages.takeInbox(session, 'ui', { limit: 2 });
      expect(bodies(first.messages)).to.deep.equal(['one', 'two']);
      expect(first.remaining).to.equal(1);
      expect(first.messages[0]).to.include({ sender: 'api', recipient: 'ui', kind: 'message', session });
      expect(bodies(messages.takeInbox(session, 'ui').messages)).to.deep.equal(['three']);
      expect(bodies(messages.takeInbox(session, 'api').messages)).to.deep.equal(['for api']);
    });

    it('given two handles on the same file (controller and CLI), when both drain one inbox, then no message is delivered twice', () => {
      const other = StateStore.open(target);
      const cli = MessageStore.of(other);
      for (let i = 0; i < 20; i++) cli.send(session, { from: 'human:ana', to: 'api', body: `m${i}` });
      const seen: string[] = [];
      for (let round = 0; round < 12; round++) {
        seen.push(...bodies(messages.takeInbox(session, 'api', { limit: 1 }).messages));
        seen.push(...bodies(cli.takeInbox(session, 'api', { limit: 1 }).messages));
      }
      other.close();
      expect(seen).to.have.length(20);
      expect(new Set(seen).size).to.equal(20);
    });

    it('given a question, when a human answers it from another handle, then the asker takes the answer once, it never shows in its inbox, and a second answer is refused', () => {
      const question = messages.ask(session, { from: 'api', body: 'which endpoint?' });
      expect(messages.takeAnswer(session, 'api', question.id)).to.equal(undefined);
      expect(messages.openQuestions(session).map((q) => q.id)).to.deep.equal([question.id]);

      const other = StateStore.open(target);
      const answer = MessageStore.of(other).answer(session, question.id, { who: 'ana', body: 'v2' });
      other.close();
      expect(answer).to.include({ sender: 'human:ana', recipient: 'api', kind: 'answer', replyTo: question.id, body: 'v2' });
      expect(messages.takeAnswer(session, 'api', question.id)).to.deep.equal(answer);
      expect(messages.takeInbox(session, 'api').messages).to.deep.equal([]);
      expect(messages.openQuestions(session)).to.deep.equal([]);
      expect(messages.question(session, question.id)!.answer).to.deep.equal(answer);
      expect(() => messages.answer(session, question.id, { who: 'bo', body: 'v3' })).to.throw(UsageError, /already answered by ana/);
    });

    it('given an answer the asker never waited for (its ask was killed), when it reads its inbox, then the answer is there once', () => {
      const question = messages.ask(session, { from: 'api', body: 'ok to drop the table?' });
      messages.answer(session, question.id, { who: 'ana', body: 'no' });
      expect(messages.takeInbox(session, 'api').messages.map((m) => [m.kind, m.body, m.replyTo])).to.deep.equal([['answer', 'no', question.id]]);
      expect(messages.takeInbox(session, 'api').messages).to.deep.equal([]);
    });

    it('given questions of other tasks or sessions, when answered or taken by the wrong party, then NotFound', () => {
      const question = messages.ask(session, { from: 'api', body: 'q' });
      const status = messages.recordStatus(session, 'api', 'working');
      expect(() => messages.takeAnswer(session, 'ui', question.id)).to.throw(NotFoundError);
      expect(() => messages.answer(session, status.id, { who: 'ana', body: 'x' })).to.throw(NotFoundError);
      expect(() => messages.answer('othersess', question.id, { who: 'ana', body: 'x' })).to.throw(NotFoundError);
    });

    it('given messages, questions and statuses, when the humans read their inbox, then open questions come first, statuses never, and read entries only with all', () => {
      messages.send(session, { from: 'api', to: 'human', body: 'hello humans' });
      const early = messages.ask(session, { from: 'api', body: 'early question' });
      const late = messages.ask(session, { from: 'ui', body: 'late question' });
      messages.send(session, { from: 'ui', to: 'all', body: 'ui broadcast' });
      messages.send(session, { from: 'human:ana', to: 'all', body: 'human broadcast' });
      messages.recordStatus(session, 'api', 'compiling');
      messages.answer(session, early.id, { who: 'ana', body: 'yes' });

      const inbox = messages.humanInbox(session);
      expect(inbox.map((e) => [e.kind, e.body, e.open])).to.deep.equal([
        ['question', 'late question', true],
        ['message', 'hello humans', undefined],
        ['message', 'ui broadcast', undefined],
      ]);
      expect(
        messages.humanInbox(session).map((e) => e.body),
        'read messages are gone; the open question stays',
      ).to.deep.equal(['late question']);
      const all = messages.humanInbox(session, { all: true });
      expect(all.map((e) => e.body)).to.deep.equal(['late question', 'hello humans', 'early question', 'ui broadcast']);
      expect(all.find((e) => e.id === early.id)).to.include({ open: false });
      expect(all.find((e) => e.id === early.id)!.answer!.body).to.equal('yes');
      expect(late.id).to.be.greaterThan(early.id);
    });

    it('given a resent message or question with the same key, then it is stored once and the first is returned', () => {
      const a = messages.send(session, { from: 'api', to: 'ui', body: 'once', key: 'k-12345678' });
      const b = messages.send(session, { from: 'api', to: 'ui', body: 'once', key: 'k-12345678' });
      const c = messages.send(session, { from: 'ui', to: 'api', body: 'other sender, same key', key: 'k-12345678' });
      expect(b).to.deep.equal(a);
      expect(c.id).to.not.equal(a.id);
      const q1 = messages.ask(session, { from: 'api', body: 'q', key: 'q-12345678' });
      expect(messages.ask(session, { from: 'api', body: 'q', key: 'q-12345678' }).id).to.equal(q1.id);
      expect(messages.takeInbox(session, 'ui').messages).to.have.length(1);
    });

    it('given statuses and traffic, then latest statuses and a task history say what each task said and heard', () => {
      messages.recordStatus(session, 'api', 'starting');
      messages.send(session, { from: 'ui', to: 'api', body: 'to api' });
      messages.send(session, { from: 'ui', to: 'plan', body: 'not for api' });
      messages.send(session, { from: 'plan', to: 'all', body: 'everyone' });
      messages.recordStatus(session, 'api', 'tests pass');
      messages.recordStatus(session, 'ui', 'styling');
      const latest = messages.latestStatuses(session);
      expect([...latest.entries()].map(([task, m]) => [task, m.body]).sort()).to.deep.equal([
        ['api', 'tests pass'],
        ['ui', 'styling'],
      ]);
      expect(bodies(messages.history(session, 'api'))).to.deep.equal(['starting', 'to api', 'everyone', 'tests pass']);
    });

    it('given bad names or bodies, then a UsageError says what is wrong', () => {
      expect(() => messages.send(session, { from: 'api', to: 'no such/name', body: 'x' })).to.throw(UsageError, /recipient/);
      expect(() => messages.send(session, { from: 'all', to: 'api', body: 'x' })).to.throw(UsageError, /sender/);
      expect(() => messages.send(session, { from: 'human:', to: 'api', body: 'x' })).to.throw(UsageError, /human name/);
      expect(() => messages.send(session, { from: 'api', to: 'ui', body: '  ' })).to.throw(UsageError, /empty/);
      expect(() => messages.send(session, { from: 'api', to: 'ui', body: 'x'.repeat(maxMessageBodyLength + 1) })).to.throw(UsageError, /limit is 16384/);
      expect(() => messages.send(session, { from: 'api', to: 'ui', body: 'x', key: 'bad key' })).to.throw(UsageError, /key/);
      expect(() => messages.ask(session, { from: 'human:ana', body: 'x' })).to.throw(UsageError);
    });
  });
