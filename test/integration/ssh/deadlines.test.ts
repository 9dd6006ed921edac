import { expect } from 'chai';
import { SshError } from '../../../src/core/errors.js';
import { SshPool, type SshEndpoint } from '../../../src/core/ssh/index.js';
import { startSilentServer, useSshdFleet, type FakeServer } from '../../helpers/sshd.js';

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.fail('expected a rejection'),
    (error: unknown) => error,
  );
}

const timeout = (ms: number) => AbortSignal.timeout(ms);

/** Polls `check` until it is true or `withinMs` passed; the last answer. */
async function eventually(check: () => boolean | Promise<boolean>, withinMs: number): Promise<boolean> {
  const deadline = Date.now() + withinMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return check();
}

describe('SSH deadlines: one signal bounds connecting and running, and closing the pool leaves nothing behind', () => {
  const hosts = useSshdFleet(1);
  const fakes: FakeServer[] = [];
  after(async () => {
    await Promise.all(fakes.map((fake) => fake.close()));
  });

  async function hungEndpoint(): Promise<{ endpoint: SshEndpoint; server: FakeServer }> {
    const server = await startSilentServer();
    fakes.push(server);
    return { server, endpoint: { ...hosts.fleet.endpoints[0]!, label: 'hung', host: server.host, port: server.port } };
  }

  it("Given a hung host and a 10 s connect timeout, when the caller's signal aborts after 300 ms, then the caller gets its reason at once and the dial's socket is closed", async () => {
    const { endpoint, server } = await hungEndpoint();
    const pool = new SshPool({ connectTimeoutMs: 10_000 });
    const controller = new AbortController();
    const reason = new SshError('deadline passed', 'SSH_TIMEOUT');
    setTimeout(() => controller.abort(reason), 300);
    const started = Date.now();
    const error = await rejection(pool.exec(endpoint, 'true', { signal: controller.signal }));
    expect(error).to.equal(reason);
    expect(Date.now() - started).to.be.lessThan(300 + 300);
    expect(await eventually(() => server.connections === 1 && server.openConnections === 0, 1000), "the dial's TCP connection is still open").to.equal(true);
    await pool.closeAll();
  });

  it('Given a dial still in flight to a hung host, when closeAll runs, then it returns at once and the dial rejects', async () => {
    const { endpoint, server } = await hungEndpoint();
    const pool = new SshPool({ connectTimeoutMs: 10_000 });
    const dialing = rejection(pool.connection(endpoint));
    await eventually(() => server.connections === 1, 1000);
    const started = Date.now();
    await pool.closeAll();
    expect(Date.now() - started).to.be.lessThan(500);
    expect(((await dialing) as SshError).code).to.equal('SSH_DISCONNECTED');
    expect(await eventually(() => server.openConnections === 0, 1000)).to.equal(true);
  });

  it("Given two callers sharing one dial, when one caller's signal aborts, then the other still gets the connection from that same dial", async () => {
    const pool = new SshPool({ connectTimeoutMs: 5000 });
    try {
      const endpoint = hosts.fleet.endpoints[0]!;
      const impatient = new AbortController();
      const first = rejection(pool.connection(endpoint, { signal: impatient.signal }));
      const second = pool.connection(endpoint, { signal: timeout(5000) });
      impatient.abort(new Error('gave up'));
      expect(((await first) as Error).message).to.equal('gave up');
      expect((await second).isOpen).to.equal(true);
      expect(pool.connectionsOpened).to.equal(1);
    } finally {
      await pool.closeAll();
    }
  });

  it('Given a running command, when its signal aborts and the pool is closed right away, then the remote process is killed, not orphaned', async () => {
    const marker = `graft-deadline-marker-${process.pid}-${Date.now()}`;
    const endpoint = hosts.fleet.endpoints[0]!;
    const pool = new SshPool({ connectTimeoutMs: 5000 });
    const controller = new AbortController();
    const running = rejection(pool.exec(endpoint, `perl -e 'sleep 30' ${marker}; echo after`, { signal: controller.signal }));
    const checker = new SshPool({ connectTimeoutMs: 5000 });
    try {
      const started = await checker.exec(endpoint, `for i in $(seq 100); do pgrep -f "[g]${marker.slice(1)}" >/dev/null && exit 0; sleep 0.02; done; exit 1`);
      expect(started.exitCode, 'the marked command never started').to.equal(0);
      controller.abort(new SshError('deadline passed', 'SSH_TIMEOUT'));
      // What `graft exec` does when its rows are in: close every connection at once.
      await pool.closeAll();
      expect(((await running) as SshError).code).to.equal('SSH_TIMEOUT');
      const gone = await checker.exec(endpoint, `for i in $(seq 100); do pgrep -f "[g]${marker.slice(1)}" >/dev/null || exit 0; sleep 0.02; done; exit 1`);
      expect(gone.exitCode, 'a process with the marker still runs on the host').to.equal(0);
    } finally {
      await checker.exec(endpoint, `pkill -KILL -f "[g]${marker.slice(1)}"; true`).catch(() => undefined);
      await checker.closeAll();
    }
  });
});
