import { BugError } from '../errors.js';

/**
 * The authorized_keys line of an agent's per-run key. `restrict` turns off forwarding, pty,
 * X11 and user rc; `pty` is added back only for agents meant for `graft ssh`. `from=` pins the
 * source address to the controller as the host sees it; `expiry-time=` makes sshd itself refuse
 * the key after the session ends, even if graft never comes back to revoke it.
 */
export interface AgentKeyOptions {
  publicKey: string;
  from: string;
  expiresAt: Date;
  interactive: boolean;
}

/** An IPv4 or IPv6 address as sshd's from= takes it: nothing that could close the quoted option. */
export function isIpAddress(text: string): boolean {
  return /^[0-9A-Fa-f:.]+$/.test(text);
}

export function authorizedKeyLine(options: AgentKeyOptions): string {
  if (!isIpAddress(options.from)) throw new BugError(`not an IP address: ${options.from}`);
  const [type, blob] = options.publicKey.trim().split(/\s+/);
  const opts = ['restrict', `from="${options.from}"`, `expiry-time="${expiryTimespec(options.expiresAt)}"`];
  if (options.interactive) opts.push('pty');
  return `${opts.join(',')} ${type} ${blob}`;
}

/** OpenSSH's `YYYYMMDDHHMMSSZ` timespec, in UTC. */
export function expiryTimespec(at: Date): string {
  return at.toISOString().replace(/[-:T]/g, '').slice(0, 14) + 'Z';
}
