/**
 * The pieces of X.509 that graft builds on node-forge: RSA keys made by Node's
 * own crypto, a native signer for forge certificates, subject keys forge cannot
 * encode or read (agents' EC P-256 keys), random serials and the name-constraints
 * extension forge cannot encode by itself.
 *
 * Why RSA-2048 for the session CA: node-forge verifies only RSA signatures, and the
 * design uses node-forge for X.509. Why Node's crypto for keys and signatures:
 * forge's pure-JS RSA signature costs 30-60 ms of blocked event loop on these
 * machines, OpenSSL's about 1 ms; key generation runs on libuv's thread pool.
 * The certificates stay forge-built and `openssl verify`-able, and forge still does
 * the RFC 5280 checks of agents' certificates (see {@link readCertificate}).
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPair, randomBytes, sign, X509Certificate, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import forge from 'node-forge';

const { asn1, pki } = forge;
// Public in node-forge 1.x but missing from @types/node-forge: the TBSCertificate writer, and
// the DER reader's options object (the types know only the older `strict` flag).
const getTBSCertificate = (pki as unknown as { getTBSCertificate(cert: forge.pki.Certificate): forge.asn1.Asn1 }).getTBSCertificate;
const fromDer = asn1.fromDer as (bytes: string, options?: { decodeBitStrings?: boolean }) => forge.asn1.Asn1;
const generateKeyPairAsync = promisify(generateKeyPair);

/**
 * How far certificate start times are backdated: a host whose clock is a
 * little behind the controller's must not see a fresh certificate as not yet valid.
 */
export const clockSkewSeconds = 300;

/** RSA modulus size of the session CA and server keys, and the least of agents' own RSA keys (the floor OpenSSL's default security level accepts). */
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

/**
 * A stand-in RSA key (n = e = 1) for the one field forge cannot write or read itself:
 * a subjectPublicKeyInfo that is not RSA. forge writes it, and graft swaps the real
 * key's SPKI in before anything is hashed or signed ({@link signCertificate}), or forge
 * reads it in place of the real key of a certificate being checked ({@link readCertificate}).
 * It is never a certificate's key.
 */
const placeholderKey = pki.setRsaPublicKey(new forge.jsbn.BigInteger('1', 16), new forge.jsbn.BigInteger('1', 16));

/** TBSCertificate's subjectPublicKeyInfo comes after version [0], serial, signature, issuer, validity and subject. */
function subjectPublicKeyInfoIndex(tbs: forge.asn1.Asn1): number {
  const first = (tbs.value as forge.asn1.Asn1[])[0]!;
  return first.tagClass === asn1.Class.CONTEXT_SPECIFIC && first.type === 0 ? 6 : 5;
}

/**
 * Signs a forge certificate with SHA-256 with RSA and a Node private key (the CA's),
 * in OpenSSL. With `subjectKey`, the certificate carries that key (EC or RSA, a Node
 * KeyObject) instead of `cert.publicKey`, which then need not be set: forge writes the
 * TBSCertificate with a placeholder key, and its subjectPublicKeyInfo is replaced by
 * `subjectKey`'s SPKI DER before the TBSCertificate is signed. Everything else in the
 * certificate is forge's encoding, as for any other certificate.
 */
export function signCertificate(cert: forge.pki.Certificate, key: KeyObject, subjectKey?: KeyObject): void {
  cert.signatureOid = cert.siginfo.algorithmOid = pki.oids.sha256WithRSAEncryption!;
  const tbs = getTBSCertificate(subjectKey ? { ...cert, publicKey: placeholderKey } : cert);
  if (subjectKey)
    (tbs.value as forge.asn1.Asn1[])[subjectPublicKeyInfoIndex(tbs)] = asn1.fromDer(subjectKey.export({ type: 'spki', format: 'der' }).toString('binary'));
  cert.tbsCertificate = tbs;
  // For an RSA key, node's sign() is RSASSA-PKCS1-v1_5, the scheme sha256WithRSAEncryption names.
  cert.signature = sign('sha256', Buffer.from(asn1.toDer(tbs).getBytes(), 'binary'), key).toString('binary');
}

/**
 * The subjectKeyIdentifier extension of a certificate for `key`: the SHA-1 of its
 * subjectPublicKey bits (RFC 5280 4.2.1.2, method 1), what forge computes for RSA keys
 * and OpenSSL for any key. Explicit because forge can only compute it from an RSA key.
 */
export function subjectKeyIdentifierExtension(key: KeyObject): { id: string; value: forge.asn1.Asn1 } {
  const spki = fromDer(key.export({ type: 'spki', format: 'der' }).toString('binary'), { decodeBitStrings: false });
  const bitString = (spki.value as forge.asn1.Asn1[])[1]!.value as string; // its first byte counts unused bits
  const id = createHash('sha1')
    .update(Buffer.from(bitString.slice(1), 'binary'))
    .digest('binary');
  return { id: '2.5.29.14', value: asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OCTETSTRING, false, id) };
}

/** A certificate as forge reads it, and its subject key as Node reads it. */
export interface ReadCertificate {
  /** Everything but the key (`cert.publicKey` is a placeholder when the key is not RSA: never use it). */
  cert: forge.pki.Certificate;
  /** The subject public key, whatever its type. */
  publicKey: KeyObject;
  /** The certificate as Node reads it, for OpenSSL's signature checks. */
  x509: X509Certificate;
}

/**
 * Reads a PEM certificate whatever its subject key. forge refuses any key but RSA, and
 * a verifier needs a leaf's key only to know what it is, never to check a signature
 * (that is its issuer's key). So forge reads a copy whose subjectPublicKeyInfo is the
 * placeholder, and then gets back the original TBSCertificate: any signature forge
 * checks on the result covers the bytes that were really signed. Node reads the real key.
 * Throws a plain Error when `pem` is not a certificate.
 */
export function readCertificate(pem: string): ReadCertificate {
  const x509 = new X509Certificate(pem);
  const der = x509.raw.toString('binary');
  const readable = asn1.fromDer(der);
  const tbs = (readable.value as forge.asn1.Asn1[])[0]!;
  (tbs.value as forge.asn1.Asn1[])[subjectPublicKeyInfoIndex(tbs)] = pki.publicKeyToAsn1(placeholderKey);
  const cert = pki.certificateFromAsn1(readable);
  cert.tbsCertificate = (asn1.fromDer(der).value as forge.asn1.Asn1[])[0]!;
  if (x509.publicKey.asymmetricKeyType === 'rsa') cert.publicKey = forgePublicKeyOf(x509.publicKey);
  return { cert, publicKey: x509.publicKey, x509 };
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
