import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { expect } from 'chai';
import { NotFoundError, StateError, UsageError } from '../../../src/core/errors.js';
import {
  authorityFileNames,
  createSessionAuthority,
  issueAgentCertificate,
  issueWorkloadJwt,
  jwks,
  loadSessionAuthority,
  saveSessionAuthority,
  verifyAgentCertificate,
  verifyWorkloadJwt,
  type SessionAuthority,
} from '../../../src/core/identity/index.js';
import { hour, makeAuthority, refusal } from './fixtures.js';

describe('session authority', () => {
  let root: string;
  let authority: SessionAuthority;
  let other: SessionAuthority;
  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'graft-authority-'));
    [authority, other] = await Promise.all([makeAuthority('sessions', { issuer: 'https://issuer.example.com/graft/sessions' }), makeAuthority('sessiont')]);
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('Given creation options, when the authority is created, then it carries the session, trust domain, issuer, whole-second validity and a thumbprint kid', () => {
    expect(authority.sessionId).to.equal('sessions');
    expect(authority.trustDomain).to.equal('graft.local');
    expect(authority.spiffeId).to.equal('spiffe://graft.local/session/sessions');
    expect(authority.issuer).to.equal('https://issuer.example.com/graft/sessions');
    expect(other.issuer).to.equal('https://graft.invalid/session/sessiont');
    expect(authority.validFrom.getTime() % 1000).to.equal(0);
    expect(authority.kid).to.match(/^[A-Za-z0-9_-]{43}$/);
    expect(authority.kid).to.not.equal(other.kid);
  });

  it('Given an authority, when serialised or inspected by accident, then no private key material appears', () => {
    for (const text of [JSON.stringify(authority), inspect(authority, { depth: 10 })]) {
      expect(text).to.not.contain('PRIVATE KEY');
      expect(text).to.not.match(/"d"\s*:|\bd:\s*'/);
      expect(text).to.contain('redacted');
    }
  });

  it('Given an authority saved to disk, when the files are inspected, then the directory is 0700 and the private files 0600', async () => {
    const dir = join(root, 'saved', 'sessions');
    await saveSessionAuthority(dir, authority);
    expect(statSync(dir).mode & 0o777).to.equal(0o700);
    expect(statSync(join(dir, authorityFileNames.caKey)).mode & 0o777).to.equal(0o600);
    expect(statSync(join(dir, authorityFileNames.jwtPrivateKey)).mode & 0o777).to.equal(0o600);
    expect(readdirSync(dir).sort()).to.deep.equal(Object.values(authorityFileNames).sort());
    expect(readFileSync(join(dir, authorityFileNames.caKey), 'utf8')).to.contain('BEGIN PRIVATE KEY');
    // Public files hold nothing private.
    for (const name of [authorityFileNames.caCert, authorityFileNames.jwtPublicKey, authorityFileNames.metadata]) {
      const text = readFileSync(join(dir, name), 'utf8');
      expect(text, name).to.not.contain('PRIVATE');
      expect(text, name).to.not.match(/"d"\s*:/);
    }
  });

  it('Given an existing world-readable directory, when saved into, then the directory is narrowed to 0700 and a planted symlink is replaced, not followed', async () => {
    const dir = join(root, 'wide');
    mkdirSync(dir, { mode: 0o755 });
    chmodSync(dir, 0o755);
    const decoy = join(root, 'decoy.txt');
    writeFileSync(decoy, 'untouched');
    symlinkSync(decoy, join(dir, authorityFileNames.caKey));
    await saveSessionAuthority(dir, authority);
    expect(statSync(dir).mode & 0o777).to.equal(0o700);
    expect(readFileSync(decoy, 'utf8')).to.equal('untouched');
    expect(readFileSync(join(dir, authorityFileNames.caKey), 'utf8')).to.contain('BEGIN PRIVATE KEY');
  });

  it('Given a saved authority, when loaded, then it issues identities the original accepts and vice versa', async () => {
    const dir = join(root, 'roundtrip');
    await saveSessionAuthority(dir, authority);
    const loaded = await loadSessionAuthority(dir);
    expect({ ...loaded, keys: undefined }).to.deep.equal({ ...authority, keys: undefined });

    const cert = await issueAgentCertificate(loaded, { agentName: 'reloaded' });
    expect(verifyAgentCertificate(authority.caCertPem, cert.certPem).agentName).to.equal('reloaded');
    const token = await issueWorkloadJwt(loaded, { agentName: 'reloaded', audience: 'graft' });
    expect((await verifyWorkloadJwt(token, jwks(authority), { issuer: authority.issuer, audience: 'graft' })).agentName).to.equal('reloaded');
    // Saving what was loaded changes nothing that matters.
    await saveSessionAuthority(dir, loaded);
    expect((await loadSessionAuthority(dir)).kid).to.equal(authority.kid);
  });

  it('Given a missing directory or file, when loaded, then a NotFoundError names the file', async () => {
    const missing = await refusal(() => loadSessionAuthority(join(root, 'nowhere')));
    expect(missing).to.be.instanceOf(NotFoundError);
    expect(missing.message).to.contain(join(root, 'nowhere', authorityFileNames.metadata));

    const dir = join(root, 'partial');
    await saveSessionAuthority(dir, authority);
    rmSync(join(dir, authorityFileNames.jwtPrivateKey));
    const error = await refusal(() => loadSessionAuthority(dir));
    expect(error).to.be.instanceOf(NotFoundError);
    expect(error.message).to.contain(join(dir, authorityFileNames.jwtPrivateKey));
  });

  it('Given corrupt, mismatched or too widely readable files, when loaded, then a StateError names the file at fault', async () => {
    const cases: [string, (dir: string) => void, string][] = [
      [
        'a truncated CA key',
        (dir) => writeFileSync(join(dir, authorityFileNames.caKey), '-----BEGIN PRIVATE KEY-----\nAAAA\n', { mode: 0o600 }),
        authorityFileNames.caKey,
      ],
      [
        'a JWT key that is not JSON',
        (dir) => writeFileSync(join(dir, authorityFileNames.jwtPrivateKey), '{', { mode: 0o600 }),
        authorityFileNames.jwtPrivateKey,
      ],
      [
        'metadata with an unknown field',
        (dir) => writeFileSync(join(dir, authorityFileNames.metadata), JSON.stringify({ version: 1, extra: true })),
        authorityFileNames.metadata,
      ],
      [
        "another session's CA key",
        (dir) => copyFileSync(join(root, 'other', authorityFileNames.caKey), join(dir, authorityFileNames.caKey)),
        authorityFileNames.caKey,
      ],
      [
        "another session's JWT key",
        (dir) => copyFileSync(join(root, 'other', authorityFileNames.jwtPrivateKey), join(dir, authorityFileNames.jwtPrivateKey)),
        authorityFileNames.jwtPrivateKey,
      ],
      ['a CA key readable by others', (dir) => chmodSync(join(dir, authorityFileNames.caKey), 0o644), authorityFileNames.caKey],
    ];
    await saveSessionAuthority(join(root, 'other'), other);
    for (const [what, damage, file] of cases) {
      const dir = join(root, `corrupt-${cases.findIndex((c) => c[0] === what)}`);
      await saveSessionAuthority(dir, authority);
      damage(dir);
      const error = await refusal(() => loadSessionAuthority(dir));
      expect(error, what).to.be.instanceOf(StateError);
      expect(error.message, what).to.contain(join(dir, file));
    }
  });

  it('Given invalid creation options, when creating an authority, then each is refused with a UsageError', async () => {
    const now = Date.now();
    const bad = [
      { sessionId: 'BAD', validUntil: new Date(now + hour) },
      { sessionId: 'sessionx', trustDomain: 'Graft.Local', validUntil: new Date(now + hour) },
      { sessionId: 'sessionx', trustDomain: 'evil/x', validUntil: new Date(now + hour) },
      { sessionId: 'sessionx', validFrom: new Date(now), validUntil: new Date(now - hour) },
      { sessionId: 'sessionx', validUntil: new Date(Number.NaN) },
      { sessionId: 'sessionx', issuer: 'http://issuer.example.com', validUntil: new Date(now + hour) },
      { sessionId: 'sessionx', issuer: 'https://issuer.example.com/', validUntil: new Date(now + hour) },
      { sessionId: 'sessionx', issuer: 'https://issuer.example.com/x?y=1', validUntil: new Date(now + hour) },
      { sessionId: 'sessionx', issuer: 'https://user:pw@issuer.example.com', validUntil: new Date(now + hour) },
      { sessionId: 'sessionx', issuer: 'https://ISSUER.example.com', validUntil: new Date(now + hour) },
    ];
    for (const options of bad) {
      expect(await refusal(() => createSessionAuthority(options)), JSON.stringify(options)).to.be.instanceOf(UsageError);
    }
    const local = await createSessionAuthority({
      sessionId: 'sessionx',
      trustDomain: 'ci.example.com',
      issuer: 'http://127.0.0.1:8080/oidc',
      validUntil: new Date(now + hour),
    });
    expect(local.spiffeId).to.equal('spiffe://ci.example.com/session/sessionx');
  });
});
