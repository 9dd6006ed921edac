/** Shared set-up for the identity tests: authorities, openssl, and hand-built leaves signed by a session CA. */
import { spawnSync } from 'node:child_process';
import type { KeyObject } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import forge from 'node-forge';
import { GraftError, SecurityError } from '../../../src/core/errors.js';
import { createSessionAuthority, type CreateSessionAuthorityOptions, type SessionAuthority } from '../../../src/core/identity/index.js';
import { generateAgentKeyPair } from '../../../src/core/identity/agent-keys.js';
import { certificateToPem, randomSerialHex, signCertificate } from '../../../src/core/identity/x509-support.js';

export const hour = 3_600_000;

/** An authority valid from an hour ago to `hours` from now, unless overridden. */
export function makeAuthority(sessionId: string, overrides: Partial<CreateSessionAuthorityOptions> = {}, hours = 4): Promise<SessionAuthority> {
  return createSessionAuthority({ sessionId, validFrom: new Date(Date.now() - hour), validUntil: new Date(Date.now() + hours * hour), ...overrides });
}

/** Runs the openssl CLI; returns its exit status and output. */
export function openssl(args: string[]): { status: number | null; output: string } {
  const run = spawnSync('openssl', args, { encoding: 'utf8' });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

export function writePem(dir: string, name: string, pem: string): string {
  const path = join(dir, name);
  writeFileSync(path, pem);
  return path;
}

/**
 * A leaf signed with the session CA's real key but built by the test, so the
 * verifier's own checks (not just the signature) are what refuses it. Its key is a
 * new EC P-256 key, as graft's own leaves have, unless `publicKey` is given.
 */
export async function caSignedLeaf(authority: SessionAuthority, customize: (cert: forge.pki.Certificate) => void, publicKey?: KeyObject): Promise<string> {
  const { caCert, caKey } = authority.keys;
  const key = publicKey ?? (await generateAgentKeyPair()).publicKey;
  const cert = forge.pki.createCertificate();
  cert.serialNumber = randomSerialHex();
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + hour);
  cert.setSubject([{ shortName: 'CN', value: 'worker' }]);
  cert.setIssuer(caCert.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', clientAuth: true },
    { name: 'subjectAltName', altNames: [{ type: 6, value: `${authority.spiffeId}/agent/worker` }] },
  ]);
  customize(cert);
  signCertificate(cert, caKey, key);
  return certificateToPem(cert);
}

/** Replaces `from` by `to` (same length) inside the DER of a PEM certificate, leaving its signature as it was. */
export function tamperCertificate(pem: string, from: string, to: string): string {
  expect(to.length).to.equal(from.length);
  const der = Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
  const at = der.indexOf(Buffer.from(from, 'latin1'));
  expect(at, `${from} must occur in the certificate`).to.be.greaterThan(-1);
  Buffer.from(to, 'latin1').copy(der, at);
  const body = der
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .replace(/\n$/, '');
  return `-----BEGIN CERTIFICATE-----\n${body}\n-----END CERTIFICATE-----\n`;
}

/** Runs `action` and returns the GraftError it throws, failing the test if it does not throw one. */
export async function refusal(action: () => unknown): Promise<GraftError> {
  try {
    await action();
  } catch (error) {
    expect(error).to.be.instanceOf(GraftError);
    return error as GraftError;
  }
  expect.fail('expected the action to be refused');
}

/** Asserts a SecurityError IDENTITY_MISMATCH whose message matches `why`. */
export async function expectIdentityRefused(action: () => unknown, why: RegExp): Promise<void> {
  const error = await refusal(action);
  expect(error).to.be.instanceOf(SecurityError);
  expect(error.code).to.equal('IDENTITY_MISMATCH');
  expect(error.message).to.match(why);
}
