import { expect } from 'chai';
import { SecurityError } from '../../../src/core/errors.js';
import { fingerprintSha256, generateEd25519KeyPair, SshConnection, SshPool } from '../../../src/core/ssh/index.js';
import { useSshdFleet } from '../../helpers/sshd.js';

describe('SSH host key pinning against a real sshd', () => {
  const hosts = useSshdFleet(1);

  it('Given the correct pinned key among others, when connecting, then the connection works', async () => {
    const endpoint = hosts.fleet.endpoints[0]!;
    const connection = await SshConnection.open({ ...endpoint, hostKeys: [generateEd25519KeyPair().publicKey, ...endpoint.hostKeys] });
    try {
      expect((await connection.exec('echo pinned')).stdout).to.equal('pinned\n');
    } finally {
      await connection.close();
    }
  });

  it('Given a pinned key that is not the host key, when connecting, then SecurityError HOST_KEY_MISMATCH shows both fingerprints', async () => {
    const endpoint = hosts.fleet.endpoints[0]!;
    const wrongPin = generateEd25519KeyPair().publicKey;
    const error = await SshConnection.open({ ...endpoint, hostKeys: [wrongPin] }).then(
      () => expect.fail('connected to a host with an unpinned key'),
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(SecurityError);
    expect((error as SecurityError).code).to.equal('HOST_KEY_MISMATCH');
    expect((error as SecurityError).message)
      .to.include(fingerprintSha256(wrongPin))
      .and.include(fingerprintSha256(hosts.fleet.hosts[0]!.sshd.hostPublicKey));
  });

  it('Given a host restarted with a new key on the same address and port, when the pool reconnects, then it is refused with HOST_KEY_MISMATCH', async () => {
    const fleet = hosts.fleet;
    const host = fleet.hosts[0]!;
    const pool = new SshPool({ connectTimeoutMs: 5000 });
    try {
      expect((await pool.exec(host.endpoint, 'echo before')).stdout).to.equal('before\n');
      const oldKey = host.sshd.hostPublicKey;
      const restarted = await fleet.restart(host, { newHostKey: true });
      expect(restarted.port).to.equal(host.endpoint.port);
      expect(restarted.hostPublicKey).not.to.equal(oldKey);
      const error = await pool.exec(host.endpoint, 'echo after').then(
        () => expect.fail('accepted a changed host key'),
        (e: unknown) => e,
      );
      expect((error as SecurityError).code).to.equal('HOST_KEY_MISMATCH');
      expect((error as SecurityError).message)
        .to.include(fingerprintSha256(oldKey))
        .and.include(fingerprintSha256(restarted.hostPublicKey))
        .and.include('host0');
      expect((error as SecurityError).actions.join('\n')).to.include(`ssh-keyscan -p ${host.endpoint.port} ${host.endpoint.host}`);
      // Re-pinning the new key is the way back in.
      expect((await pool.exec({ ...host.endpoint, hostKeys: [restarted.hostPublicKey] }, 'echo repinned')).stdout).to.equal('repinned\n');
    } finally {
      await pool.closeAll();
    }
  });
});
