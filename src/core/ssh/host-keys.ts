/**
 * Host key pinning. A connection is only accepted when the server proves it
 * holds one of the keys pinned for the host; there is no switch to turn this
 * off, because a fleet tool that skips it hands every agent's key and secrets
 * to whoever answers on the address.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { SecurityError } from '../errors.js';
import type { SshEndpoint } from './types.js';

/** One OpenSSH public key line, split into its parts. */
export interface PublicKeyLine {
  /** Key type as written in the line, e.g. `ssh-ed25519`. */
  type: string;
  /** The SSH wire-format key blob (the base64 part, decoded). */
  blob: Buffer;
  comment: string;
}

/**
 * Parses `type base64 [comment]` (as in `*.pub`, authorized_keys without options,
 * or a known_hosts line whose host field was already stripped).
 * Throws a plain Error when the line is not a public key; callers wrap it with context.
 */
export function parsePublicKeyLine(line: string): PublicKeyLine {
  const [type, base64, ...rest] = line.trim().split(/\s+/);
  if (!type || !base64 || !/^[A-Za-z0-9+/]+={0,2}$/.test(base64)) {
    throw new Error(`not an OpenSSH public key line: "${line.trim().slice(0, 60)}"`);
  }
  const blob = Buffer.from(base64, 'base64');
  // The blob starts with its own type as an SSH string; a mismatch means a corrupt or pasted-wrong line.
  const innerType = blobKeyType(blob);
  if (innerType !== type) {
    throw new Error(`public key line says "${type}" but its key data is "${innerType}"`);
  }
  return { type, blob, comment: rest.join(' ') };
}

/** SHA256 fingerprint as OpenSSH prints it: `SHA256:` + unpadded base64 of the blob's digest. */
export function fingerprintSha256(key: Buffer | string): string {
  const blob = typeof key === 'string' ? parsePublicKeyLine(key).blob : key;
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** Key type names the client may offer for a pinned key type. RSA keys sign with SHA-2 on modern servers. */
const HOST_KEY_ALGORITHMS: Record<string, string[]> = {
  'ssh-rsa': ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'],
};

/**
 * The `serverHostKey` algorithms to offer so that the server presents a key type that is pinned:
 * a server holding both an RSA and an ed25519 key would otherwise show whichever it prefers.
 */
export function hostKeyAlgorithmsFor(pinned: PublicKeyLine[]): string[] {
  const algorithms: string[] = [];
  for (const key of pinned) {
    for (const algorithm of HOST_KEY_ALGORITHMS[key.type] ?? [key.type]) {
      if (!algorithms.includes(algorithm)) algorithms.push(algorithm);
    }
  }
  return algorithms;
}

/** What the verifier saw, so the caller can turn a refused handshake into the right error. */
export interface HostKeyCheck {
  pinned: PublicKeyLine[];
  /** For ssh2's `hostVerifier`: receives the raw server key blob. */
  verify: (presented: Buffer) => boolean;
  /** Set when the server presented a key that is not pinned. */
  mismatch?: { presented: Buffer };
}

/**
 * Builds the host key check for an endpoint, refusing up front when nothing is pinned
 * or a pinned line is unreadable, so no connection is ever made unverified.
 */
export function createHostKeyCheck(endpoint: SshEndpoint): HostKeyCheck {
  if (endpoint.hostKeys.length === 0) {
    throw new SecurityError(
      `No host key is pinned for ${describeEndpoint(endpoint)}; graft refuses to connect to a host it cannot verify.`,
      'HOST_KEY_UNPINNED',
      [
        'Pin the host key: set graft_host_key or graft_known_hosts for the host in the inventory.',
        `See the key the host presents with: ssh-keyscan -p ${endpoint.port} ${endpoint.host} (then verify it out of band).`,
      ],
    );
  }
  const pinned = endpoint.hostKeys.map((line, index) => {
    try {
      return parsePublicKeyLine(line);
    } catch (error) {
      throw new SecurityError(
        `Pinned host key #${index + 1} for ${describeEndpoint(endpoint)} is unreadable: ${(error as Error).message}`,
        'HOST_KEY_UNPINNED',
        ['Fix graft_host_key / the graft_known_hosts file for this host: each key is "type base64 [comment]".'],
      );
    }
  });
  const check: HostKeyCheck = {
    pinned,
    verify(presented) {
      const ok = pinned.some((key) => key.blob.length === presented.length && timingSafeEqual(key.blob, presented));
      if (!ok) check.mismatch = { presented: Buffer.from(presented) };
      return ok;
    },
  };
  return check;
}

/** The refusal for a host that presented a key other than the pinned ones. */
export function hostKeyMismatchError(endpoint: SshEndpoint, pinned: PublicKeyLine[], presented: Buffer): SecurityError {
  const expected = pinned.map((key) => `${key.type} ${fingerprintSha256(key.blob)}`).join(', ');
  const presentedType = blobKeyType(presented);
  return new SecurityError(
    `Host key mismatch for ${describeEndpoint(endpoint)}: expected ${expected}, but the host presented ${presentedType} ${fingerprintSha256(presented)}. ` +
      'Someone may be intercepting the connection, or the host was reinstalled.',
    'HOST_KEY_MISMATCH',
    [
      `Verify the new key out of band (console, cloud provider, the host's administrator); see what the host presents with: ssh-keyscan -p ${endpoint.port} ${endpoint.host}`,
      'If the change is expected, re-pin it: update graft_host_key for the host in the inventory, or the known_hosts file named by graft_known_hosts.',
      'For a host graft created, destroy and recreate it so graft pins its new key.',
    ],
  );
}

/** `label (user@host:port)`, the way every SSH error names its target. */
export function describeEndpoint(endpoint: SshEndpoint): string {
  return `${endpoint.label} (${endpoint.username}@${endpoint.host}:${endpoint.port})`;
}

/** The key type named at the start of an SSH wire-format key blob. */
export function blobKeyType(blob: Buffer): string {
  if (blob.length < 4) return 'unreadable';
  const length = blob.readUInt32BE(0);
  return length > 0 && 4 + length <= blob.length ? blob.subarray(4, 4 + length).toString('latin1') : 'unreadable';
}
