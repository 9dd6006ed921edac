import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { decodeJwt, decodeProtectedHeader, SignJWT, UnsecuredJWT } from 'jose';
import { SecurityError, UsageError } from '../../../src/core/errors.js';
import {
  issueWorkloadJwt,
  jwks,
  oidcDiscoveryDocument,
  verifyWorkloadJwt,
  writeOidcIssuerFiles,
  type SessionAuthority,
} from '../../../src/core/identity/index.js';
import { expectIdentityRefused, hour, makeAuthority, refusal } from './fixtures.js';

const audience = 'sts.amazonaws.com';
const privateMembers = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth'];

describe('workload JWTs and the OIDC issuer', () => {
  let dir: string;
  let authority: SessionAuthority;
  let other: SessionAuthority;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'graft-oidc-'));
    [authority, other] = await Promise.all([makeAuthority('sessionj', { issuer: 'https://oidc.example.com/graft/sessionj' }), makeAuthority('sessionk')]);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('Given a token issued for an agent, when verified against the exported JWKS, then sub, aud, iss and the header are right', async () => {
    const now = new Date();
    const token = await issueWorkloadJwt(authority, { agentName: 'worker-1', audience, now });
    const verified = await verifyWorkloadJwt(token, jwks(authority), { issuer: 'https://oidc.example.com/graft/sessionj', audience, sessionId: 'sessionj' });
    expect(verified.spiffeId).to.equal('spiffe://graft.local/session/sessionj/agent/worker-1');
    expect(verified.agentName).to.equal('worker-1');
    expect(verified.claims).to.include({ iss: authority.issuer, sub: verified.spiffeId, aud: audience });
    const iat = Math.floor(now.getTime() / 1000);
    expect(verified.claims).to.include({ iat, nbf: iat, exp: iat + 600 });
    expect(verified.claims.jti).to.match(/^[0-9a-f-]{36}$/);
    expect(decodeProtectedHeader(token)).to.deep.equal({ alg: 'ES256', typ: 'JWT', kid: authority.kid });
  });

  it('Given a token, when verified with the wrong audience or the wrong issuer, then it is refused', async () => {
    const token = await issueWorkloadJwt(authority, { agentName: 'worker-1', audience });
    await expectIdentityRefused(
      () => verifyWorkloadJwt(token, jwks(authority), { issuer: authority.issuer, audience: 'https://iam.googleapis.com/other' }),
      /aud claim/,
    );
    await expectIdentityRefused(() => verifyWorkloadJwt(token, jwks(authority), { issuer: other.issuer, audience }), /iss claim/);
  });

  it("Given a token, when verified against another session's JWKS, then it is refused", async () => {
    const token = await issueWorkloadJwt(authority, { agentName: 'worker-1', audience });
    await expectIdentityRefused(() => verifyWorkloadJwt(token, jwks(other), { issuer: authority.issuer, audience }), /another authority/);
  });

  it("Given another session's key signing a token that claims this session's kid and issuer, when verified, then the signature refuses it", async () => {
    const forged = await new SignJWT({})
      .setProtectedHeader({ alg: 'ES256', typ: 'JWT', kid: authority.kid })
      .setIssuer(authority.issuer)
      .setSubject('spiffe://graft.local/session/sessionj/agent/admin')
      .setAudience(audience)
      .setIssuedAt()
      .setNotBefore('0s')
      .setExpirationTime('5m')
      .setJti('x')
      .sign(other.keys.jwtSigningKey);
    await expectIdentityRefused(() => verifyWorkloadJwt(forged, jwks(authority), { issuer: authority.issuer, audience }), /signature does not verify/);
  });

  it('Given a token whose payload was edited, or an unsigned token, when verified, then it is refused', async () => {
    const token = await issueWorkloadJwt(authority, { agentName: 'worker-1', audience });
    const [header, payload, signature] = token.split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString()) as Record<string, unknown>;
    const edited = Buffer.from(JSON.stringify({ ...claims, sub: 'spiffe://graft.local/session/sessionj/agent/admin' })).toString('base64url');
    await expectIdentityRefused(
      () => verifyWorkloadJwt(`${header}.${edited}.${signature}`, jwks(authority), { issuer: authority.issuer, audience }),
      /signature/,
    );
    const unsigned = new UnsecuredJWT({ sub: String(claims.sub) })
      .setIssuer(authority.issuer)
      .setAudience(audience)
      .setIssuedAt()
      .setExpirationTime('5m')
      .encode();
    await expectIdentityRefused(() => verifyWorkloadJwt(unsigned, jwks(authority), { issuer: authority.issuer, audience }), /refused/);
  });

  it('Given a token issued in the past, when verified after it expired, then it is refused; verified within its lifetime it passes', async () => {
    const issuedAt = new Date(Date.now() - 30 * 60_000);
    const token = await issueWorkloadJwt(authority, { agentName: 'worker-1', audience, ttlSeconds: 60, now: issuedAt });
    await expectIdentityRefused(() => verifyWorkloadJwt(token, jwks(authority), { issuer: authority.issuer, audience }), /expired/);
    const inside = new Date(issuedAt.getTime() + 30_000);
    expect((await verifyWorkloadJwt(token, jwks(authority), { issuer: authority.issuer, audience, now: inside })).agentName).to.equal('worker-1');
  });

  it('Given lifetimes out of range, when issuing, then they are refused; near the session end the token ends with the session', async () => {
    for (const ttlSeconds of [0, -5, 3601, 1.5]) {
      expect(await refusal(() => issueWorkloadJwt(authority, { agentName: 'w', audience, ttlSeconds })), String(ttlSeconds)).to.be.instanceOf(UsageError);
    }
    const nearEnd = new Date(authority.validUntil.getTime() - 60_000);
    const token = await issueWorkloadJwt(authority, { agentName: 'w', audience, ttlSeconds: 3600, now: nearEnd });
    expect(decodeJwt(token).exp).to.equal(authority.validUntil.getTime() / 1000);
    const afterEnd = await refusal(() => issueWorkloadJwt(authority, { agentName: 'w', audience, now: new Date(authority.validUntil.getTime() + hour) }));
    expect(afterEnd).to.be.instanceOf(SecurityError);
    expect(afterEnd.code).to.equal('KEY_EXPIRED');
  });

  it('Given a token of another session, when verified for this session, then it is refused', async () => {
    const token = await issueWorkloadJwt(other, { agentName: 'worker-1', audience });
    await expectIdentityRefused(
      () => verifyWorkloadJwt(token, jwks(other), { issuer: other.issuer, audience, sessionId: 'sessionj' }),
      /belongs to session sessionk/,
    );
  });

  it('Given the published JWKS, when inspected, then it has exactly the public key with kid, use and alg, and no private members', () => {
    const set = jwks(authority);
    expect(set.keys).to.have.length(1);
    const [key] = set.keys;
    expect(key).to.include({ kty: 'EC', crv: 'P-256', kid: authority.kid, use: 'sig', alg: 'ES256' });
    for (const member of privateMembers) expect(key, member).to.not.have.property(member);
    expect(authority.keys.jwtPrivateJwk).to.have.property('d'); // the authority does hold it, so the absence above is meaningful
  });

  it('Given the discovery document, when built, then it has what AWS and GCP read, with jwks_uri under the issuer', () => {
    expect(oidcDiscoveryDocument(authority)).to.deep.equal({
      issuer: 'https://oidc.example.com/graft/sessionj',
      jwks_uri: 'https://oidc.example.com/graft/sessionj/.well-known/jwks.json',
      response_types_supported: ['id_token'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['ES256'],
      claims_supported: ['iss', 'sub', 'aud', 'iat', 'nbf', 'exp', 'jti'],
    });
  });

  it('Given an output directory, when the issuer files are written, then they sit where the discovery document says and verify tokens', async () => {
    const { discoveryFile, jwksFile } = await writeOidcIssuerFiles(dir, authority);
    expect(discoveryFile).to.equal(join(dir, '.well-known', 'openid-configuration'));
    const discovery = JSON.parse(readFileSync(discoveryFile, 'utf8')) as { jwks_uri: string; issuer: string };
    expect(jwksFile).to.equal(join(dir, discovery.jwks_uri.slice(discovery.issuer.length)));
    expect(statSync(jwksFile).mode & 0o777).to.equal(0o644);
    const published = JSON.parse(readFileSync(jwksFile, 'utf8')) as ReturnType<typeof jwks>;
    for (const member of privateMembers) expect(published.keys[0], member).to.not.have.property(member);
    const token = await issueWorkloadJwt(authority, { agentName: 'worker-1', audience });
    expect((await verifyWorkloadJwt(token, published, { issuer: discovery.issuer, audience })).agentName).to.equal('worker-1');
  });
});
