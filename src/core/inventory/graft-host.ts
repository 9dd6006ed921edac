/**
 * Turns an inventory into what the static provisioner needs per host: where to
 * connect, as whom, with which key, which host keys to pin, how many agents fit
 * and how they are isolated. Every variable is validated; all problems of the
 * file are reported at once, each at the place its value was written.
 */
import { homedir, userInfo } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { ConfigError, type ConfigProblem } from '../errors.js';
import type { IsolationMode } from '../provisioners/provisioner.js';
import { graftHostVarsSchema, KNOWN_GRAFT_VARS, pickGraftHostVars } from './graft-vars.js';
import { knownHostKeys, knownHostsName } from './known-hosts.js';
import { readInventorySource } from './inventory-source.js';
import type { Inventory, InventoryHost } from './model.js';

/** How graft trusts a host's key: only keys written down (`pinned`), or the first one seen (`tofu`, explicit opt-in). */
export type HostKeyPolicy = 'pinned' | 'tofu';

/** One inventory host, ready for the static provisioner. */
export interface StaticHostSpec {
  name: string;
  /** `ansible_host` (or `ansible_ssh_host`), else the inventory name. */
  address: string;
  /** `ansible_port` (or `ansible_ssh_port`, or `host:port`), else 22. */
  port: number;
  /** `ansible_user` (or `ansible_ssh_user`), else the user running graft. */
  user: string;
  /** Absolute path: relative paths are taken from the inventory file's directory, `~` is expanded. */
  identityFile?: string;
  slots: number;
  labels: string[];
  /** Every group the host belongs to, directly or through children, except `all`. */
  groups: string[];
  isolation: IsolationMode;
  /** Pinned keys `type base64`, from `graft_host_key` and `graft_known_hosts`. */
  hostKeys: string[];
  hostKeyPolicy: HostKeyPolicy;
}

/** What reading host specs needs from the machine; tests pass their own. */
export interface HostSpecEnvironment {
  readTextFile(path: string): string;
  homeDir: string;
  currentUser: string;
}

/** The real machine: files on disk, the current user's home and name. */
export function localHostSpecEnvironment(): HostSpecEnvironment {
  return { readTextFile: readInventorySource, homeDir: homedir(), currentUser: userInfo().username };
}

/** Resolves a path written in an inventory: `~` is the home directory, relative paths start at the inventory's directory. */
export function resolveInventoryPath(path: string, inventoryFile: string, homeDir: string): string {
  if (path === '~') return homeDir;
  if (path.startsWith('~/')) return join(homeDir, path.slice(2));
  return isAbsolute(path) ? path : resolve(dirname(inventoryFile), path);
}

/**
 * Validates every host's connection and `graft_*` variables and builds its spec.
 * Throws ConfigError listing every problem of the file. Host-key pinning is checked
 * separately by `checkHostKeyPins`, so that `inventory check` can report it on its own.
 */
export function toStaticHostSpecs(inventory: Inventory, env: HostSpecEnvironment = localHostSpecEnvironment()): StaticHostSpec[] {
  const problems = new Map<string, ConfigProblem>();
  const report = (path: string, message: string): void => {
    const problem = { file: inventory.file, path, message };
    problems.set(`${path}\0${message}`, problem);
  };
  const knownHostsCache = new Map<string, string | Error>();
  const specs: StaticHostSpec[] = [];

  for (const host of inventory.hosts.values()) {
    const where = (key: string): string => host.varSources[key] ?? `${host.source}: ${key}`;
    const parsed = graftHostVarsSchema.safeParse(pickGraftHostVars(host.vars));
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        if (issue.code === 'unrecognized_keys') {
          for (const key of issue.keys) report(where(key), `unknown graft variable ${key}: graft knows ${KNOWN_GRAFT_VARS.join(', ')}`);
        } else report(where(String(issue.path[0] ?? '')), issue.message);
      }
      continue;
    }
    const v = parsed.data;
    const address = v.ansible_host ?? v.ansible_ssh_host ?? host.name;
    const port = v.ansible_port ?? v.ansible_ssh_port ?? 22;
    const user = v.ansible_user ?? v.ansible_ssh_user ?? env.currentUser;
    const keyFile = v.ansible_ssh_private_key_file ?? v.ansible_private_key_file;
    const hostKeys = [...(v.graft_host_key ?? [])];
    if (v.graft_known_hosts !== undefined) {
      const found = readKnownHostKeys(host, v.graft_known_hosts, address, port, inventory.file, env, knownHostsCache);
      if (typeof found === 'string') report(where('graft_known_hosts'), found);
      else for (const key of found) if (!hostKeys.includes(key)) hostKeys.push(key);
    }
    specs.push({
      name: host.name,
      address,
      port,
      user,
      identityFile: keyFile === undefined ? undefined : resolveInventoryPath(keyFile, inventory.file, env.homeDir),
      slots: v.graft_slots ?? 1,
      labels: v.graft_labels ?? [],
      groups: host.groups.filter((g) => g !== 'all'),
      // Separate Unix accounts need root; without it agents share the login account.
      isolation: v.graft_isolation ?? (user === 'root' || v.ansible_become === true ? 'accounts' : 'shared-account'),
      hostKeys,
      hostKeyPolicy: v.graft_host_key_policy ?? 'pinned',
    });
  }
  if (problems.size > 0) throw new ConfigError([...problems.values()], ['Fix the inventory, then check it with `graft inventory check FILE`.']);
  return specs;
}

function readKnownHostKeys(
  host: InventoryHost,
  path: string,
  address: string,
  port: number,
  inventoryFile: string,
  env: HostSpecEnvironment,
  cache: Map<string, string | Error>,
): string[] | string {
  const file = resolveInventoryPath(path, inventoryFile, env.homeDir);
  let text = cache.get(file);
  if (text === undefined) {
    try {
      text = env.readTextFile(file);
    } catch (error) {
      text = error instanceof Error ? error : new Error(String(error));
    }
    cache.set(file, text);
  }
  if (text instanceof Error) return `cannot read known_hosts file ${file}: ${text.message}`;
  // ssh looks up the address it dials; the inventory name is accepted too, as users often scan by name.
  const names = [...new Set([address, host.name])].map((n) => knownHostsName(n, port));
  const keys = knownHostKeys(text, names);
  if (keys.length === 0) return `known_hosts file ${file} has no key for ${host.name} (looked for ${names.join(', ')}); add one with \`ssh-keyscan -H -p ${port} ${address} >> ${file}\``;
  return keys;
}

/**
 * Hosts that have no pinned host key and did not opt in to trust-on-first-use.
 * graft never connects to such a host, so this is a problem of the inventory.
 */
export function checkHostKeyPins(inventory: Inventory, specs: StaticHostSpec[]): ConfigProblem[] {
  return specs
    .filter((s) => s.hostKeys.length === 0 && s.hostKeyPolicy !== 'tofu')
    .map((s) => ({
      file: inventory.file,
      path: inventory.hosts.get(s.name)?.source ?? s.name,
      message: `host ${s.name} has no pinned host key: add graft_host_key, graft_known_hosts, or graft_host_key_policy: tofu to trust on first use`,
    }));
}
