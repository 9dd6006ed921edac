import { createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { SecurityError, UsageError } from '../../../src/core/errors.js';
import { issueServerCertificate, verifyAgentCertificate, type SessionAuthority } from '../../../src/core/identity/index.js';
import { expectIdentityRefused, hour, makeAuthority, openssl, refusal, writePem } from './fixtures.js';

describe('the controller server certificate', () => {
  let dir: string;
  let authority: SessionAuthority;
  let other: SessionAuthority;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'graft-server-cert-'));
    [authority, other] = await Promise.all([makeAuthority('sessions'), makeAuthority('sessiont')]);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('Given a server certificate for 127.0.0.1, when openssl verifies it against the session CA, then it passes as a TLS server for that IP, with its own key, inside the session', async () => {
    const cert = await issueServerCertificate(authority);
    const caFile = writePem(dir, 'ca.pem', authority.caCertPem);
    const leafFile = writePem(dir, 'server.pem', cert.certPem);
    const verified = openssl(['verify', '-x509_strict', '-purpose', 'sslserver', '-verify_ip', '127.0.0.1', '-CAfile', caFile, leafFile]);
    expect(verified.status, verified.output).to.equal(0);
    expect(cert.spiffeId).to.equal('spiffe://graft.local/session/sessions/controller');
    expect(new X509Certificate(cert.certPem).checkPrivateKey(createPrivateKey(cert.keyPem))).to.equal(true);
    expect(cert.notAfter.getTime()).to.equal(authority.validUntil.getTime());
    const text = openssl(['x509', '-in', leafFile, '-noout', '-text']).output;
    expect(text).to.contain('IP Address:127.0.0.1');
    expect(text).to.contain('TLS Web Server Authentication');
    expect(text).to.not.contain('TLS Web Client Authentication');
  });

  it('Given a server certificate, when checked for another IP, as a client, or against another session, then each check refuses it', async () => {
    const cert = await issueServerCertificate(authority);
    const caFile = writePem(dir, 'ca2.pem', authority.caCertPem);
    const otherCaFile = writePem(dir, 'other-ca.pem', other.caCertPem);
    const leafFile = writePem(dir, 'server2.pem', cert.certPem);
    expect(openssl(['verify', '-purpose', 'sslserver', '-verify_ip', '127.0.0.2', '-CAfile', caFile, leafFile]).status).to.not.equal(0);
    expect(openssl(['verify', '-purpose', 'sslclient', '-CAfile', caFile, leafFile]).status).to.not.equal(0);
    expect(openssl(['verify', '-purpose', 'sslserver', '-CAfile', otherCaFile, leafFile]).status).to.not.equal(0);
    // Graft's own agent check refuses it too: it is no agent.
    await expectIdentityRefused(() => verifyAgentCertificate(authority.caCertPem, cert.certPem), /client authentication/);
  });

  it('Given an IPv6 address, a bad address or an ended session, when issuing, then it names ::1, or refuses', async () => {
    const v6 = await issueServerCertificate(authority, { ipAddress: '::1' });
    expect(openssl(['x509', '-noout', '-text', '-in', writePem(dir, 'v6.pem', v6.certPem)]).output).to.match(/IP Address:0:0:0:0:0:0:0:1|IP Address:::1/);
    expect(await refusal(() => issueServerCertificate(authority, { ipAddress: 'localhost' }))).to.be.instanceOf(UsageError);
    expect(await refusal(() => issueServerCertificate(authority, { now: new Date(Date.now() + 5 * hour) }))).to.be.instanceOf(SecurityError);
  });
});
