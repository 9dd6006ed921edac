/**
 * What the user's OpenSSH setup already says about a host: ~/.ssh/config (read with the
 * `ssh-config` package, OpenSSH's first-obtained-value-wins order over `Host` and `Match host`
 * blocks) and the known_hosts files (the user's and the global ones). Inventory variables win
 * over all of it, as in Ansible; graft only reads these files, never writes them.
 */
import SSHConfig from 'ssh-config';
import { join } from 'node:path';
import { knownHostEntries, knownHostsName } from './known-hosts.js';

/** The settings graft honours from one host's ~/.ssh/config blocks; absent when not set. */
export interface SshConfigHost {
  hostName?: string;
  user?: string;
  port?: string;
  identityFiles: string[];
  identitiesOnly?: boolean;
  proxyJump?: string;
  userKnownHostsFiles?: string[];
  globalKnownHostsFiles?: string[];
}

/** What reading the OpenSSH files needs from the machine. */
export interface OpenSshFileSource {
  /** Throws (with `code: 'ENOENT'` for a missing file) like `readFileSync`. */
  readTextFile(path: string): string;
  homeDir: string;
  /** Default: `~/.ssh/config`. */
  sshConfigFile?: string;
  /** Default: /etc/ssh/ssh_known_hosts and /etc/ssh/ssh_known_hosts2, as OpenSSH. */
  globalKnownHostsFiles?: string[];
}

/** Host keys found for a host, and where graft looked. */
export interface KnownHostLookup {
  keys: string[];
  /** Files read (missing ones included), in order. */
  searched: string[];
  /** `file:line` of `@cert-authority` lines naming the host. */
  certAuthorities: string[];
}

const DEFAULT_GLOBAL_KNOWN_HOSTS = ['/etc/ssh/ssh_known_hosts', '/etc/ssh/ssh_known_hosts2'];

/** Expands `~/` (and `%d`, the home directory) as OpenSSH does in file names. */
export function expandSshPath(path: string, homeDir: string): string {
  const expanded = path.replace(/%d/g, homeDir);
  if (expanded === '~') return homeDir;
  return expanded.startsWith('~/') ? join(homeDir, expanded.slice(2)) : expanded;
}

/** The user's OpenSSH files, each read at most once. */
export class OpenSshFiles {
  private config: SSHConfig | undefined | null = null;
  private readonly texts = new Map<string, string | undefined>();

  constructor(private readonly source: OpenSshFileSource) {}

  /** The ~/.ssh/config file graft reads. */
  get configFile(): string {
    return this.source.sshConfigFile ?? join(this.source.homeDir, '.ssh', 'config');
  }

  /**
   * The config settings for `name` (what would be typed after `ssh`). Throws an Error naming
   * the file when it exists but cannot be parsed.
   */
  configFor(name: string): SshConfigHost {
    if (this.config === null) {
      const text = this.read(this.configFile);
      try {
        this.config = text === undefined ? undefined : SSHConfig.parse(text);
      } catch (error) {
        this.config = undefined;
        throw new Error(`cannot parse ${this.configFile}: ${(error as Error).message}`, { cause: error });
      }
    }
    if (!this.config) return { identityFiles: [] };
    // `Match exec` would run a command from the file: graft never does, so such blocks never match.
    const computed = this.config.compute(name, { ignoreCase: true, matchExec: false }) as Record<string, string | string[] | undefined>;
    const first = (key: string): string | undefined => {
      const value = computed[key];
      return Array.isArray(value) ? value[0] : value;
    };
    const all = (key: string): string[] | undefined => {
      const value = computed[key];
      if (value === undefined) return undefined;
      return (Array.isArray(value) ? value : [value]).flatMap((v) => v.split(/\s+/)).filter(Boolean);
    };
    const home = this.source.homeDir;
    const identitiesOnly = first('identitiesonly');
    return {
      hostName: first('hostname')?.replace(/%h/g, name),
      user: first('user'),
      port: first('port'),
      identityFiles: (all('identityfile') ?? []).filter((f) => f.toLowerCase() !== 'none').map((f) => expandSshPath(f, home)),
      identitiesOnly: identitiesOnly === undefined ? undefined : identitiesOnly.toLowerCase() === 'yes',
      proxyJump: first('proxyjump'),
      userKnownHostsFiles: all('userknownhostsfile')?.map((f) => expandSshPath(f, home)),
      globalKnownHostsFiles: all('globalknownhostsfile')?.map((f) => expandSshPath(f, home)),
    };
  }

  /**
   * The first IdentityFile of the config that exists, as OpenSSH skips missing ones; under
   * IdentitiesOnly without one, OpenSSH's default identities (~/.ssh/id_ed25519, id_ecdsa, id_rsa).
   */
  identityFile(config: SshConfigHost): string | undefined {
    const defaults = config.identitiesOnly ? ['id_ed25519', 'id_ecdsa', 'id_rsa'].map((f) => join(this.source.homeDir, '.ssh', f)) : [];
    return [...config.identityFiles, ...defaults].find((file) => this.read(file) !== undefined);
  }

  /**
   * Keys for `address:port` (or the inventory name) in the known_hosts files OpenSSH would read:
   * the user's (UserKnownHostsFile, default ~/.ssh/known_hosts and known_hosts2), then the global
   * ones. A key `@revoked` in any of them is never returned.
   */
  knownHostKeys(hostNames: string[], port: number, config: SshConfigHost): KnownHostLookup {
    const home = this.source.homeDir;
    const files = [
      ...(config.userKnownHostsFiles ?? [join(home, '.ssh', 'known_hosts'), join(home, '.ssh', 'known_hosts2')]),
      ...(config.globalKnownHostsFiles ?? this.source.globalKnownHostsFiles ?? DEFAULT_GLOBAL_KNOWN_HOSTS),
    ].filter((f) => f.toLowerCase() !== 'none');
    const names = [...new Set(hostNames)].map((n) => knownHostsName(n, port));
    const keys: string[] = [];
    const revoked = new Set<string>();
    const certAuthorities: string[] = [];
    for (const file of files) {
      const text = this.read(file);
      if (text === undefined) continue;
      const found = knownHostEntries(text, names);
      for (const key of found.revoked) revoked.add(key);
      for (const key of found.keys) if (!keys.includes(key)) keys.push(key);
      certAuthorities.push(...found.certAuthorityLines.map((line) => `${file}:${line}`));
    }
    return { keys: keys.filter((k) => !revoked.has(k)), searched: files, certAuthorities };
  }

  /** The file's text, or undefined when it does not exist (or cannot be read: OpenSSH skips such files too). */
  private read(file: string): string | undefined {
    if (!this.texts.has(file)) {
      let text: string | undefined;
      try {
        text = this.source.readTextFile(file);
      } catch {
        text = undefined;
      }
      this.texts.set(file, text);
    }
    return this.texts.get(file);
  }
}
