import { readFileSync } from 'node:fs';
import { ConfigError } from '../errors.js';
import type { HostRecord, JumpHost } from '../model/host.js';
import type { SshEndpoint } from '../ssh/types.js';

/**
 * How to reach a host's admin login: its pinned keys, and the private key file the host
 * record names, or the operator's ssh-agent when it names none; through its jump hosts, each
 * reached the same way.
 */
export function adminEndpoint(host: HostRecord | JumpHost, env: NodeJS.ProcessEnv = process.env, readKey: (file: string) => Buffer = cachedRead): SshEndpoint {
  const endpoint: SshEndpoint = { label: host.name, host: host.address, port: host.port, username: host.user, hostKeys: host.hostKeys };
  if (host.identityFile) {
    endpoint.privateKeyFile = host.identityFile;
    try {
      endpoint.privateKey = readKey(host.identityFile);
    } catch (error) {
      throw new ConfigError(
        [
          {
            file: host.identityFile,
            path: '',
            message: `cannot read the private key for host ${host.name}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
          },
        ],
        ['Fix ansible_ssh_private_key_file in the inventory (or IdentityFile in ~/.ssh/config), or load the key into ssh-agent and leave it out.'],
      );
    }
  } else if (env.SSH_AUTH_SOCK) {
    endpoint.agent = env.SSH_AUTH_SOCK;
  }
  if (host.jump) endpoint.jump = adminEndpoint(host.jump, env, readKey);
  return endpoint;
}

const keyCache = new Map<string, Buffer>();
function cachedRead(file: string): Buffer {
  let key = keyCache.get(file);
  if (!key) {
    key = readFileSync(file);
    keyCache.set(file, key);
  }
  return key;
}
