/**
 * Agents' X.509 workload identities (SPIFFE X.509-SVIDs). The controller
 * learns who is speaking from the certificate alone: `verifyAgentCertificate`
 * trusts nothing but the session CA's signature and reads the agent's name
 * from the SPIFFE id the CA put there.
 */
import forge from 'node-forge';
import { SecurityError, UsageError } from '../errors.js';
import { agentKeyProblem, generateAgentKeyPair, readAgentPublicKey } from './agent-keys.js';
import type { SessionAuthority } from './session-authority.js';
import { agentSpiffeId, parseAgentSpiffeId, parseSessionSpiffeId, validateAgentName, type AgentIdentity } from './spiffe-id.js';
import {
  certificateToPem,
  leafValidity,
  randomSerialHex,
  readCertificate,
  signCertificate,
  subjectAltNameCount,
  subjectKeyIdentifierExtension,
  toWholeSeconds,
  uriSubjectAltNames,
  type ReadCertificate,
} from './x509-support.js';

export { agentNamePattern, validateAgentName, type AgentIdentity } from './spiffe-id.js';

const { pki } = forge;

/** Options of {@link issueAgentCertificate}. */
export interface IssueAgentCertificateOptions {
  /** The agent's name, see `agentNamePattern`; becomes the subject CN and the last SPIFFE id segment. */
  agentName: string;
  /**
   * The agent's own public key (PEM; EC P-256, or RSA of at least 2048 bits), when the
   * agent generated its key pair where it runs, so the private key never travels.
   * Without it an EC P-256 key pair is generated here and returned as `keyPem`.
   */
  publicKey?: string;
  /** End the certificate before the session does. Never extends past the session's end. */
  validUntil?: Date;
  /** The current time; tests pass a fixed clock. */
  now?: Date;
}

/** An issued agent certificate. */
export interface AgentCertificate {
  certPem: string;
  /** The generated EC P-256 private key (PKCS#8 PEM); absent when the caller supplied `publicKey`. */
  keyPem?: string;
  spiffeId: string;
  notBefore: Date;
  notAfter: Date;
  /** Hex serial number, random per certificate. */
  serial: string;
}

/** Options of {@link verifyAgentCertificate}. */
export interface VerifyAgentCertificateOptions {
  /** Refuse certificates of any other session (the CA's own session is always required). */
  sessionId?: string;
  /** The current time; tests pass a fixed clock. */
  now?: Date;
}

/**
 * Issues an agent's X.509 identity: a leaf signed by the session CA with URI SAN
 * `spiffe://<trust domain>/session/<id>/agent/<name>`, keyUsage digitalSignature
 * (and keyEncipherment for an RSA key), extKeyUsage clientAuth, a random serial and
 * a validity inside the session's (never past the CA's notAfter). The key is a new
 * EC P-256 key unless the caller supplies one; the CA signs with SHA-256 with RSA.
 * Refuses (SecurityError KEY_EXPIRED) once the session has ended.
 */
export async function issueAgentCertificate(authority: SessionAuthority, options: IssueAgentCertificateOptions): Promise<AgentCertificate> {
  const agentName = validateAgentName(options.agentName);
  const spiffeId = agentSpiffeId(authority.trustDomain, authority.sessionId, agentName);
  const now = toWholeSeconds(options.now ?? new Date());
  const { caCert, caKey } = authority.keys;

  const { notBefore, notAfter } = leafValidity(caCert, now, options.validUntil);
  if (now >= caCert.validity.notAfter) {
    throw new SecurityError(
      `session ${authority.sessionId} ended at ${caCert.validity.notAfter.toISOString()}; its authority issues no more identities`,
      'KEY_EXPIRED',
    );
  }
  if (notAfter <= now || notAfter <= notBefore)
    throw new UsageError(`the certificate of agent ${agentName} would end (${notAfter.toISOString()}) before it starts`);

  const generated = options.publicKey === undefined ? await generateAgentKeyPair() : undefined;
  const publicKey = generated ? generated.publicKey : readAgentPublicKey(options.publicKey!);
  // No cert.publicKey: forge can encode only RSA keys, so signCertificate writes publicKey in.
  const cert = pki.createCertificate();
  cert.serialNumber = randomSerialHex();
  cert.validity.notBefore = notBefore;
  cert.validity.notAfter = notAfter;
  cert.setSubject([{ shortName: 'CN', value: agentName }]);
  cert.setIssuer(caCert.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    // An EC key signs but cannot encipher keys: RFC 5480 section 3 does not allow keyEncipherment on it.
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: publicKey.asymmetricKeyType === 'rsa', critical: true },
    { name: 'extKeyUsage', clientAuth: true },
    { name: 'subjectAltName', altNames: [{ type: 6, value: spiffeId }] },
    subjectKeyIdentifierExtension(publicKey),
    // OpenSSL matches issuer and leaf by key id when it is present; it must be the CA's.
    { name: 'authorityKeyIdentifier', keyIdentifier: caCert.generateSubjectKeyIdentifier().getBytes() },
  ]);
  signCertificate(cert, caKey, publicKey);

  return {
    certPem: certificateToPem(cert),
    ...(generated ? { keyPem: generated.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() } : {}),
    spiffeId,
    notBefore,
    notAfter,
    serial: cert.serialNumber,
  };
}

function refused(why: string): SecurityError {
  return new SecurityError(`agent certificate refused: ${why}`, 'IDENTITY_MISMATCH');
}

function readOrRefuse(pem: string, what: string): ReadCertificate {
  try {
    return readCertificate(pem);
  } catch {
    // The parser's message would only say why it could not parse; what matters is that it is not ours.
    throw refused(`the ${what} is not a readable X.509 certificate`);
  }
}

function checkValidity(cert: forge.pki.Certificate, now: Date, what: string): void {
  if (now < cert.validity.notBefore) throw refused(`the ${what} is not valid before ${cert.validity.notBefore.toISOString()} (now ${now.toISOString()})`);
  if (now > cert.validity.notAfter) throw refused(`the ${what} expired at ${cert.validity.notAfter.toISOString()} (now ${now.toISOString()})`);
}

/**
 * Verifies an agent certificate against a session CA and says who it identifies.
 * Checks, in this order: both parse; the CA names a graft session; the leaf was
 * signed by this CA with SHA-256 (checked by OpenSSL through Node's X509Certificate);
 * its key is EC P-256 or RSA of at least 2048 bits; both are within their validity at
 * `now`; forge's RFC 5280 chain checks (basic constraints, path length, name constraints,
 * critical extensions); the leaf is not a CA, allows digitalSignature and
 * clientAuth; its only SAN is one graft agent SPIFFE id in the CA's trust domain
 * and session (and `options.sessionId`, if given); its CN, if any, is the agent name.
 * Throws SecurityError IDENTITY_MISMATCH saying which check failed.
 */
export function verifyAgentCertificate(caCertPem: string, certPem: string, options: VerifyAgentCertificateOptions = {}): AgentIdentity {
  const now = options.now ?? new Date();
  const { cert: ca, x509: caX509 } = readOrRefuse(caCertPem, 'session CA certificate');
  const { cert: leaf, x509: leafX509, publicKey } = readOrRefuse(certPem, 'agent certificate');
  const caUris = uriSubjectAltNames(ca);
  const session = caUris.length === 1 ? parseSessionSpiffeId(caUris[0]!) : undefined;
  if (!session) throw refused('the CA certificate is not a graft session CA (no session SPIFFE id)');

  let signedByCa = false;
  try {
    signedByCa = leafX509.checkIssued(caX509) && leafX509.verify(caX509.publicKey);
  } catch {
    signedByCa = false;
  }
  if (!signedByCa) throw refused(`it was not issued by the CA of session ${session.sessionId}`);
  if (leaf.signatureOid !== pki.oids.sha256WithRSAEncryption) throw refused('it is not signed with SHA-256 with RSA');
  const keyProblem = agentKeyProblem(publicKey);
  if (keyProblem) throw refused(`its key is ${keyProblem}`);
  checkValidity(ca, now, 'session CA certificate');
  checkValidity(leaf, now, 'agent certificate');

  try {
    pki.verifyCertificateChain(pki.createCaStore([ca]), [leaf, ca], { validityCheckDate: now });
  } catch (error) {
    const message = (error as { message?: string }).message ?? String(error);
    throw refused(`chain verification failed: ${message}`);
  }

  const basic = leaf.getExtension('basicConstraints') as { cA?: boolean } | null;
  if (basic?.cA) throw refused('it is a CA certificate, not an agent certificate');
  const keyUsage = leaf.getExtension('keyUsage') as { digitalSignature?: boolean } | null;
  if (!keyUsage?.digitalSignature) throw refused('its key usage does not allow digital signatures');
  const extKeyUsage = leaf.getExtension('extKeyUsage') as { clientAuth?: boolean } | null;
  if (!extKeyUsage?.clientAuth) throw refused('its extended key usage does not allow client authentication');

  const uris = uriSubjectAltNames(leaf);
  if (uris.length !== 1 || subjectAltNameCount(leaf) !== 1)
    throw refused(`it must carry exactly one subject alternative name, a SPIFFE id (found ${subjectAltNameCount(leaf)}, ${uris.length} of them URIs)`);
  const identity = parseAgentSpiffeId(uris[0]!);
  if (!identity) throw refused(`its SPIFFE id ${JSON.stringify(uris[0])} is not a graft agent id`);
  if (identity.trustDomain !== session.trustDomain) throw refused(`its trust domain ${identity.trustDomain} is not the CA's (${session.trustDomain})`);
  if (identity.sessionId !== session.sessionId) throw refused(`it names session ${identity.sessionId}, but the CA is session ${session.sessionId}'s`);
  if (options.sessionId !== undefined && identity.sessionId !== options.sessionId)
    throw refused(`it belongs to session ${identity.sessionId}, not ${options.sessionId}`);
  const commonNames = leaf.subject.attributes.filter((a) => a.shortName === 'CN').map((a) => String(a.value));
  if (commonNames.some((cn) => cn !== identity.agentName)) throw refused(`its subject CN ${JSON.stringify(commonNames.join(','))} contradicts its SPIFFE id`);
  return identity;
}
