import { expect } from 'chai';
import { createServer, type IncomingMessage, type ServerResponse, type Server } from 'node:http';
import { EventBus, type GraftEvent } from '../../../src/core/events.js';
import { WebhookSender, type Notification } from '../../../src/core/notify/webhook-sender.js';

/** A local receiver whose answers the test scripts: each request gets the next behaviour. */
async function receiver(behaviours: ('ok' | 'fail' | 'hang' | 'reject')[]) {
  const bodies: unknown[] = [];
  let n = 0;
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const behaviour = behaviours[Math.min(n++, behaviours.length - 1)];
    let text = '';
    req.on('data', (c: Buffer) => (text += c.toString('utf8')));
    req.on('end', () => {
      bodies.push(JSON.parse(text));
      if (behaviour === 'ok') res.writeHead(200).end('ok');
      else if (behaviour === 'fail') res.writeHead(503).end();
      else if (behaviour === 'reject') res.writeHead(404).end();
      // 'hang': never answers; the sender's timeout must end the try.
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}/hooks/SECRET-PATH`,
    bodies,
    requests: () => n,
    close: () => server.closeAllConnections() ?? server.close(),
  };
}

const notification: Notification = {
  event: 'gate.waiting',
  session: 's1',
  text: 'review waits for approval to start',
  task: 'review',
  link: 'http://127.0.0.1:1/#task=review',
  time: new Date().toISOString(),
};

describe('notifications: webhook delivery (local HTTP receiver)', function () {
  this.timeout(30_000);

  it('given a receiver that fails twice then answers, when notified, then the same JSON body is retried until it lands and nothing is reported', async () => {
    const hook = await receiver(['fail', 'hang', 'ok']);
    const events = new EventBus();
    const seen: GraftEvent[] = [];
    events.on((e) => seen.push(e));
    const sender = new WebhookSender(events, { timeoutMs: 300, retries: 3, backoffMs: 20 });
    sender.send([{ url: hook.url }], notification);
    await sender.flush(10_000);
    expect(hook.requests()).to.equal(3);
    expect(hook.bodies).to.deep.equal([notification, notification, notification]);
    expect(seen).to.deep.equal([]);
    hook.close();
  });

  it('given a receiver that never succeeds, when notified, then send returns at once, the tries stop after the retries, and one warning names the origin but not the secret path', async () => {
    const hook = await receiver(['fail']);
    const events = new EventBus();
    const seen: GraftEvent[] = [];
    events.on((e) => seen.push(e));
    const sender = new WebhookSender(events, { timeoutMs: 300, retries: 2, backoffMs: 20 });
    sender.send([{ url: hook.url }], notification);
    expect(hook.requests(), 'nothing was awaited by send').to.equal(0);
    await sender.flush(10_000);
    expect(hook.requests()).to.equal(3);
    expect(seen.map((e) => e.code)).to.deep.equal(['notify.failed']);
    expect(seen[0]!.message).to.include(new URL(hook.url).origin).and.to.include('HTTP 503').and.not.to.include('SECRET-PATH');
    hook.close();
  });

  it('given a client error, when notified, then it is not retried; given a Slack target, then the body is { text } with the link', async () => {
    const hook = await receiver(['reject', 'ok']);
    const sender = new WebhookSender(new EventBus(), { timeoutMs: 300, retries: 3, backoffMs: 20 });
    sender.send([{ url: hook.url }], notification);
    await sender.flush(10_000);
    expect(hook.requests()).to.equal(1);
    sender.send(
      [
        { url: hook.url, format: 'slack' },
        { url: hook.url, events: ['run.finished'] },
      ],
      notification,
    );
    await sender.flush(10_000);
    expect(hook.bodies.at(-1)).to.deep.equal({ text: 'graft s1: review waits for approval to start <http://127.0.0.1:1/#task=review|open in the dashboard>' });
    expect(hook.requests(), 'the target that wants only run.finished got nothing').to.equal(2);
    hook.close();
  });

  it('given a receiver that does not answer, when notified, then each try ends at the timeout and the failure says so', async () => {
    const hook = await receiver(['hang']);
    const events = new EventBus();
    const seen: GraftEvent[] = [];
    events.on((e) => seen.push(e));
    const sender = new WebhookSender(events, { timeoutMs: 200, retries: 1, backoffMs: 10 });
    sender.send([{ url: hook.url }], notification);
    await sender.flush(10_000);
    expect(hook.requests()).to.equal(2);
    expect(seen[0]!.message).to.include('no answer in 200 ms');
    hook.close();
  });
});
