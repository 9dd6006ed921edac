/**
 * Turns a written ProxyJump into the chain of jump hosts graft tunnels through. A hop named
 * like an inventory host is that host (its address, login, key and pinned host keys, and its
 * own jump when it is the first hop); any other hop is read as OpenSSH would: ~/.ssh/config for
 * its HostName, User, Port, IdentityFile and ProxyJump, the known_hosts files for its keys.
 * Every hop must have a pinned key: graft never trusts a bastion on first use.
 */
import type { JumpHost } from '../model/host.js';
import { parseProxyJump, type JumpHop } from './jump-spec.js';
import { addKnownHostHint } from './known-hosts.js';
import type { OpenSshFiles } from './openssh-files.js';

/** What a jump hop needs of an inventory host's spec. */
interface InventoryHostLogin {
  name: string;
  address: string;
  port: number;
  user: string;
  identityFile?: string;
  hostKeys: string[];
  jump?: JumpHost;
}

/** Chains longer than this are refused, as are loops (a host that is its own jump). */
const MAX_HOPS = 8;

/** A jump as written for an inventory host, and where (for problems). */
export interface WrittenJump {
  text: string;
  where: string;
}

export class JumpResolver {
  private readonly byName: Map<string, InventoryHostLogin>;
  /** Inventory hosts whose own jump is being resolved: meeting one again is a loop. */
  private readonly resolving = new Set<string>();
  /** Inventory hosts whose jump is resolved (set on the host itself). */
  private readonly done = new Set<string>();

  constructor(
    hosts: InventoryHostLogin[],
    private readonly written: Map<string, WrittenJump>,
    private readonly openssh: OpenSshFiles,
    private readonly env: { currentUser: string },
    private readonly report: (where: string, message: string) => void,
  ) {
    this.byName = new Map(hosts.map((h) => [h.name, h]));
  }

  /** Sets `jump` on every inventory host that has one written, each resolved once. */
  resolveAll(): void {
    for (const host of this.byName.values()) this.resolveHost(host, 0);
  }

  private resolveHost(host: InventoryHostLogin, depth: number): void {
    const written = this.written.get(host.name);
    if (!written || this.done.has(host.name)) return;
    this.done.add(host.name);
    const jump = this.resolve(host, written.text, written.where, depth);
    if (jump) host.jump = jump;
  }

  /**
   * The jump chain of `host`, written `text` at `where`: the last hop, whose `jump` is the one
   * before it. Undefined (with the problem reported) when it cannot be used, or for `none`.
   */
  private resolve(host: InventoryHostLogin, text: string, where: string, depth: number): JumpHost | undefined {
    const hops = parseProxyJump(text);
    if ('error' in hops) {
      this.report(where, hops.error);
      return undefined;
    }
    if (depth + hops.length > MAX_HOPS) {
      this.report(where, `the jump chain of ${host.name} is longer than ${MAX_HOPS} hops (or loops): ${text}`);
      return undefined;
    }
    this.resolving.add(host.name);
    try {
      let previous: JumpHost | undefined;
      for (const [index, hop] of hops.entries()) {
        const jump = this.hop(host, hop, where, index === 0, depth + index);
        if (!jump) return undefined;
        if (index > 0) jump.jump = previous;
        previous = jump;
      }
      return previous;
    } finally {
      this.resolving.delete(host.name);
    }
  }

  private hop(target: InventoryHostLogin, hop: JumpHop, where: string, first: boolean, depth: number): JumpHost | undefined {
    const known = this.byName.get(hop.host);
    if (known) {
      if (this.resolving.has(known.name)) {
        this.report(where, `jump host ${known.name} leads back to itself through ${target.name}: jump hosts may not loop`);
        return undefined;
      }
      if (known.hostKeys.length === 0) {
        this.report(
          where,
          `jump host ${known.name} has no pinned host key; graft never trusts a jump host on first use: pin it with graft_host_key or graft_known_hosts`,
        );
        return undefined;
      }
      if (first) this.resolveHost(known, depth + 1);
      const own = first && known.jump ? { jump: known.jump } : {};
      return {
        name: known.name,
        address: known.address,
        port: hop.port ?? known.port,
        user: hop.user ?? known.user,
        hostKeys: known.hostKeys,
        identityFile: known.identityFile,
        ...own,
      };
    }
    let config;
    try {
      config = this.openssh.configFor(hop.host);
    } catch (error) {
      this.report(where, (error as Error).message);
      return undefined;
    }
    const address = config.hostName ?? hop.host;
    const port = hop.port ?? (config.port === undefined ? 22 : Number(config.port));
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      this.report(where, `jump host ${hop.host}: ${this.openssh.configFile} gives it Port ${JSON.stringify(config.port)}, not a port number`);
      return undefined;
    }
    const found = this.openssh.knownHostKeys([address, hop.host], port, config);
    if (found.keys.length === 0) {
      this.report(
        where,
        `jump host ${hop.host} (${address}:${port}) has no known host key in ${found.searched.join(', ')}: ${addKnownHostHint(address, port, found.searched[0])}, or list it in the inventory with graft_host_key`,
      );
      return undefined;
    }
    const jump: JumpHost = {
      name: hop.host,
      address,
      port,
      user: hop.user ?? config.user ?? this.env.currentUser,
      hostKeys: found.keys,
      // OpenSSH would offer the jump its default identities; graft offers the target's key when the config names none.
      identityFile: this.openssh.identityFile(config) ?? target.identityFile,
    };
    if (first && config.proxyJump) {
      const before = this.resolve({ ...jump, hostKeys: found.keys }, config.proxyJump, `${this.openssh.configFile}: Host ${hop.host}: ProxyJump`, depth + 1);
      if (!before && config.proxyJump.trim().toLowerCase() !== 'none') return undefined;
      if (before) jump.jump = before;
    }
    return jump;
  }
}
