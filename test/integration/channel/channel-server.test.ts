import { X509Certificate } from 'node:crypto';
import { request } from 'node:https';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { startChannel, type ChannelServer } from '../../../src/core/channel/index.js';
import { StateError, UsageError } from '../../../src/core/errors.js';
import { EventBus, type GraftEvent } from '../../../src/core/events.js';
import { createSessionAuthority, issueAgentCertificate, type AgentCertificate, type SessionAuthority } from '../../../src/core/identity/index.js';
import { MessageStore } from '../../../src/core/state/message-store.js';
import { StateStore } from '../../../src/core/state/store.js';

const session = 'chansrvs';

interface Reply {
  status: number;
  text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- parsed JSON replies, asserted field by field
  json?: any;
}

describe('agent channel server: the protocol over mutual TLS on loopback', () => {
  let dir: string;
  let state: StateStore;
  let store: MessageStore;
  let authority: SessionAuthority;
  let server: ChannelServer;
  let alpha: AgentCertificate;
  let beta: AgentCertificate;
  const events: GraftEvent[] = [];
  let finishBehaviour: () => void = () => undefined;
  let statusBehaviour: () => void = () => undefined;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'graft-channel-'));
    state = StateStore.open(join(dir, 'state.db'));
    state.createSession({ id: session, status: 'live', provisioner: 'local', spec: {}, expiresAt: '2030-01-01T00:00:00.000Z' });
    store = MessageStore.of(state);
    authority = await createSessionAuthority({ sessionId: session, validUntil: new Date(Date.now() + 3_600_000) });
    [alpha, beta] = await Promise.all([issueAgentCertificate(authority, { agentName: 'alpha' }), issueAgentCertificate(authority, { agentName: 'beta' })]);
    // What agents really present: EC P-256 client certificates from the RSA session CA.
    expect(new X509Certificate(alpha.certPem).publicKey.asymmetricKeyDetails?.namedCurve).to.equal('prime256v1');
    const bus = new EventBus();
    bus.on((event) => events.push(event));
    server = await startChannel({
      sessionId: session,
      authority,
      store,
      identify: (agent) => ({ alpha: { task: 'plan' }, beta: { task: 'build' } })[agent],
      isTask: (name) => ['plan', 'build'].includes(name),
      handlers: { status: () => statusBehaviour(), done: () => finishBehaviour(), fail: () => finishBehaviour() },
      events: bus,
      longPollMs: 300,
      answerPollMs: 50,
    });
  });
  after(async () => {
    await server?.close();
    state?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** One HTTPS exchange that verifies the server against the session CA, as the helper does. */
  function call(as: AgentCertificate | undefined, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> {
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: server.port,
          method,
          path,
          ca: authority.caCertPem,
          ...(as ? { cert: as.certPem, key: as.keyPem } : {}),
          agent: false,
          headers: { ...(payload ? { 'content-type': 'application/json' } : {}), ...headers },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (text += chunk));
          res.on('end', () =>
            resolve({
              status: res.statusCode!,
              text,
              ...(String(res.headers['content-type']).startsWith('application/json') ? { json: JSON.parse(text) } : {}),
            }),
          );
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  }

  it('given a client without a certificate, then every route is refused 403 and the refusal is recorded', async () => {
    const reply = await call(undefined, 'POST', '/v1/status', { text: 'hi' });
    expect(reply.status).to.equal(403);
    expect(reply.json.error.code).to.equal('NO_CERTIFICATE');
    expect(events.some((e) => e.code === 'channel.refused' && e.data?.reason === 'NO_CERTIFICATE')).to.equal(true);
  });

  it('given JSON clients, then sending and reading use JSON, with the task the certificate names', async () => {
    const sent = await call(alpha, 'POST', '/v1/messages', { to: 'build', text: 'json hello', from: 'alpha' });
    expect(sent.status).to.equal(201);
    expect(sent.json).to.deep.include({ to: 'build' });
    const inbox = await call(beta, 'POST', '/v1/inbox');
    expect(inbox.status).to.equal(200);
    expect(inbox.json.remaining).to.equal(0);
    expect(inbox.json.messages.map((m: { sender: string; body: string }) => [m.sender, m.body])).to.deep.equal([['plan', 'json hello']]);
  });

  it('given a "sender" field naming another task, then 403 SENDER_FORGED', async () => {
    const reply = await call(beta, 'POST', '/v1/questions', { text: 'q', sender: 'plan' });
    expect(reply.status).to.equal(403);
    expect(reply.json.error.code).to.equal('SENDER_FORGED');
    expect(store.openQuestions(session)).to.deep.equal([]);
  });

  it('given malformed requests, then each is refused with a status and a reason naming every problem', async () => {
    const problems = await call(alpha, 'POST', '/v1/messages', { text: 5, extra: true });
    expect(problems.status).to.equal(400);
    expect(problems.json.error.message).to.match(/to: .*; text: .*(; |\(body\): ).*extra/s);
    expect((await call(alpha, 'POST', '/v1/status', 'text=hi', { 'content-type': 'application/x-www-form-urlencoded' })).status).to.equal(415);
    expect((await call(alpha, 'POST', '/v1/status', '{not json')).status).to.equal(400);
    expect((await call(alpha, 'POST', '/v1/status', { text: 'x'.repeat(200_000) })).status).to.equal(413);
    expect((await call(alpha, 'POST', '/v1/status', { text: 'x'.repeat(20_000) })).json.error.message).to.match(/limit is 16384/);
    expect((await call(alpha, 'POST', '/v1/messages', { to: 'nobody', text: 'x' })).json.error.code).to.equal('NO_SUCH_TASK');
    expect((await call(alpha, 'DELETE', '/v1/inbox')).status).to.equal(404);
    expect((await call(alpha, 'GET', '/v1/nothing', undefined, { accept: 'text/plain' })).text).to.match(/^no route GET \/v1\/nothing/);
  });

  it('given control characters from an agent, then they are stored inert, newlines and tabs kept', async () => {
    await call(alpha, 'POST', '/v1/messages', { to: 'human', text: 'red \u001b[31malert\u0007\tok\nline 2' });
    const last = store.humanInbox(session, { markRead: false }).pop()!;
    expect(last.body).to.equal('red \ufffd[31malert\ufffd\tok\nline 2');
  });

  it('given a question, then a poll waits and comes back 204, returns the answer once given, and another task cannot poll it', async () => {
    const asked = await call(alpha, 'POST', '/v1/questions', { text: 'ship it?', key: 'key-0001' });
    expect(asked.status).to.equal(201);
    const id = asked.json.id as number;
    expect((await call(alpha, 'POST', '/v1/questions', { text: 'ship it?', key: 'key-0001' })).json.id, 'a resent question is the same question').to.equal(id);
    expect((await call(alpha, 'GET', `/v1/questions/${id}?wait=25`)).status).to.equal(204);
    expect((await call(beta, 'GET', `/v1/questions/${id}`)).status).to.equal(404);
    const polling = call(alpha, 'GET', `/v1/questions/${id}?wait=25`, undefined, { accept: 'text/plain' });
    store.answer(session, id, { who: 'ana', body: 'ship' });
    const answered = await polling;
    expect([answered.status, answered.text]).to.deep.equal([200, 'ship\n']);
  });

  it('given handlers that refuse or break, then done/fail carry the refusal to the agent, a broken status handler does not, and a bug is a 500 with a warning', async () => {
    finishBehaviour = () => {
      throw new UsageError('task plan is not running');
    };
    expect((await call(alpha, 'POST', '/v1/done', { summary: 'ok' })).json.error.message).to.equal('task plan is not running');
    finishBehaviour = () => {
      throw new StateError('state store is locked');
    };
    expect((await call(alpha, 'POST', '/v1/fail', { summary: 'no' })).status).to.equal(409);
    finishBehaviour = () => {
      throw new TypeError('oops');
    };
    expect((await call(alpha, 'POST', '/v1/done', { summary: 'ok' })).status).to.equal(500);
    expect(events.some((e) => e.code === 'warning' && e.message.includes('oops'))).to.equal(true);
    statusBehaviour = () => {
      throw new Error('display gone');
    };
    expect((await call(alpha, 'POST', '/v1/status', { text: 'still stored' })).status).to.equal(204);
    expect(store.latestStatuses(session).get('plan')!.body).to.equal('still stored');
  });

  it('given more unread messages than the limit, then the text inbox says how many remain, and an uncollected answer shows as one', async () => {
    for (let i = 0; i < 3; i++) store.send(session, { from: 'human:ana', to: 'build', body: `n${i}` });
    const first = await call(beta, 'POST', '/v1/inbox', { limit: 2 }, { accept: 'text/plain' });
    expect(first.text).to.match(/n0\n.*n1\n\(1 more unread: run graft-agent inbox again\)\n$/s);
    const question = store.ask(session, { from: 'build', body: 'left or right?' });
    const answer = store.answer(session, question.id, { who: 'ana', body: 'left' });
    const rest = await call(beta, 'POST', '/v1/inbox', {}, { accept: 'text/plain' });
    expect(rest.text).to.match(new RegExp(`n2\\n--- answer ${answer.id} to question ${question.id} from human:ana ---\\nleft\\n$`));
  });

  it('given a held poll, when the server closes, then close returns and the poll ends', async () => {
    const asked = await call(beta, 'POST', '/v1/questions', { text: 'still there?' });
    const slow = await startChannel({
      sessionId: session,
      authority,
      store,
      identify: () => ({ task: 'build' }),
      handlers: { status() {}, done() {}, fail() {} },
    });
    const held = new Promise<string>((resolve) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: slow.port,
          path: `/v1/questions/${asked.json.id}?wait=25`,
          ca: authority.caCertPem,
          cert: beta.certPem,
          key: beta.keyPem,
          agent: false,
        },
        (res) => resolve(String(res.statusCode)),
      );
      req.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
      req.end();
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    await slow.close();
    expect(await held).to.be.oneOf(['ECONNRESET', '204', 'socket hang up']);
  });
});
