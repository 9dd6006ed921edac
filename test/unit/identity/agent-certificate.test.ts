import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import forge from 'node-forge';
import { SecurityError, UsageError } from '../../../src/core/errors.js';
import { issueAgentCertificate, verifyAgentCertificate, type SessionAuthority } from '../../../src/core/identity/index.js';
import { caSignedLeaf, expectIdentityRefused, hour, makeAuthority, openssl, refusal, tamperCertificate, writePem } from './fixtures.js';

describe('agent certificates', () => {
  let dir: string;
  let authority: SessionAuthority;
  let other: SessionAuthority;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'graft-identity-'));
    [authority, other] = await Promise.all([makeAuthority('sessiona'), makeAuthority('sessionb')]);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('Given a certificate issued for an agent, when verified against its session CA, then it names that agent, session and SPIFFE id', async () => {
    const cert = await issueAgentCertificate(authority, { agentName: 'worker-1' });
    expect(cert.spiffeId).to.equal('spiffe://graft.local/session/sessiona/agent/worker-1');
    expect(verifyAgentCertificate(authority.caCertPem, cert.certPem, { sessionId: 'sessiona' })).to.deep.equal({
      spiffeId: 'spiffe://graft.local/session/sessiona/agent/worker-1',
      trustDomain: 'graft.local',
      sessionId: 'sessiona',
      agentName: 'worker-1',
    });
    // The returned key is the certificate's, an EC P-256 key, and the validity sits inside the session's.
    const key = createPrivateKey(cert.keyPem!);
    expect(new X509Certificate(cert.certPem).checkPrivateKey(key)).to.equal(true);
    expect([key.asymmetricKeyType, key.asymmetricKeyDetails?.namedCurve]).to.deep.equal(['ec', 'prime256v1']);
    expect(cert.notBefore.getTime()).to.be.at.least(authority.validFrom.getTime());
    expect(cert.notAfter.getTime()).to.equal(authority.validUntil.getTime());
  });

  it('Given two certificates for the same agent, when compared, then their serials are random and differ', async () => {
    const [a, b] = await Promise.all([issueAgentCertificate(authority, { agentName: 'twin' }), issueAgentCertificate(authority, { agentName: 'twin' })]);
    expect(a.serial).to.match(/^[0-7][0-9a-f]{31}$/);
    expect(a.serial).to.not.equal(b.serial);
  });

  it('Given an issued certificate, when checked by openssl, then openssl verify accepts it for client auth and x509 -text shows the P-256 key, the URI SAN and the CA constraints', async () => {
    const cert = await issueAgentCertificate(authority, { agentName: 'checked' });
    const caFile = writePem(dir, 'ca-a.pem', authority.caCertPem);
    const leafFile = writePem(dir, 'checked.pem', cert.certPem);
    for (const options of [[], ['-x509_strict', '-purpose', 'sslclient']]) {
      const verified = openssl(['verify', ...options, '-CAfile', caFile, leafFile]);
      expect(verified.status, verified.output).to.equal(0);
      expect(verified.output).to.contain(': OK');
    }
    const leafText = openssl(['x509', '-in', leafFile, '-noout', '-text']).output;
    // An EC P-256 subject key, signed by the RSA session CA.
    expect(leafText).to.contain('Public Key Algorithm: id-ecPublicKey');
    expect(leafText).to.contain('ASN1 OID: prime256v1');
    expect(leafText).to.contain('Signature Algorithm: sha256WithRSAEncryption');
    expect(leafText).to.match(/Key Usage: critical\s+Digital Signature\n/);
    // The key identifier is the SHA-1 of the EC point (RFC 5280 method 1), the authority's the CA's.
    const point = createPublicKey(cert.keyPem!).export({ type: 'spki', format: 'der' }).subarray(-65);
    expect(leafText).to.contain(`Subject Key Identifier: \n                ${colonHex(createHash('sha1').update(point).digest())}`);
    const caSki = /Subject Key Identifier: \n\s+([0-9A-F:]+)/.exec(openssl(['x509', '-in', caFile, '-noout', '-text']).output)![1]!;
    expect(leafText).to.match(new RegExp(`Authority Key Identifier: \\n\\s+(keyid:)?${caSki}`));
    expect(leafText).to.contain('URI:spiffe://graft.local/session/sessiona/agent/checked');
    expect(leafText).to.match(/Subject: CN ?= ?checked/);
    expect(leafText).to.contain('TLS Web Client Authentication');
    expect(leafText).to.not.contain('TLS Web Server Authentication');
    const caText = openssl(['x509', '-in', caFile, '-noout', '-text']).output;
    expect(caText).to.match(/CA:TRUE, pathlen:0/);
    expect(caText).to.contain('URI:spiffe://graft.local/session/sessiona');
    expect(caText).to.match(/Name Constraints: critical\s+Permitted:\s+URI:graft\.local/);
  });

  it("Given a certificate from another session's CA, when verified, then it is refused by graft and by openssl", async () => {
    const foreign = await issueAgentCertificate(other, { agentName: 'worker-1' });
    await expectIdentityRefused(() => verifyAgentCertificate(authority.caCertPem, foreign.certPem), /not issued by the CA of session sessiona/);
    const result = openssl(['verify', '-CAfile', writePem(dir, 'ca-a2.pem', authority.caCertPem), writePem(dir, 'foreign.pem', foreign.certPem)]);
    expect(result.status).to.not.equal(0);
  });

  it('Given a genuine certificate whose SAN was edited afterwards, when verified, then the broken signature refuses it', async () => {
    const cert = await issueAgentCertificate(authority, { agentName: 'worker-1' });
    const tampered = tamperCertificate(cert.certPem, 'agent/worker-1', 'agent/worker-9');
    await expectIdentityRefused(() => verifyAgentCertificate(authority.caCertPem, tampered), /not issued by the CA/);
    expect(openssl(['verify', '-CAfile', writePem(dir, 'ca-a3.pem', authority.caCertPem), writePem(dir, 'tampered.pem', tampered)]).status).to.not.equal(0);
  });

  it('Given a certificate issued in the past with a past session, when verified now, then it is refused as expired, and accepted at a time inside its validity', async () => {
    const start = new Date(Math.floor(Date.now() / 1000) * 1000 - 10 * hour);
    const past = await makeAuthority('sessionp', { validFrom: start, validUntil: new Date(start.getTime() + 2 * hour) });
    const cert = await issueAgentCertificate(past, { agentName: 'late', now: new Date(start.getTime() + hour) });
    expect(cert.notAfter.getTime()).to.equal(start.getTime() + 2 * hour);
    await expectIdentityRefused(() => verifyAgentCertificate(past.caCertPem, cert.certPem), /expired at/);
    expect(verifyAgentCertificate(past.caCertPem, cert.certPem, { now: new Date(start.getTime() + 90 * 60_000) }).agentName).to.equal('late');
    await expectIdentityRefused(() => verifyAgentCertificate(past.caCertPem, cert.certPem, { now: new Date(start.getTime() - hour) }), /not valid before/);
  });

  it('Given a short-lived certificate that has expired while its session CA is still valid, when verified, then the certificate itself is refused as expired', async () => {
    const issuedAt = new Date(Date.now() - 50 * 60_000);
    const cert = await issueAgentCertificate(authority, { agentName: 'brief', now: issuedAt, validUntil: new Date(Date.now() - 10 * 60_000) });
    await expectIdentityRefused(() => verifyAgentCertificate(authority.caCertPem, cert.certPem), /the agent certificate expired at/);
  });

  it('Given a session that has ended, when a certificate is requested, then issuance is refused with KEY_EXPIRED', async () => {
    const ended = await makeAuthority('sessione', { validFrom: new Date(Date.now() - 3 * hour), validUntil: new Date(Date.now() - hour) });
    const error = await refusal(() => issueAgentCertificate(ended, { agentName: 'late' }));
    expect(error).to.be.instanceOf(SecurityError);
    expect(error.code).to.equal('KEY_EXPIRED');
  });

  it('Given a requested end after the session, when issued, then the certificate still ends with the CA; an earlier end is kept', async () => {
    const long = await issueAgentCertificate(authority, { agentName: 'long', validUntil: new Date(authority.validUntil.getTime() + 24 * hour) });
    expect(long.notAfter.getTime()).to.equal(authority.validUntil.getTime());
    const short = new Date(Math.floor(Date.now() / 1000) * 1000 + hour);
    expect((await issueAgentCertificate(authority, { agentName: 'short', validUntil: short })).notAfter.getTime()).to.equal(short.getTime());
  });

  it('Given a CA certificate for another session, when asked to verify for this session, then it is refused', async () => {
    const cert = await issueAgentCertificate(other, { agentName: 'worker-1' });
    expect(verifyAgentCertificate(other.caCertPem, cert.certPem).sessionId).to.equal('sessionb');
    await expectIdentityRefused(
      () => verifyAgentCertificate(other.caCertPem, cert.certPem, { sessionId: 'sessiona' }),
      /belongs to session sessionb, not sessiona/,
    );
  });

  it("Given leaves signed by the session CA's own key but built wrongly, when verified, then each is refused for its own reason", async () => {
    const cases: [string, (cert: forge.pki.Certificate) => void, RegExp][] = [
      [
        'another session',
        (c) => c.setExtensions(withSan(c, [{ type: 6, value: 'spiffe://graft.local/session/sessionb/agent/worker' }])),
        /names session sessionb/,
      ],
      ['a non-SPIFFE URI', (c) => c.setExtensions(withSan(c, [{ type: 6, value: 'https://graft.local/agent/worker' }])), /not a graft agent id/],
      [
        'a path that is not an agent',
        (c) => c.setExtensions(withSan(c, [{ type: 6, value: 'spiffe://graft.local/session/sessiona/agent/../admin' }])),
        /not a graft agent id/,
      ],
      [
        'two SPIFFE ids',
        (c) =>
          c.setExtensions(
            withSan(c, [
              { type: 6, value: 'spiffe://graft.local/session/sessiona/agent/a' },
              { type: 6, value: 'spiffe://graft.local/session/sessiona/agent/b' },
            ]),
          ),
        /exactly one/,
      ],
      [
        'a DNS name beside the SPIFFE id',
        (c) =>
          c.setExtensions(
            withSan(c, [
              { type: 6, value: 'spiffe://graft.local/session/sessiona/agent/worker' },
              { type: 2, value: 'worker.graft.local' },
            ]),
          ),
        /exactly one/,
      ],
      ['no SAN at all', (c) => c.setExtensions(c.extensions.filter((e: { name?: string }) => e.name !== 'subjectAltName')), /exactly one/],
      [
        'CA:true',
        (c) =>
          c.setExtensions(
            c.extensions.map((e: { name?: string }) => (e.name === 'basicConstraints' ? { name: 'basicConstraints', cA: true, critical: true } : e)),
          ),
        /chain verification failed|is a CA/,
      ],
      [
        'no clientAuth',
        (c) => c.setExtensions(c.extensions.map((e: { name?: string }) => (e.name === 'extKeyUsage' ? { name: 'extKeyUsage', serverAuth: true } : e))),
        /client authentication/,
      ],
      ['a CN naming someone else', (c) => c.setSubject([{ shortName: 'CN', value: 'admin' }]), /contradicts/],
    ];
    for (const [what, customize, why] of cases) {
      const pem = await caSignedLeaf(authority, customize);
      await expectIdentityRefused(() => verifyAgentCertificate(authority.caCertPem, pem), why).catch((error: Error) =>
        expect.fail(`${what}: ${error.message}`),
      );
    }
  });

  it('Given a leaf for another trust domain signed by the session CA, when verified, then the name constraint refuses it in graft and in openssl', async () => {
    const pem = await caSignedLeaf(authority, (c) => c.setExtensions(withSan(c, [{ type: 6, value: 'spiffe://evil.example/session/sessiona/agent/worker' }])));
    await expectIdentityRefused(() => verifyAgentCertificate(authority.caCertPem, pem), /chain verification failed/);
    const result = openssl(['verify', '-CAfile', writePem(dir, 'ca-a4.pem', authority.caCertPem), writePem(dir, 'evil.pem', pem)]);
    expect(result.status).to.not.equal(0);
    expect(result.output).to.match(/permitted subtree violation/i);
  });

  it('Given the session CA certificate presented as an agent certificate, when verified, then it is refused', async () => {
    await expectIdentityRefused(
      () => verifyAgentCertificate(authority.caCertPem, authority.caCertPem),
      /exactly one|not a graft agent id|is a CA|client authentication/,
    );
  });

  it('Given garbage instead of a certificate, when verified, then it is refused as unreadable', async () => {
    await expectIdentityRefused(() => verifyAgentCertificate(authority.caCertPem, 'not a certificate'), /not a readable/);
  });

  it("Given the agent's own EC P-256 or RSA-2048 public key, when issued, then the certificate carries it and no private key is returned, and openssl accepts it", async () => {
    const caFile = writePem(dir, 'ca-a5.pem', authority.caCertPem);
    for (const [type, own, keyUsage] of [
      ['ec', generateKeyPairSync('ec', { namedCurve: 'P-256' }), /Key Usage: critical\s+Digital Signature\n/],
      ['rsa', generateKeyPairSync('rsa', { modulusLength: 2048 }), /Key Usage: critical\s+Digital Signature, Key Encipherment\n/],
    ] as const) {
      const cert = await issueAgentCertificate(authority, {
        agentName: `self-keyed-${type}`,
        publicKey: own.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
      });
      expect(cert.keyPem).to.equal(undefined);
      expect(new X509Certificate(cert.certPem).checkPrivateKey(own.privateKey)).to.equal(true);
      expect(verifyAgentCertificate(authority.caCertPem, cert.certPem).agentName).to.equal(`self-keyed-${type}`);
      const leafFile = writePem(dir, `self-keyed-${type}.pem`, cert.certPem);
      expect(openssl(['verify', '-x509_strict', '-purpose', 'sslclient', '-CAfile', caFile, leafFile]).status).to.equal(0);
      expect(openssl(['x509', '-in', leafFile, '-noout', '-text']).output).to.match(keyUsage);
    }
  });

  it('Given a public key of another curve, another type or too short, when issued, then it is refused with a UsageError saying what is accepted', async () => {
    const keys = {
      'EC on curve secp384r1': generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey,
      'of type ed25519': generateKeyPairSync('ed25519').publicKey,
      'RSA of 1024 bits': generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey,
    };
    for (const [problem, key] of Object.entries(keys)) {
      const error = await refusal(() =>
        issueAgentCertificate(authority, { agentName: 'refused', publicKey: key.export({ type: 'spki', format: 'pem' }).toString() }),
      );
      expect(error).to.be.instanceOf(UsageError);
      expect(error.message).to.contain('must be EC P-256 or RSA of at least 2048 bits').and.to.contain(`it is ${problem}`);
    }
    expect((await refusal(() => issueAgentCertificate(authority, { agentName: 'refused', publicKey: 'not a key' }))).message).to.match(
      /not a readable PEM public key/,
    );
  });

  it('Given a leaf the session CA signed for a key of another curve, when verified, then it is refused for its key', async () => {
    const pem = await caSignedLeaf(authority, () => undefined, generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey);
    await expectIdentityRefused(() => verifyAgentCertificate(authority.caCertPem, pem), /its key is EC on curve secp384r1, not P-256/);
    expect(verifyAgentCertificate(authority.caCertPem, await caSignedLeaf(authority, () => undefined)).agentName).to.equal('worker');
  });
});

/** Bytes as openssl -text prints key identifiers: AB:CD:... */
function colonHex(bytes: Buffer): string {
  return bytes.toString('hex').toUpperCase().match(/../g)!.join(':');
}

/** The certificate's extensions with its subjectAltName replaced. */
function withSan(cert: forge.pki.Certificate, altNames: { type: number; value: string }[]): object[] {
  return [...cert.extensions.filter((e: { name?: string }) => e.name !== 'subjectAltName'), { name: 'subjectAltName', altNames }];
}
