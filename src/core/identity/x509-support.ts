/**
 * The pieces of X.509 that graft builds on node-forge: RSA keys made by Node's
 * own crypto, a native signer for forge certificates, random serials and the
 * name-constraints extension forge cannot encode by itself.
 *
 * Why RSA-2048: node-forge reads and verifies only RSA certificates, and the
 * design uses node-forge for X.509. Why Node's crypto for keys and signatures:
 * forge's pure-JS RSA signature costs 30-60 ms of blocked event loop on these
 * machines, OpenSSL's about 1 ms; key generation runs on libuv's thread pool.
 * The certificates stay forge-built, forge-verifiable and `openssl verify`-able.
 */
import { constants, createPrivateKey, createPublicKey, generateKeyPair, privateEncrypt, randomBytes, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import forge from 'node-forge';
import { UsageError } from '../errors.js';

const { asn1, pki } = forge;
const generateKeyPairAsync = promisify(generateKeyPair);

/**
 * How far certificate start times are backdated: a host whose clock is a
 * little behind the controller's must not see a fresh certificate as not yet valid.
 */
export const clockSkewSeconds = 300;

/** RSA modulus size for the session CA and agent keys (the floor OpenSSL's default security level accepts). */
export const rsaModulusBits = 2048;

/** An RSA key pair: the private key stays a Node KeyObject (never a forge object), the public key is also in forge form. */
export interface RsaKeyPair {
  privateKey: KeyObject;
  publicKey: forge.pki.rsa.PublicKey;
}

/** Generates an RSA key pair off the event loop (~100-200 ms of a thread-pool thread). */
export async function generateRsaKeyPair(): Promise<RsaKeyPair> {
  const { privateKey, publicKey } = await generateKeyPairAsync('rsa', { modulusLength: rsaModulusBits });
  return { privateKey, publicKey: forgePublicKeyOf(publicKey) };
}

/** A Node public key in node-forge's form, for embedding in a certificate. */
export function forgePublicKeyOf(key: KeyObject): forge.pki.rsa.PublicKey {
  return pki.publicKeyFromPem(key.export({ type: 'spki', format: 'pem' }).toString()) as forge.pki.rsa.PublicKey;
}

/**
 * Reads a caller-supplied public key (PEM, SPKI or PKCS#1) for an agent certificate.
 * Only RSA of at least {@link rsaModulusBits} bits: anything else forge could not
 * verify later, and a short key would be a weak identity.
 */
export function readAgentPublicKey(pem: string): forge.pki.rsa.PublicKey {
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch (error) {
    throw new UsageError(`the agent public key is not a readable PEM public key (${(error as Error).message})`);
  }
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (key.asymmetricKeyType !== 'rsa' || bits < rsaModulusBits) {
    throw new UsageError(`the agent public key must be RSA of at least ${rsaModulusBits} bits, not ${key.asymmetricKeyType ?? 'unknown'}${bits ? ` of ${bits} bits` : ''}`);
  }
  return forgePublicKeyOf(key);
}

/** Reads a PKCS#8 or PKCS#1 RSA private key; throws a plain Error when it is not one (callers say which file). */
export function readRsaPrivateKey(pem: string): KeyObject {
  const key = createPrivateKey(pem);
  if (key.asymmetricKeyType !== 'rsa') throw new Error(`expected an RSA private key, found ${key.asymmetricKeyType ?? 'unknown'}`);
  return key;
}

/** True when the private key belongs to the certificate's public key. */
export function keyMatchesCertificate(key: KeyObject, cert: forge.pki.Certificate): boolean {
  const fromKey = createPublicKey(key).export({ type: 'spki', format: 'der' });
  const fromCert = Buffer.from(asn1.toDer(pki.publicKeyToAsn1(cert.publicKey)).getBytes(), 'binary');
  return fromKey.equals(fromCert);
}

// DigestInfo prefix of SHA-256 (RFC 8017 section 9.2, note 1): what RSASSA-PKCS1-v1_5 signs.
const sha256DigestInfoPrefix = Buffer.from('3031300d060960864801650304020105000420', 'hex');

/**
 * Signs a forge certificate with SHA-256 and a Node private key. forge's
 * `cert.sign(key, md)` hashes the TBSCertificate into `md` and hands it to
 * `key.sign(md)`; this key object does RSASSA-PKCS1-v1_5 over that digest in
 * OpenSSL (private "encryption" of the DigestInfo with block type 1 padding is
 * exactly that scheme), so the result is what forge would have produced.
 */
export function signCertificate(cert: forge.pki.Certificate, key: KeyObject): void {
  const nativeSigner = {
    sign(md: forge.md.MessageDigest): string {
      const digest = Buffer.from(md.digest().getBytes(), 'binary');
      const digestInfo = Buffer.concat([sha256DigestInfoPrefix, digest]);
      return privateEncrypt({ key, padding: constants.RSA_PKCS1_PADDING }, digestInfo).toString('binary');
    },
  };
  cert.sign(nativeSigner as unknown as forge.pki.rsa.PrivateKey, forge.md.sha256.create());
}

/**
 * A random, positive, 127-bit serial number as hex. Random serials keep
 * certificates unlinkable and unpredictable (CA/B Forum asks for >= 64 bits).
 */
export function randomSerialHex(): string {
  const bytes = randomBytes(16);
  // A clear top bit keeps the DER INTEGER positive; a non-zero first byte keeps it minimal.
  bytes[0] = bytes[0]! & 0x7f || 0x01;
  return bytes.toString('hex');
}

/**
 * A critical nameConstraints extension (RFC 5280 4.2.1.10) that permits only URIs
 * whose host is `host`. Verifiers (OpenSSL, forge >= 1.4) then refuse any leaf
 * this CA signs for another trust domain, even if the CA key were misused.
 * forge parses and enforces the extension but cannot encode it, so it is built here.
 */
export function uriNameConstraintExtension(host: string): { id: string; critical: true; value: forge.asn1.Asn1 } {
  const uri = asn1.create(asn1.Class.CONTEXT_SPECIFIC, 6, false, host);
  const subtree = asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [uri]);
  const permitted = asn1.create(asn1.Class.CONTEXT_SPECIFIC, 0, true, [subtree]);
  return { id: '2.5.29.30', critical: true, value: asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [permitted]) };
}

/** A certificate as PEM with Unix line ends (forge writes CRLF; files and diffs read better with LF). */
export function certificateToPem(cert: forge.pki.Certificate): string {
  return pki.certificateToPem(cert).replace(/\r\n/g, '\n');
}

/**
 * A leaf's validity inside its CA's: from `now` backdated by the clock skew (never before the
 * CA starts) to `validUntil` or the CA's end, whichever comes first. Both in whole seconds.
 */
export function leafValidity(ca: forge.pki.Certificate, now: Date, validUntil?: Date): { notBefore: Date; notAfter: Date } {
  const backdated = new Date(now.getTime() - clockSkewSeconds * 1000);
  const notBefore = backdated > ca.validity.notBefore ? backdated : ca.validity.notBefore;
  const requestedEnd = validUntil ? toWholeSeconds(validUntil) : undefined;
  const notAfter = requestedEnd && requestedEnd < ca.validity.notAfter ? requestedEnd : ca.validity.notAfter;
  return { notBefore, notAfter };
}

/** X.509 times have whole seconds: round down so the Date we keep equals the one in the certificate. */
export function toWholeSeconds(date: Date): Date {
  return new Date(Math.floor(date.getTime() / 1000) * 1000);
}

/** The URI entries of a certificate's subjectAltName extension (none if it has none). */
export function uriSubjectAltNames(cert: forge.pki.Certificate): string[] {
  const ext = cert.getExtension('subjectAltName') as { altNames?: { type: number; value: unknown }[] } | null;
  return (ext?.altNames ?? []).filter((name) => name.type === 6).map((name) => String(name.value));
}

/** All subjectAltName entries of a certificate, of any type. */
export function subjectAltNameCount(cert: forge.pki.Certificate): number {
  const ext = cert.getExtension('subjectAltName') as { altNames?: unknown[] } | null;
  return ext?.altNames?.length ?? 0;
}
