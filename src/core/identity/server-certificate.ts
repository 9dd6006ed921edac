/**
 * The controller's own TLS server certificate, for the agent channel. Agents trust nothing but
 * their session's CA (`ca.pem`), so the certificate the controller presents is issued by that
 * same authority, for the IP address agents dial (127.0.0.1 at the host end of the tunnel).
 * It is a server certificate only (extKeyUsage serverAuth, no agent SPIFFE id): it can never
 * pass as an agent, and an agent's certificate can never pass as the controller.
 */
import { isIP } from 'node:net';
import forge from 'node-forge';
import { SecurityError, UsageError } from '../errors.js';
import type { SessionAuthority } from './session-authority.js';
import { certificateToPem, generateRsaKeyPair, leafValidity, randomSerialHex, signCertificate, toWholeSeconds } from './x509-support.js';

const { pki } = forge;

/** Options of {@link issueServerCertificate}. */
export interface IssueServerCertificateOptions {
  /** The IPv4 or IPv6 address clients connect to; defaults to 127.0.0.1. */
  ipAddress?: string;
  /** End before the session does; never extends past it. */
  validUntil?: Date;
  /** The current time; tests pass a fixed clock. */
  now?: Date;
}

/** An issued server certificate and its freshly generated private key. */
export interface ServerCertificate {
  certPem: string;
  /** PKCS#8 PEM; kept in the controller's memory, never written by graft. */
  keyPem: string;
  /** `spiffe://<trust domain>/session/<id>/controller` */
  spiffeId: string;
  ipAddress: string;
  notBefore: Date;
  notAfter: Date;
}

/** The SPIFFE id of a session's controller; not an agent id, so agent parsers never accept it. */
export function controllerSpiffeId(authority: SessionAuthority): string {
  return `${authority.spiffeId}/controller`;
}

/**
 * Issues a TLS server certificate from the session CA: subject alternative names IP `ipAddress`
 * and the controller's SPIFFE id, keyUsage digitalSignature/keyEncipherment, extKeyUsage
 * serverAuth only, a new RSA key, a validity inside the session's. Refuses (SecurityError
 * KEY_EXPIRED) once the session has ended.
 */
export async function issueServerCertificate(authority: SessionAuthority, options: IssueServerCertificateOptions = {}): Promise<ServerCertificate> {
  const ipAddress = options.ipAddress ?? '127.0.0.1';
  if (isIP(ipAddress) === 0)
    throw new UsageError(`invalid server address ${JSON.stringify(ipAddress)}: the channel's certificate names an IP address, e.g. 127.0.0.1`);
  const now = toWholeSeconds(options.now ?? new Date());
  const { caCert, caKey } = authority.keys;
  if (now >= caCert.validity.notAfter) {
    throw new SecurityError(
      `session ${authority.sessionId} ended at ${caCert.validity.notAfter.toISOString()}; its authority issues no more certificates`,
      'KEY_EXPIRED',
    );
  }
  const { notBefore, notAfter } = leafValidity(caCert, now, options.validUntil);
  if (notAfter <= now) throw new UsageError(`the server certificate would end (${notAfter.toISOString()}) before it starts`);

  const keys = await generateRsaKeyPair();
  const spiffeId = controllerSpiffeId(authority);
  const cert = pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = randomSerialHex();
  cert.validity.notBefore = notBefore;
  cert.validity.notAfter = notAfter;
  cert.setSubject([
    { shortName: 'O', value: 'graft' },
    { shortName: 'CN', value: `graft session ${authority.sessionId} controller` },
  ]);
  cert.setIssuer(caCert.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    {
      name: 'subjectAltName',
      altNames: [
        { type: 7, ip: ipAddress },
        { type: 6, value: spiffeId },
      ],
    },
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: caCert.generateSubjectKeyIdentifier().getBytes() },
  ]);
  signCertificate(cert, caKey);
  return {
    certPem: certificateToPem(cert),
    keyPem: keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    spiffeId,
    ipAddress,
    notBefore,
    notAfter,
  };
}
