import { expect } from 'chai';
import { SshError } from '../../../src/core/errors.js';
import { SshPool } from '../../../src/core/ssh/index.js';
import { useSshdFleet } from '../../helpers/sshd.js';

describe('SSH pool reuse and reconnection against a real sshd', () => {
  const hosts = useSshdFleet(2);
  let pool: SshPool;
  beforeEach(() => {
    pool = new SshPool({ connectTimeoutMs: 5000 });
  });
  afterEach(() => pool.closeAll());

  it('Given concurrent first calls for one endpoint, when connecting, then they share one connection', async () => {
    const endpoint = hosts.fleet.endpoints[0]!;
    const connections = await Promise.all([pool.connection(endpoint), pool.connection(endpoint), pool.connection(endpoint)]);
    expect(connections[1]).to.equal(connections[0]);
    expect(connections[2]).to.equal(connections[0]);
    expect(pool.connectionsOpened).to.equal(1);
    const other = await pool.connection(hosts.fleet.endpoints[1]!);
    expect(other).not.to.equal(connections[0]);
  });

  it('Given a connection whose sshd session process was killed, when the next exec runs, then the pool reconnects and it works', async () => {
    const fleet = hosts.fleet;
    const host = fleet.hosts[0]!;
    const first = await pool.connection(host.endpoint);
    expect((await first.exec('echo one')).stdout).to.equal('one\n');
    await fleet.dropConnections(host);
    const end = await first.ended;
    expect(end.dropped).to.equal(true);
    expect(end.error?.code).to.equal('SSH_DISCONNECTED');
    expect((await pool.exec(host.endpoint, 'echo two')).stdout).to.equal('two\n');
    expect(pool.connectionsOpened).to.equal(2);
  });

  it('Given a command running when the connection drops, when it drops, then the command rejects with SSH_DISCONNECTED', async () => {
    const host = hosts.fleet.hosts[1]!;
    const connection = await pool.connection(host.endpoint);
    const running = connection.exec('sleep 20');
    // Wait until the command runs on the host, then cut the connection under it.
    await connection.exec('until pgrep -u "$(id -u)" -x sleep >/dev/null; do sleep 0.02; done', { timeoutMs: 5000 });
    await hosts.fleet.dropConnections(host);
    const error = await running.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(SshError);
    expect((error as SshError).code).to.equal('SSH_DISCONNECTED');
  });

  it('Given a host whose sshd restarted with the same key, when the pool is used again, then it reconnects transparently', async () => {
    const fleet = hosts.fleet;
    const host = fleet.hosts[1]!;
    const first = await pool.connection(host.endpoint);
    expect((await first.exec('echo before')).stdout).to.equal('before\n');
    await fleet.restart(host);
    expect((await first.ended).dropped).to.equal(true);
    expect((await pool.exec(host.endpoint, 'echo after')).stdout).to.equal('after\n');
  });

  it('Given a closed pool connection, when closeAll ran, then the connection reports a clean (not dropped) end', async () => {
    const connection = await pool.connection(hosts.fleet.endpoints[0]!);
    await pool.closeAll();
    expect(await connection.ended).to.deep.equal({ dropped: false });
    expect(connection.isOpen).to.equal(false);
    const error = await connection.exec('true').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((error as SshError).code).to.equal('SSH_DISCONNECTED');
  });
});
