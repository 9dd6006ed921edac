/**
 * Turns an inventory into what the static provisioner needs per host: where to
 * connect, as whom, with which key, which host keys to pin, how many agents fit
 * and how they are isolated. Every variable is validated; all problems of the
 * file are reported at once, each at the place its value was written.
 */
import { homedir, userInfo } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { ConfigError, type ConfigProblem } from '../errors.js';
import type { IsolationMode, JumpHost } from '../model/host.js';
import { graftHostVarsSchema, KNOWN_GRAFT_VARS, pickGraftHostVars, type GraftHostVars } from './graft-vars.js';
import { JumpResolver, type WrittenJump } from './jump-hosts.js';
import { proxyJumpFromSshArgs } from './jump-spec.js';
import { addKnownHostHint, knownHostKeys, knownHostsName } from './known-hosts.js';
import { readInventorySource } from './inventory-source.js';
import type { Inventory, InventoryHost } from './model.js';
import { OpenSshFiles, type OpenSshFileSource, type SshConfigHost } from './openssh-files.js';

/** How graft trusts a host's key: only keys written down (`pinned`), or the first one seen (`tofu`, explicit opt-in). */
export type HostKeyPolicy = 'pinned' | 'tofu';

/** One inventory host, ready for the static provisioner. */
export interface StaticHostSpec {
  name: string;
  /** `ansible_host` (or `ansible_ssh_host`), else the inventory name; then ~/.ssh/config's HostName for it. */
  address: string;
  /** `ansible_port` (or `ansible_ssh_port`, or `host:port`), else ~/.ssh/config's Port, else 22. */
  port: number;
  /** `ansible_user` (or `ansible_ssh_user`), else ~/.ssh/config's User, else the user running graft. */
  user: string;
  /**
   * `ansible_ssh_private_key_file`, else the first existing IdentityFile of ~/.ssh/config (else,
   * under IdentitiesOnly, OpenSSH's default ~/.ssh/id_*). Absolute: relative paths are taken from
   * the inventory file's directory, `~` is expanded. Absent: the ssh-agent.
   */
  identityFile?: string;
  /** The jump host: `graft_jump`, else ProxyJump in `ansible_ssh_common_args`/`_extra_args`, else in ~/.ssh/config. */
  jump?: JumpHost;
  slots: number;
  labels: string[];
  /** Every group the host belongs to, directly or through children, except `all`. */
  groups: string[];
  isolation: IsolationMode;
  /** `graft_process_privacy`: hide processes from the accounts that do not own them (hidepid on /proc) at the first agent. */
  privacy: boolean;
  /**
   * Pinned keys `type base64`, from `graft_host_key` and `graft_known_hosts`; when neither is
   * given and the policy is not tofu, from the user's and the global known_hosts files.
   */
  hostKeys: string[];
  hostKeyPolicy: HostKeyPolicy;
  /** Where graft looked for the host's keys, for the refusal when it found none. */
  knownHostsSearched: string[];
}

/**
 * What reading host specs needs from the machine (files, the home directory with its ~/.ssh,
 * the user's name); tests pass their own, so that no test reads the real ~/.ssh.
 */
export interface HostSpecEnvironment extends OpenSshFileSource {
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
 * `trustOnFirstUse` (`graft up --tofu`) gives every host whose key is written nowhere the tofu policy.
 */
export function toStaticHostSpecs(
  inventory: Inventory,
  env: HostSpecEnvironment = localHostSpecEnvironment(),
  options: { trustOnFirstUse?: boolean } = {},
): StaticHostSpec[] {
  const problems = new Map<string, ConfigProblem>();
  const report = (path: string, message: string): void => {
    const problem = { file: inventory.file, path, message };
    problems.set(`${path}\0${message}`, problem);
  };
  const knownHostsCache = new Map<string, string | Error>();
  const openssh = new OpenSshFiles(env);
  const specs: StaticHostSpec[] = [];
  const jumps = new Map<string, WrittenJump>();

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
    // Ansible hands ssh `ansible_host` (else the inventory name); ssh looks that up in its config.
    const sshName = v.ansible_host ?? v.ansible_ssh_host ?? host.name;
    let config: SshConfigHost = { identityFiles: [] };
    try {
      config = openssh.configFor(sshName);
    } catch (error) {
      problems.set(openssh.configFile, {
        file: openssh.configFile,
        path: '',
        message: `${(error as Error).message}; fix the file (graft reads it as OpenSSH does)`,
      });
    }
    const address = config.hostName ?? sshName;
    const configPort = sshConfigPort(config, sshName, openssh.configFile, problems);
    const port = v.ansible_port ?? v.ansible_ssh_port ?? configPort ?? 22;
    const user = v.ansible_user ?? v.ansible_ssh_user ?? config.user ?? env.currentUser;
    const keyFile = v.ansible_ssh_private_key_file ?? v.ansible_private_key_file;
    const identityFile = keyFile === undefined ? openssh.identityFile(config) : resolveInventoryPath(keyFile, inventory.file, env.homeDir);
    if (identityFile === undefined && config.identitiesOnly) {
      report(
        `${host.source}: ${sshName}`,
        `IdentitiesOnly yes in ${openssh.configFile} forbids the ssh-agent, but no IdentityFile (nor ~/.ssh/id_ed25519, id_ecdsa, id_rsa) exists: set ansible_ssh_private_key_file or IdentityFile`,
      );
    }
    const hostKeys = [...(v.graft_host_key ?? [])];
    if (v.graft_known_hosts !== undefined) {
      const found = readKnownHostKeys(host, v.graft_known_hosts, address, port, inventory.file, env, knownHostsCache);
      if (typeof found === 'string') report(where('graft_known_hosts'), found);
      else for (const key of found) if (!hostKeys.includes(key)) hostKeys.push(key);
    }
    let hostKeyPolicy = v.graft_host_key_policy ?? 'pinned';
    let knownHostsSearched: string[] = [];
    if (hostKeys.length === 0 && hostKeyPolicy !== 'tofu') {
      const found = openssh.knownHostKeys([address, host.name, sshName], port, config);
      hostKeys.push(...found.keys);
      knownHostsSearched = found.searched;
      if (found.keys.length === 0 && found.certAuthorities.length > 0) {
        report(
          host.source,
          `host ${host.name} is vouched for only by @cert-authority lines (${found.certAuthorities.join(', ')}): graft cannot verify host certificates (ssh2 has no support for them); pin its plain key with graft_host_key or a known_hosts line`,
        );
      }
      if (hostKeys.length === 0 && options.trustOnFirstUse) hostKeyPolicy = 'tofu';
    }
    const jump = jumpOf(v, config, where, `${host.source}: ProxyJump of ${openssh.configFile}`);
    if (jump && 'error' in jump) report(jump.where, jump.error);
    else if (jump) jumps.set(host.name, jump);
    specs.push({
      name: host.name,
      address,
      port,
      user,
      identityFile,
      slots: v.graft_slots ?? 1,
      labels: v.graft_labels ?? [],
      groups: host.groups.filter((g) => g !== 'all'),
      // Separate Unix accounts need root; without it agents share the login account.
      isolation: v.graft_isolation ?? (user === 'root' || v.ansible_become === true ? 'accounts' : 'shared-account'),
      privacy: v.graft_process_privacy === true,
      hostKeys,
      hostKeyPolicy,
      knownHostsSearched,
    });
  }
  new JumpResolver(specs, jumps, openssh, env, (where, message) => report(where, message)).resolveAll();
  for (const spec of specs) {
    if (spec.jump && spec.hostKeys.length === 0 && spec.hostKeyPolicy === 'tofu') {
      report(
        jumps.get(spec.name)!.where,
        `host ${spec.name} is behind a jump host, where trust on first use (graft_host_key_policy: tofu, --tofu) cannot read its key: pin it with graft_host_key or a known_hosts line`,
      );
    }
  }
  if (problems.size > 0) throw new ConfigError([...problems.values()], ['Fix the inventory, then check it with `graft inventory check FILE`.']);
  return specs;
}

/**
 * The jump host as written, and where: `graft_jump`, else ProxyJump in the ssh arguments Ansible
 * passes, else ProxyJump in ~/.ssh/config (`configWhere`). Nothing, or why it cannot be read.
 */
function jumpOf(
  v: GraftHostVars,
  config: SshConfigHost,
  where: (key: string) => string,
  configWhere: string,
): WrittenJump | { where: string; error: string } | undefined {
  if (v.graft_jump !== undefined) return { text: v.graft_jump, where: where('graft_jump') };
  for (const key of ['ansible_ssh_common_args', 'ansible_ssh_extra_args'] as const) {
    const args = v[key];
    if (args === undefined) continue;
    const found = proxyJumpFromSshArgs(args);
    if ('error' in found) return { where: where(key), error: found.error };
    if (found.jump !== undefined) return { text: found.jump, where: where(key) };
  }
  return config.proxyJump === undefined ? undefined : { text: config.proxyJump, where: configWhere };
}

/** ~/.ssh/config's Port for the host, checked; a bad one is a problem of that file. */
function sshConfigPort(config: SshConfigHost, name: string, file: string, problems: Map<string, ConfigProblem>): number | undefined {
  if (config.port === undefined) return undefined;
  const port = Number(config.port);
  if (Number.isInteger(port) && port >= 1 && port <= 65535) return port;
  problems.set(`${file}\0${name}\0Port`, {
    file,
    path: `Host ${name}: Port`,
    message: `expected a port number from 1 to 65535, got ${JSON.stringify(config.port)}`,
  });
  return undefined;
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
  if (keys.length === 0)
    return `known_hosts file ${file} has no key for ${host.name} (looked for ${names.join(', ')}); add one with \`ssh-keyscan -H -p ${port} ${address} >> ${file}\``;
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
      message: `host ${s.name} has no pinned host key${s.knownHostsSearched.length ? ` and none of ${s.knownHostsSearched.join(', ')} lists it` : ''}: ${addKnownHostHint(s.address, s.port, s.knownHostsSearched[0])}, or set graft_host_key, graft_known_hosts, or graft_host_key_policy: tofu (or \`graft up --tofu\`) to trust on first use`,
    }));
}
