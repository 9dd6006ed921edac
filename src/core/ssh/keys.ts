/**
 * SSH key pairs graft makes and reads: session admin keys, per-agent keys and
 * the host keys of local hosts. All ed25519, all in OpenSSH format so that
 * `ssh`, `ssh-keygen` and sshd read them as they are.
 */
import { chmod, open, readFile } from 'node:fs/promises';
import ssh2 from 'ssh2';
import { ConfigError } from '../errors.js';

/** A key pair in OpenSSH text formats. */
export interface SshKeyPair {
  /** `-----BEGIN OPENSSH PRIVATE KEY-----` text. */
  privateKey: string;
  /** One line: `ssh-ed25519 AAAA... comment`. */
  publicKey: string;
}

/** Length of an ed25519 public key blob: string "ssh-ed25519" (4 + 11) and the 32-byte key (4 + 32). */
const ED25519_BLOB_LENGTH = 51;

/**
 * Generates a fresh ed25519 key pair; `comment` ends up in the public line (and in sshd's logs).
 * ssh2 1.17 drops a leading zero byte of the public key (about one key in 256), which OpenSSH then
 * refuses to load ("error in libcrypto"): such a pair is discarded and another one made.
 */
export function generateEd25519KeyPair(comment = 'graft'): SshKeyPair {
  for (;;) {
    const pair = ssh2.utils.generateKeyPairSync('ed25519', { comment });
    const blob = Buffer.from(pair.public.trim().split(/\s+/)[1] ?? '', 'base64');
    if (blob.length === ED25519_BLOB_LENGTH) return { privateKey: pair.private, publicKey: `${pair.public.trim()}` };
  }
}

/**
 * Writes a private key readable by its owner only. The file is created with mode 0600
 * (never briefly world-readable) and chmod'ed again in case it already existed:
 * OpenSSH refuses keys other users can read.
 */
export async function writePrivateKeyFile(path: string, privateKey: string): Promise<void> {
  const handle = await open(path, 'w', 0o600);
  try {
    await handle.writeFile(privateKey.endsWith('\n') ? privateKey : `${privateKey}\n`);
  } finally {
    await handle.close();
  }
  await chmod(path, 0o600);
}

/** Writes `path` (0600) and `path.pub` (0644), the layout ssh-keygen uses. */
export async function writeKeyPairFiles(path: string, pair: SshKeyPair): Promise<void> {
  await writePrivateKeyFile(path, pair.privateKey);
  const handle = await open(`${path}.pub`, 'w', 0o644);
  try {
    await handle.writeFile(`${pair.publicKey}\n`);
  } finally {
    await handle.close();
  }
}

/** The OpenSSH public key line of a private key given as text. Throws a plain Error when unreadable. */
export function publicKeyLineOf(privateKey: string | Buffer, passphrase?: string, comment?: string): string {
  const parsed = parsePrivateKey(privateKey, passphrase);
  const line = `${parsed.type} ${parsed.getPublicSSH().toString('base64')}`;
  const note = comment ?? parsed.comment;
  return note ? `${line} ${note}` : line;
}

/**
 * Reads and validates a private key file, so a wrong path or a public key given by mistake
 * is reported as such before any host is dialed, not as an authentication failure later.
 */
export async function readPrivateKeyFile(path: string, passphrase?: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ConfigError(
      [{ file: path, path: '', message: code === 'ENOENT' ? 'private key file does not exist' : `cannot read private key file (${code ?? 'unknown error'})` }],
      ['Check the identity file path (ansible_ssh_private_key_file / --identity).'],
    );
  }
  checkPrivateKey(text, path, passphrase);
  return text;
}

/**
 * Throws ConfigError naming `source` (the key's file, or what the key is for) unless the key
 * is one private key ssh2 can use. ssh2 itself would throw a plain Error from inside
 * `Client.connect`, after a socket and timers already exist.
 */
export function checkPrivateKey(privateKey: string | Buffer, source: string, passphrase?: string): void {
  try {
    parsePrivateKey(privateKey, passphrase);
  } catch (error) {
    throw new ConfigError(
      [{ file: source, path: '', message: (error as Error).message }],
      ['Give the private key file (not the .pub), in OpenSSH or PEM format; for an encrypted key also give its passphrase.'],
    );
  }
}

function parsePrivateKey(privateKey: string | Buffer, passphrase?: string): ssh2.ParsedKey {
  const parsed = ssh2.utils.parseKey(privateKey, passphrase);
  if (parsed instanceof Error) throw new Error(`not a usable private key: ${parsed.message}`);
  // parseKey returns an array for some multi-key inputs; graft only deals in one key per file.
  const key = Array.isArray(parsed) ? (parsed[0] as ssh2.ParsedKey | undefined) : parsed;
  if (!key) throw new Error('no key found');
  if (!key.isPrivateKey()) throw new Error('this is a public key, not a private key');
  return key;
}
