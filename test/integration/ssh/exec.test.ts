import { expect } from 'chai';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { SshError } from '../../../src/core/errors.js';
import { SshPool } from '../../../src/core/ssh/index.js';
import { maxConcurrentCommands } from '../../../src/core/ssh/connection.js';
import { useSshdFleet } from '../../helpers/sshd.js';

describe('SSH exec against a real sshd', () => {
  const hosts = useSshdFleet(1);
  const pool = new SshPool({ connectTimeoutMs: 5000 });
  after(() => pool.closeAll());
  const endpoint = () => hosts.fleet.endpoints[0]!;

  it('Given a command writing to both streams, when run, then stdout and stderr are streamed to callbacks and returned', async () => {
    const seenOut: Buffer[] = [];
    const seenErr: Buffer[] = [];
    const result = await pool.exec(endpoint(), 'echo out-line; echo err-line >&2', {
      onStdout: (chunk) => seenOut.push(chunk),
      onStderr: (chunk) => seenErr.push(chunk),
    });
    expect(result.stdout).to.equal('out-line\n');
    expect(result.stderr).to.equal('err-line\n');
    expect(Buffer.concat(seenOut).toString()).to.equal('out-line\n');
    expect(Buffer.concat(seenErr).toString()).to.equal('err-line\n');
    expect(result.durationMs).to.be.greaterThan(0);
  });

  it('Given commands exiting 0 and 3, when run, then the exit codes are returned, not thrown', async () => {
    expect((await pool.exec(endpoint(), 'true')).exitCode).to.equal(0);
    const failed = await pool.exec(endpoint(), 'exit 3');
    expect(failed.exitCode).to.equal(3);
    expect(failed.signal).to.equal(null);
  });

  it('Given a command that kills its own shell with SIGKILL, when run, then the result has no exit code and signal SIGKILL', async () => {
    const result = await pool.exec(endpoint(), 'kill -9 $$');
    expect(result.exitCode).to.equal(null);
    expect(result.signal).to.equal('SIGKILL');
  });

  it('Given stdin, when the command reads it, then it receives the bytes and EOF', async () => {
    const result = await pool.exec(endpoint(), 'wc -c; cat', { stdin: 'hello graft' });
    expect(result.stdout.trim().split('\n')[0]?.trim()).to.equal('11');
    const echoed = await pool.exec(endpoint(), 'cat', { stdin: Buffer.from('bytes in, bytes out') });
    expect(echoed.stdout).to.equal('bytes in, bytes out');
  });

  it('Given a stream as stdin, when the command reads it, then it receives every byte and EOF; a stream that fails ends the command with SSH_CHANNEL', async () => {
    const bytes = randomBytes(3 * 1024 * 1024);
    const result = await pool.exec(endpoint(), 'sha256sum', { stdin: Readable.from([bytes.subarray(0, 1000), bytes.subarray(1000)]), timeoutMs: 20_000 });
    expect(result.stdout.split(' ')[0]).to.equal(createHash('sha256').update(bytes).digest('hex'));
    const failing = new Readable({
      read() {
        this.destroy(new Error('disk gone'));
      },
    });
    const error = await pool.exec(endpoint(), 'cat >/dev/null; sleep 5', { stdin: failing, timeoutMs: 20_000 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(SshError).and.to.include({ code: 'SSH_CHANNEL' });
    expect((error as Error).message).to.contain('disk gone');
  });

  it('Given no stdin, when the command reads stdin, then it gets EOF instead of hanging', async () => {
    const result = await pool.exec(endpoint(), 'cat; echo done', { timeoutMs: 5000 });
    expect(result.stdout).to.equal('done\n');
  });

  it('Given output larger than maxBufferBytes, when run, then the result keeps the limit, is marked truncated, and callbacks still see everything', async () => {
    let streamed = 0;
    const result = await pool.exec(endpoint(), 'head -c 300000 /dev/zero | tr "\\0" a', {
      maxBufferBytes: 1000,
      onStdout: (chunk) => (streamed += chunk.length),
    });
    expect(result.exitCode).to.equal(0);
    expect(result.stdout.length).to.equal(1000);
    expect(result.truncated).to.equal(true);
    expect(streamed).to.equal(300000);
    const small = await pool.exec(endpoint(), 'echo small');
    expect(small.truncated).to.equal(false);
  });

  it('Given 40 concurrent commands to one host, when run through the pool, then all succeed over one TCP connection', async () => {
    const fleet = hosts.fleet;
    const freshPool = new SshPool();
    const before = fleet.connectionCount(fleet.hosts[0]!);
    try {
      const results = await Promise.all(Array.from({ length: 40 }, (_, i) => freshPool.exec(endpoint(), `echo ${i}`)));
      expect(results.map((r) => r.stdout.trim())).to.deep.equal(Array.from({ length: 40 }, (_, i) => String(i)));
      expect(freshPool.connectionsOpened).to.equal(1);
      expect(fleet.connectionCount(fleet.hosts[0]!) - before).to.equal(1);
    } finally {
      await freshPool.closeAll();
    }
  });

  it('Given a command that outlives timeoutMs, when run, then it rejects with SSH_TIMEOUT in time and the remote process is killed', async () => {
    const marker = `graft-timeout-marker-${process.pid}-${Date.now()}`;
    const started = Date.now();
    const error = await pool.exec(endpoint(), `sleep 30; echo ${marker}`, { timeoutMs: 300 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    const elapsed = Date.now() - started;
    expect(error).to.be.instanceOf(SshError);
    expect((error as SshError).code).to.equal('SSH_TIMEOUT');
    expect((error as SshError).message)
      .to.include('300 ms')
      .and.include('host0');
    expect(elapsed).to.be.lessThan(300 + 1000);
    // The sleep is in the shell's process group, which OpenSSH signals as a whole.
    // "[g]raft..." matches the marker but not this checking command's own command line.
    const check = await pool.exec(
      endpoint(),
      `for i in 1 2 3 4 5 6 7 8 9 10; do pgrep -f "[g]${marker.slice(1)}" >/dev/null || exit 0; sleep 0.1; done; exit 1`,
    );
    expect(check.exitCode, 'a process with the marker still runs on the host').to.equal(0);
  });

  it('Given a running command, when its AbortSignal fires, then it rejects with the abort reason and the connection stays usable', async () => {
    const controller = new AbortController();
    const running = pool.exec(endpoint(), 'sleep 30', { signal: controller.signal });
    setTimeout(() => controller.abort(new Error('user interrupted')), 100);
    const error = await running.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((error as Error).message).to.equal('user interrupted');
    expect((await pool.exec(endpoint(), 'echo still-alive')).stdout).to.equal('still-alive\n');
    const aborted = AbortSignal.abort(new Error('already aborted'));
    const early = await pool.exec(endpoint(), 'true', { signal: aborted }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((early as Error).message).to.equal('already aborted');
  });
});

describe('SSH exec against an sshd with its default session limit (MaxSessions 10)', () => {
  const hosts = useSshdFleet(1, { sshd: { extraConfig: ['MaxSessions 10'] } });
  const pool = new SshPool({ connectTimeoutMs: 5000 });
  after(() => pool.closeAll());

  it('Given more commands at once than sshd allows sessions on one connection, when run, then each waits its turn and every one succeeds', async () => {
    const connection = await pool.connection(hosts.fleet.endpoints[0]!);
    await connection.putFile(Buffer.from('sftp holds a session too\n'), '.graft-exec-limit-probe');
    const results = await Promise.all(
      Array.from({ length: 3 * maxConcurrentCommands }, (_, i) => connection.exec(`sleep 0.2; echo ${i}`, { timeoutMs: 30_000 })),
    );
    expect(results.map((r) => r.exitCode)).to.deep.equal(results.map(() => 0));
    expect(results.map((r) => r.stdout.trim())).to.deep.equal(results.map((_, i) => String(i)));
  });
});
