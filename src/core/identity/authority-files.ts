/**
 * A session authority on disk. The directory is 0700 and the private files
 * 0600 from the moment they exist (written to a fresh temporary file with that
 * mode, then renamed over the target, so a crash never leaves a half-written
 * key and a planted symlink is replaced rather than followed).
 *
 * Layout (one directory per session):
 *   authority.json          public metadata: session, trust domain, issuer, kid
 *   ca.cert.pem             the session CA certificate
 *   ca.key.pem              the CA private key, PKCS#8 (0600)
 *   jwt.private.jwk.json    the JWT signing key, private JWK (0600)
 *   jwt.public.jwk.json     the JWT public key as published in the JWKS
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { chmod, lstat, mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { NotFoundError, StateError } from '../errors.js';
import { assembleSessionAuthority, validateIssuer, type SessionAuthority } from './session-authority.js';
import { readRsaPrivateKey } from './x509-support.js';

/** File names inside an authority directory. */
export const authorityFileNames = {
  metadata: 'authority.json',
  caCert: 'ca.cert.pem',
  caKey: 'ca.key.pem',
  jwtPrivateKey: 'jwt.private.jwk.json',
  jwtPublicKey: 'jwt.public.jwk.json',
} as const;

const metadataSchema = z.strictObject({
  version: z.literal(1),
  sessionId: z.string(),
  trustDomain: z.string(),
  spiffeId: z.string(),
  issuer: z.string(),
  kid: z.string(),
  validFrom: z.string(),
  validUntil: z.string(),
});

const privateJwkSchema = z.looseObject({ kty: z.literal('EC'), crv: z.literal('P-256'), x: z.string(), y: z.string(), d: z.string() });

/** Writes `content` to `path` with `mode`, atomically: a new temporary file in the same directory, then a rename. */
async function writeFileAtomically(path: string, content: string, mode: number): Promise<void> {
  const temporary = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  // O_EXCL: the temporary name must be new, never an existing file or symlink someone placed there.
  const handle = await open(temporary, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, mode);
  try {
    await handle.chmod(mode); // the umask may have narrowed it; never widened, but be exact
    await handle.writeFile(content);
    await handle.sync();
  } catch (error) {
    await handle.close();
    await rm(temporary, { force: true });
    throw error;
  }
  await handle.close();
  await rename(temporary, path);
}

/**
 * Saves an authority into `dir` (created 0700, or narrowed to 0700 if it exists).
 * Private key files are 0600, the others 0644. Saving the same authority again is harmless.
 */
export async function saveSessionAuthority(dir: string, authority: SessionAuthority): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const info = await lstat(dir);
  if (!info.isDirectory()) throw new StateError(`${dir} is not a directory; cannot save the session authority there`);
  await chmod(dir, 0o700);

  const metadata: z.infer<typeof metadataSchema> = {
    version: 1,
    sessionId: authority.sessionId,
    trustDomain: authority.trustDomain,
    spiffeId: authority.spiffeId,
    issuer: authority.issuer,
    kid: authority.kid,
    validFrom: authority.validFrom.toISOString(),
    validUntil: authority.validUntil.toISOString(),
  };
  const caKeyPem = authority.keys.caKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  await writeFileAtomically(join(dir, authorityFileNames.caKey), caKeyPem, 0o600);
  await writeFileAtomically(join(dir, authorityFileNames.jwtPrivateKey), `${JSON.stringify(authority.keys.jwtPrivateJwk, null, 2)}\n`, 0o600);
  await writeFileAtomically(join(dir, authorityFileNames.caCert), authority.caCertPem, 0o644);
  await writeFileAtomically(join(dir, authorityFileNames.jwtPublicKey), `${JSON.stringify(authority.jwtPublicJwk, null, 2)}\n`, 0o644);
  await writeFileAtomically(join(dir, authorityFileNames.metadata), `${JSON.stringify(metadata, null, 2)}\n`, 0o644);
}

function corrupt(file: string, why: string, cause?: unknown): StateError {
  return new StateError(`session authority file ${file} is unusable: ${why}`, {
    cause,
    actions: ['The session identity cannot be recovered from a damaged authority; tear the session down and start a new one.'],
  });
}

/** Reads one file of the authority; missing is NotFound, unreadable is a StateError, both naming the file. */
async function readAuthorityFile(dir: string, name: string, isPrivate: boolean): Promise<{ file: string; text: string }> {
  const file = join(dir, name);
  let text: string;
  try {
    if (isPrivate) {
      // Like OpenSSH with private keys: a key others could read is not trusted to be ours alone.
      const mode = (await stat(file)).mode & 0o777;
      if (mode & 0o077) {
        throw new StateError(`session authority file ${file} is readable or writable by other users (mode ${mode.toString(8).padStart(4, '0')})`, {
          actions: [`chmod 600 ${file}`, 'If you did not widen it yourself, treat the session as compromised and tear it down.'],
        });
      }
    }
    text = await readFile(file, 'utf8');
  } catch (error) {
    if (error instanceof StateError) throw error;
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFoundError(`session authority file ${file} does not exist`);
    throw corrupt(file, (error as Error).message, error);
  }
  return { file, text };
}

function parseJson(file: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw corrupt(file, 'not valid JSON', error);
  }
}

/**
 * Loads an authority saved by {@link saveSessionAuthority}, checking that its
 * parts belong together. A missing file is a NotFoundError, anything unreadable,
 * inconsistent or too widely readable a StateError; each names the file.
 */
export async function loadSessionAuthority(dir: string): Promise<SessionAuthority> {
  const metadataFile = await readAuthorityFile(dir, authorityFileNames.metadata, false);
  const parsed = metadataSchema.safeParse(parseJson(metadataFile.file, metadataFile.text));
  if (!parsed.success) throw corrupt(metadataFile.file, parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; '));
  const metadata = parsed.data;
  try {
    validateIssuer(metadata.issuer);
  } catch (error) {
    throw corrupt(metadataFile.file, (error as Error).message, error);
  }

  const caCert = await readAuthorityFile(dir, authorityFileNames.caCert, false);
  const caKeyFile = await readAuthorityFile(dir, authorityFileNames.caKey, true);
  let caKey;
  try {
    caKey = readRsaPrivateKey(caKeyFile.text);
  } catch (error) {
    throw corrupt(caKeyFile.file, `not an RSA private key (${(error as Error).message})`, error);
  }
  const jwtFile = await readAuthorityFile(dir, authorityFileNames.jwtPrivateKey, true);
  const jwk = privateJwkSchema.safeParse(parseJson(jwtFile.file, jwtFile.text));
  if (!jwk.success) throw corrupt(jwtFile.file, 'not a private EC P-256 JWK');

  let authority: SessionAuthority;
  try {
    authority = await assembleSessionAuthority({ caCertPem: caCert.text, caKey, jwtPrivateJwk: jwk.data, issuer: metadata.issuer });
  } catch (error) {
    throw corrupt(`${caCert.file} (with ${caKeyFile.file} and ${jwtFile.file})`, (error as Error).message, error);
  }
  if (authority.kid !== metadata.kid)
    throw corrupt(jwtFile.file, `its key id ${authority.kid} is not the kid ${metadata.kid} recorded in ${metadataFile.file}`);
  const mismatch = (['sessionId', 'trustDomain', 'spiffeId'] as const).find((field) => authority[field] !== metadata[field]);
  if (mismatch)
    throw corrupt(metadataFile.file, `its ${mismatch} ${JSON.stringify(metadata[mismatch])} is not the certificate's (${JSON.stringify(authority[mismatch])})`);
  return authority;
}
