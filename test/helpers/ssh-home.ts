import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { localHostSpecEnvironment, type HostSpecEnvironment } from '../../src/core/inventory/index.js';

/**
 * The machine's environment for reading inventories, but with a home that does not exist and no
 * global known_hosts: what graft reads from ~/.ssh is then nothing, never the real user's ~/.ssh.
 */
export function hermeticHostSpecEnvironment(): HostSpecEnvironment {
  return { ...localHostSpecEnvironment(), homeDir: join(tmpdir(), `graft-no-home-${randomBytes(6).toString('hex')}`), globalKnownHostsFiles: [] };
}
