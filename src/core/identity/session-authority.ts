/**
 * The session identity authority: one X.509 CA and one JWT signing key per
 * session, made when the session is created and valid until it ends. Every
 * agent identity of the session (certificate or token) is issued by it, and
 * nothing issued by another session's authority is accepted for this one.
 */
import { inspect } from 'node:util';
import type { KeyObject } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';
import forge from 'node-forge';
import { UsageError } from '../errors.js';
import { defaultTrustDomain, parseSessionSpiffeId, sessionSpiffeId, validateSessionId, validateTrustDomain } from './spiffe-id.js';
import {
  certificateToPem,
  clockSkewSeconds,
  generateRsaKeyPair,
  keyMatchesCertificate,
  randomSerialHex,
  signCertificate,
  toWholeSeconds,
  uriNameConstraintExtension,
  uriSubjectAltNames,
} from './x509-support.js';

const { pki } = forge;

/** The JWS algorithm of workload tokens: ES256 is accepted by AWS IAM OIDC providers and GCP workload identity federation alike. */
export const jwtAlgorithm = 'ES256';

/**
 * The private half of an authority. Redacted from `JSON.stringify` and
 * `util.inspect`, so logging or persisting an authority by accident never
 * writes a private key; only the identity modules read these fields.
 */
export class AuthorityKeys {
  constructor(
    /** The CA private key, kept in OpenSSL; forge never holds it. */
    readonly caKey: KeyObject,
    /** The CA certificate in forge's form, parsed once for issuing. */
    readonly caCert: forge.pki.Certificate,
    /** The JWT signing key as a private JWK (with `d`), for saving. */
    readonly jwtPrivateJwk: JWK,
    /** The JWT signing key as a WebCrypto key, for signing. */
    readonly jwtSigningKey: CryptoKey,
  ) {}

  toJSON(): string {
    return '[redacted AuthorityKeys]';
  }

  [inspect.custom](): string {
    return '[redacted AuthorityKeys]';
  }
}

/** A session's identity authority. Public fields may be shown and shared; `keys` may not. */
export interface SessionAuthority {
  readonly sessionId: string;
  readonly trustDomain: string;
  /** `spiffe://<trust domain>/session/<session id>`, also the CA's URI SAN. */
  readonly spiffeId: string;
  /** The `iss` of workload tokens; the OIDC discovery document is served under it. */
  readonly issuer: string;
  /** Start of the CA's validity (whole seconds). */
  readonly validFrom: Date;
  /** End of the CA's validity, the session's end (whole seconds). Nothing issued outlives it. */
  readonly validUntil: Date;
  /** The CA certificate, PEM: what verifiers trust. */
  readonly caCertPem: string;
  /** The JWT public key as a JWK with `kid`, `use: 'sig'` and `alg: 'ES256'`; no private members. */
  readonly jwtPublicJwk: JWK;
  /** The JWT key id: the key's RFC 7638 SHA-256 thumbprint. */
  readonly kid: string;
  readonly keys: AuthorityKeys;
}

/** Options of {@link createSessionAuthority}. */
export interface CreateSessionAuthorityOptions {
  sessionId: string;
  /** Defaults to `graft.local`. */
  trustDomain?: string;
  /**
   * The `iss` of workload tokens, an https URL without query, fragment or trailing
   * slash (http only for loopback hosts). Defaults to `https://graft.invalid/session/<id>`,
   * which no cloud can fetch: set a real URL where the issuer files will be served
   * to federate with AWS or GCP.
   */
  issuer?: string;
  /** Defaults to five minutes ago, so hosts whose clocks lag a little accept the CA at once. */
  validFrom?: Date;
  /** The session's end. */
  validUntil: Date;
}

/** The issuer used when a session does not set one. `.invalid` can never resolve (RFC 2606). */
export function defaultIssuer(sessionId: string): string {
  return `https://graft.invalid/session/${sessionId}`;
}

/**
 * Checks an issuer URL. It is compared byte for byte by relying parties, so
 * anything that could be written two ways (trailing slash, query, credentials)
 * is refused rather than normalised.
 */
export function validateIssuer(issuer: string): string {
  let url: URL;
  try {
    url = new URL(issuer);
  } catch {
    throw new UsageError(`invalid issuer URL ${JSON.stringify(issuer)}: not a URL`);
  }
  const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
  const problem =
    url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)
      ? 'it must use https (http is allowed for loopback hosts only)'
      : url.username || url.password
        ? 'it must not contain credentials'
        : url.search || url.hash || issuer.includes('?') || issuer.includes('#')
          ? 'it must not have a query or fragment'
          : issuer.endsWith('/')
            ? 'it must not end with a slash'
            : url.href.replace(/\/$/, '') !== issuer
              ? `it is not in canonical form (${url.href.replace(/\/$/, '')})`
              : undefined;
  if (problem) throw new UsageError(`invalid issuer URL ${JSON.stringify(issuer)}: ${problem}`);
  return issuer;
}

function validDate(value: Date, what: string): Date {
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) throw new UsageError(`${what} is not a valid date`);
  return toWholeSeconds(value);
}

/** Builds the self-signed session CA certificate. */
function buildCaCertificate(
  spiffeId: string,
  trustDomain: string,
  sessionId: string,
  validFrom: Date,
  validUntil: Date,
  key: { publicKey: forge.pki.rsa.PublicKey; privateKey: KeyObject },
): forge.pki.Certificate {
  const cert = pki.createCertificate();
  cert.publicKey = key.publicKey;
  cert.serialNumber = randomSerialHex();
  cert.validity.notBefore = validFrom;
  cert.validity.notAfter = validUntil;
  const name = [
    { shortName: 'O', value: 'graft' },
    { shortName: 'CN', value: `graft session ${sessionId} CA` },
  ];
  cert.setSubject(name);
  cert.setIssuer(name);
  cert.setExtensions([
    // pathLen 0: the session CA signs agents only, never another CA.
    { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
    { name: 'subjectAltName', altNames: [{ type: 6, value: spiffeId }] },
    uriNameConstraintExtension(trustDomain),
  ]);
  signCertificate(cert, key.privateKey);
  return cert;
}

/** The public JWK published for a signing key: public members only, plus kid, use and alg. */
async function publicJwkOf(privateJwk: JWK): Promise<{ jwk: JWK; kid: string }> {
  const { kty, crv, x, y } = privateJwk;
  if (kty !== 'EC' || crv !== 'P-256' || !x || !y || !privateJwk.d) throw new Error('expected a private EC P-256 JWK');
  const kid = await calculateJwkThumbprint({ kty, crv, x, y }, 'sha256');
  return { jwk: { kty, crv, x, y, kid, use: 'sig', alg: jwtAlgorithm }, kid };
}

/**
 * Puts an authority together from its stored parts and checks that they belong
 * together: the CA names a graft session and the key is the certificate's.
 * Throws a plain Error saying what is wrong; callers add which file it came from.
 */
export async function assembleSessionAuthority(parts: { caCertPem: string; caKey: KeyObject; jwtPrivateJwk: JWK; issuer: string }): Promise<SessionAuthority> {
  const caCert = pki.certificateFromPem(parts.caCertPem);
  const uris = uriSubjectAltNames(caCert);
  const session = uris.length === 1 ? parseSessionSpiffeId(uris[0]!) : undefined;
  if (!session) throw new Error('the CA certificate does not carry exactly one graft session SPIFFE id');
  if (!keyMatchesCertificate(parts.caKey, caCert)) throw new Error('the CA private key does not belong to the CA certificate');
  const { jwk, kid } = await publicJwkOf(parts.jwtPrivateJwk);
  const jwtSigningKey = await importJWK({ ...parts.jwtPrivateJwk, alg: jwtAlgorithm }, jwtAlgorithm, { extractable: false });
  if (jwtSigningKey instanceof Uint8Array || jwtSigningKey.type !== 'private') throw new Error('the JWT key is not a private key');
  const privateJwk: JWK = { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y, d: parts.jwtPrivateJwk.d, kid };
  return {
    sessionId: session.sessionId,
    trustDomain: session.trustDomain,
    spiffeId: uris[0]!,
    issuer: validateIssuer(parts.issuer),
    validFrom: caCert.validity.notBefore,
    validUntil: caCert.validity.notAfter,
    caCertPem: certificateToPem(caCert),
    jwtPublicJwk: jwk,
    kid,
    keys: new AuthorityKeys(parts.caKey, caCert, privateJwk, jwtSigningKey),
  };
}

/**
 * Creates a session's identity authority: an RSA-2048 CA certificate
 * (self-signed, CA:true pathLen 0, keyCertSign/cRLSign, URI SAN
 * `spiffe://<trust domain>/session/<id>`, name constraint on the trust domain)
 * and an ES256 JWT signing key whose `kid` is its JWK thumbprint.
 * Nothing is written to disk: see `saveSessionAuthority`.
 */
export async function createSessionAuthority(options: CreateSessionAuthorityOptions): Promise<SessionAuthority> {
  const sessionId = validateSessionId(options.sessionId);
  const trustDomain = validateTrustDomain(options.trustDomain ?? defaultTrustDomain);
  const issuer = validateIssuer(options.issuer ?? defaultIssuer(sessionId));
  const validFrom = validDate(options.validFrom ?? new Date(Date.now() - clockSkewSeconds * 1000), 'validFrom');
  const validUntil = validDate(options.validUntil, 'validUntil');
  if (validUntil <= validFrom)
    throw new UsageError(`the session must end after it starts (validFrom ${validFrom.toISOString()}, validUntil ${validUntil.toISOString()})`);

  const [caKeyPair, jwtKeyPair] = await Promise.all([generateRsaKeyPair(), generateKeyPair(jwtAlgorithm, { extractable: true })]);
  const spiffeId = sessionSpiffeId(trustDomain, sessionId);
  const caCert = buildCaCertificate(spiffeId, trustDomain, sessionId, validFrom, validUntil, caKeyPair);
  return assembleSessionAuthority({
    caCertPem: certificateToPem(caCert),
    caKey: caKeyPair.privateKey,
    jwtPrivateJwk: await exportJWK(jwtKeyPair.privateKey),
    issuer,
  });
}
