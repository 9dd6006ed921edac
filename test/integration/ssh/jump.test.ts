import { expect } from 'chai';
import { SecurityError, SshError } from '../../../src/core/errors.js';
import { generateEd25519KeyPair, SshPool, type SshEndpoint } from '../../../src/core/ssh/index.js';
import { startSilentServer, useSshdFleet } from '../../helpers/sshd.js';

/**
 * The pool's tunnel through a jump host, against real sshd on loopback (host 0 is the jump,
 * host 1 the target; both are reachable here, so this checks the mechanics: the namespace test
 * in test/e2e/jump-hosts.test.ts checks a target only the jump can reach).
 */
describe('SSH through a jump host against real sshd', () => {
  const hosts = useSshdFleet(2);
  let pool: SshPool;
  beforeEach(() => {
    pool = new SshPool({ connectTimeoutMs: 5000 });
  });
  afterEach(() => pool.closeAll());

  const via = (target: SshEndpoint, jump: SshEndpoint): SshEndpoint => ({ ...target, jump });

  it('Given a target behind a jump, when two callers use it at once, then they share one target connection made through one pooled jump connection', async () => {
    const [jump, target] = hosts.fleet.endpoints as [SshEndpoint, SshEndpoint];
    const admin = via(target, jump);
    const other = via({ ...target, label: 'second login' }, jump);
    const [a, b] = await Promise.all([pool.exec(admin, 'echo "$SSH_CONNECTION"'), pool.exec(other, 'true')]);
    expect(b.exitCode).to.equal(0);
    // The jump connection, then the target through it: one dial each, shared.
    expect(pool.connectionsOpened).to.equal(2);
    expect(a.stdout.split(' ')[2]).to.equal(target.host);
    expect(await pool.connection(jump)).to.equal(await pool.connection(jump));
  });

  it('Given the jump presents a key other than the one pinned for it, when connecting to the target, then it is refused with HOST_KEY_MISMATCH naming the jump', async () => {
    const [jump, target] = hosts.fleet.endpoints as [SshEndpoint, SshEndpoint];
    const wrongJump = { ...jump, label: 'the-bastion', hostKeys: [generateEd25519KeyPair('impostor').publicKey] };
    const error = await pool.exec(via(target, wrongJump), 'true').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(SecurityError);
    expect((error as SecurityError).code).to.equal('HOST_KEY_MISMATCH');
    expect((error as SecurityError).message).to.contain('the-bastion');
  });

  it('Given the target presents a key other than the one pinned for it, when connecting through a good jump, then it is refused with HOST_KEY_MISMATCH naming the target', async () => {
    const [jump, target] = hosts.fleet.endpoints as [SshEndpoint, SshEndpoint];
    const error = await pool.exec(via({ ...target, label: 'the-target', hostKeys: [generateEd25519KeyPair('impostor').publicKey] }, jump), 'true').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((error as SecurityError).code).to.equal('HOST_KEY_MISMATCH');
    expect((error as SecurityError).message).to.contain('the-target');
  });

  it('Given nothing listens where the target should be, when connecting through the jump, then it fails with SSH_UNREACHABLE naming the jump', async () => {
    const [jump, target] = hosts.fleet.endpoints as [SshEndpoint, SshEndpoint];
    const silent = await startSilentServer();
    const { host, port } = silent;
    await silent.close();
    const error = await pool.exec(via({ ...target, host, port }, jump), 'true').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(SshError);
    expect((error as SshError).code).to.equal('SSH_UNREACHABLE');
    expect((error as SshError).message).to.contain('through the jump host');
  });

  it('Given a target that never answers the handshake, when connecting through the jump, then the connect timeout still bounds the caller', async () => {
    const [jump, target] = hosts.fleet.endpoints as [SshEndpoint, SshEndpoint];
    const silent = await startSilentServer();
    try {
      const bounded = new SshPool({ connectTimeoutMs: 1000 });
      const error = await bounded.exec(via({ ...target, host: silent.host, port: silent.port }, jump), 'true').then(
        () => undefined,
        (e: unknown) => e,
      );
      await bounded.closeAll();
      expect((error as SshError).code).to.equal('SSH_TIMEOUT');
    } finally {
      await silent.close();
    }
  });
});
