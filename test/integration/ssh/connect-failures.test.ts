import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, SecurityError, SshError } from '../../../src/core/errors.js';
import { generateEd25519KeyPair, SshConnection, SshPool, type SshEndpoint } from '../../../src/core/ssh/index.js';
import { distinctLoopbackAddresses, startDripServer, startSilentServer, useSshdFleet, type FakeServer } from '../../helpers/sshd.js';
import { createServer } from 'node:net';

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.fail('expected a rejection'),
    (error: unknown) => error,
  );
}

/** A loopback port that was free a moment ago and that nothing listens on. */
async function closedPort(host: string): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (typeof address !== 'object' || !address) throw new Error('no port');
  return address.port;
}

describe('SSH connection failures are typed and bounded', () => {
  const hosts = useSshdFleet(3);
  const fakes: FakeServer[] = [];
  after(async () => {
    await Promise.all(fakes.map((fake) => fake.close()));
  });

  function fakeEndpoint(fake: FakeServer): SshEndpoint {
    return { ...hosts.fleet.endpoints[0]!, label: 'hung', host: fake.host, port: fake.port };
  }

  it('Given a closed port, when connecting, then SSH_UNREACHABLE comes quickly', async () => {
    const [host] = distinctLoopbackAddresses(1);
    const endpoint = { ...hosts.fleet.endpoints[0]!, label: 'closed', host: host!, port: await closedPort(host!) };
    const started = Date.now();
    const error = await rejection(SshConnection.open(endpoint, { connectTimeoutMs: 5000 }));
    expect(error).to.be.instanceOf(SshError);
    expect((error as SshError).code).to.equal('SSH_UNREACHABLE');
    expect((error as SshError).message)
      .to.include('closed')
      .and.include(`${host}:${endpoint.port}`);
    expect(Date.now() - started).to.be.lessThan(1000);
  });

  it('Given a server that accepts TCP and never speaks, when connecting, then SSH_TIMEOUT names the host within the timeout', async () => {
    const silent = await startSilentServer();
    fakes.push(silent);
    const started = Date.now();
    const error = await rejection(SshConnection.open(fakeEndpoint(silent), { connectTimeoutMs: 400 }));
    expect(Date.now() - started).to.be.lessThan(400 + 600);
    expect((error as SshError).code).to.equal('SSH_TIMEOUT');
    expect((error as SshError).message)
      .to.include('hung')
      .and.include(`${silent.host}:${silent.port}`);
    expect(silent.connections).to.equal(1);
  });

  it('Given a server that drips banner bytes forever, when connecting, then SSH_TIMEOUT still bounds the caller', async () => {
    const drip = await startDripServer(50);
    fakes.push(drip);
    const started = Date.now();
    const error = await rejection(SshConnection.open(fakeEndpoint(drip), { connectTimeoutMs: 400 }));
    expect(Date.now() - started).to.be.lessThan(400 + 600);
    expect((error as SshError).code).to.equal('SSH_TIMEOUT');
  });

  it('Given a wrong client key, when connecting, then SSH_AUTH names the user and hints at authorized_keys', async () => {
    const endpoint = { ...hosts.fleet.endpoints[0]!, privateKey: generateEd25519KeyPair().privateKey };
    const error = await rejection(SshConnection.open(endpoint));
    expect(error).to.be.instanceOf(SshError);
    expect((error as SshError).code).to.equal('SSH_AUTH');
    expect((error as SshError).message)
      .to.include(hosts.fleet.loginUser)
      .and.include('private key');
    expect((error as SshError).actions.join(' ')).to.include('authorized_keys');
  });

  describe('a private key file that is not a usable private key', () => {
    let dir: string;
    let pubFile: string;
    before(() => {
      dir = mkdtempSync(join(tmpdir(), 'graft-badkey-'));
      pubFile = join(dir, 'id_ed25519.pub');
      writeFileSync(pubFile, `${hosts.fleet.clientKey.publicKey}\n`);
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    it('Given a .pub given as the private key, when connecting, then ConfigError names the file at once and no TCP connection is made', async () => {
      const silent = await startSilentServer();
      fakes.push(silent);
      for (const endpoint of [
        { ...fakeEndpoint(silent), privateKey: undefined, privateKeyFile: pubFile },
        { ...fakeEndpoint(silent), privateKey: hosts.fleet.clientKey.publicKey, privateKeyFile: pubFile },
      ]) {
        const started = Date.now();
        const error = await rejection(SshConnection.open(endpoint, { connectTimeoutMs: 10_000 }));
        expect(error).to.be.instanceOf(ConfigError);
        expect((error as ConfigError).exitCode).to.equal(3);
        expect((error as ConfigError).problems[0]!.file).to.equal(pubFile);
        expect((error as ConfigError).message).to.include('public key');
        expect(Date.now() - started).to.be.lessThan(500);
      }
      expect(silent.connections).to.equal(0);
    });

    it('Given key bytes that are no key at all and no file name, when connecting, then ConfigError names the endpoint', async () => {
      const error = await rejection(SshConnection.open({ ...hosts.fleet.endpoints[0]!, privateKey: Buffer.from('not a key') }));
      expect(error).to.be.instanceOf(ConfigError);
      expect((error as ConfigError).message).to.include(hosts.fleet.endpoints[0]!.host);
    });

    it('Given a bad key, when a process connects and gets the error, then it exits at once: no timer or socket keeps it alive', async () => {
      const script = `
        import { SshConnection } from ${JSON.stringify(join(process.cwd(), 'src/core/ssh/index.ts'))};
        const endpoint = ${JSON.stringify({ ...hosts.fleet.endpoints[0]!, privateKey: hosts.fleet.clientKey.publicKey })};
        await SshConnection.open(endpoint, { connectTimeoutMs: 10000 }).then(() => process.stdout.write('connected'), (error) => process.stdout.write(error.code));`;
      const started = Date.now();
      const output = await new Promise<string>((resolve, reject) => {
        const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
        let text = '';
        child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
        child.on('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`child exited ${code}`))));
      });
      expect(output).to.equal('CONFIG_INVALID');
      // tsx start-up takes about a second; a lingering connect timer would hold it 10 s.
      expect(Date.now() - started).to.be.lessThan(5000);
    });
  });

  it('Given an endpoint with neither key nor agent, when connecting, then SSH_AUTH is raised before dialing', async () => {
    const { privateKey: _unused, ...keyless } = hosts.fleet.endpoints[0]!;
    const error = await rejection(SshConnection.open(keyless));
    expect((error as SshError).code).to.equal('SSH_AUTH');
  });

  it('Given empty host key pins, when connecting, then SecurityError HOST_KEY_UNPINNED and no TCP connection is made', async () => {
    const silent = await startSilentServer();
    fakes.push(silent);
    const error = await rejection(SshConnection.open({ ...fakeEndpoint(silent), hostKeys: [] }));
    expect(error).to.be.instanceOf(SecurityError);
    expect((error as SecurityError).code).to.equal('HOST_KEY_UNPINNED');
    expect(silent.connections).to.equal(0);
  });

  it('Given three healthy hosts and one hung host, when all run a command at once, then the healthy results arrive before the hung host times out', async () => {
    const silent = await startSilentServer();
    fakes.push(silent);
    const pool = new SshPool({ connectTimeoutMs: 1500 });
    const started = Date.now();
    const healthyDone: number[] = [];
    try {
      const outcomes = await Promise.allSettled([
        ...hosts.fleet.endpoints.map((endpoint) => pool.exec(endpoint, 'echo ok').then((result) => (healthyDone.push(Date.now() - started), result))),
        pool.exec(fakeEndpoint(silent), 'echo never'),
      ]);
      expect(outcomes.slice(0, 3).map((o) => o.status === 'fulfilled' && o.value.stdout)).to.deep.equal(['ok\n', 'ok\n', 'ok\n']);
      const hung = outcomes[3];
      expect(hung?.status).to.equal('rejected');
      expect(((hung as PromiseRejectedResult).reason as SshError).code).to.equal('SSH_TIMEOUT');
      expect(Math.max(...healthyDone)).to.be.lessThan(1500);
      expect(Date.now() - started).to.be.lessThan(1500 + 1000);
    } finally {
      await pool.closeAll();
    }
  });

  it('Given a connect that failed, when the pool is asked again, then it dials again instead of caching the failure', async () => {
    const [host] = distinctLoopbackAddresses(1);
    const port = await closedPort(host!);
    const endpoint = { ...hosts.fleet.endpoints[0]!, label: 'later', host: host!, port };
    const pool = new SshPool({ connectTimeoutMs: 2000 });
    try {
      expect(((await rejection(pool.connection(endpoint))) as SshError).code).to.equal('SSH_UNREACHABLE');
      expect(((await rejection(pool.connection(endpoint))) as SshError).code).to.equal('SSH_UNREACHABLE');
      expect(pool.connectionsOpened).to.equal(2);
    } finally {
      await pool.closeAll();
    }
  });
});
