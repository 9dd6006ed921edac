/**
 * graft's SSH layer: the only code that talks SSH. Pinned host keys always,
 * one reused connection per (account, host), commands and transfers bounded in time.
 */
export type { SshEndpoint, ExecOptions, ExecResult } from './types.js';
export { SshConnection, type ConnectionEnd } from './connection.js';
export type { SshConnectionOptions } from './dial.js';
export { SshPool, type SshPoolOptions } from './pool.js';
export { oncePerPool } from './once-per-pool.js';
export type { RemoteForward, ForwardedConnectionHandler, ForwardedConnectionInfo } from './forwarding.js';
export { parsePublicKeyLine, fingerprintSha256, describeEndpoint, type PublicKeyLine } from './host-keys.js';
export {
  generateEd25519KeyPair,
  writePrivateKeyFile,
  writeKeyPairFiles,
  publicKeyLineOf,
  readPrivateKeyFile,
  checkPrivateKey,
  type SshKeyPair,
} from './keys.js';
export { scanHostKey } from './host-key-scan.js';
