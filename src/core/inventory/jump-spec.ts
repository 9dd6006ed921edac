/**
 * Where a host's jump hosts are written: `graft_jump`, `ProxyJump` inside Ansible's
 * `ansible_ssh_common_args` / `ansible_ssh_extra_args`, or ~/.ssh/config. All three use
 * OpenSSH's ProxyJump syntax: `[user@]host[:port]` (or `ssh://[user@]host[:port]`), hops
 * separated by commas, first hop first; `none` means no jump.
 */
import { ShlexError, shlexSplit } from './python-literal.js';

/** One hop as written. */
export interface JumpHop {
  user?: string;
  host: string;
  port?: number;
}

/** The hops of a ProxyJump value (empty for `none`), or why it cannot be read. */
export function parseProxyJump(value: string): JumpHop[] | { error: string } {
  const text = value.trim();
  if (text.toLowerCase() === 'none') return [];
  const hops: JumpHop[] = [];
  for (const part of text.split(',')) {
    const hop = /^(?:ssh:\/\/)?(?:([^@\s/:]+)@)?(\[[^\]\s]+\]|[^@\s/:[\]]+)(?::(\d{1,5}))?\/?$/.exec(part.trim());
    const port = hop?.[3] === undefined ? undefined : Number(hop[3]);
    if (!hop || (port !== undefined && (port < 1 || port > 65535))) {
      return {
        error: `cannot read jump host ${JSON.stringify(part.trim())} in ${JSON.stringify(text)}: expected [user@]host[:port], hops separated by commas`,
      };
    }
    hops.push({ user: hop[1], host: hop[2]!.replace(/^\[(.*)\]$/, '$1'), port });
  }
  return hops;
}

/**
 * The ProxyJump value in ssh command-line options (`-J HOPS`, `-o ProxyJump=HOPS`,
 * `-oProxyJump HOPS`), undefined when there is none. A ProxyCommand is refused: graft does not
 * run commands to reach hosts, it opens the tunnel itself.
 */
export function proxyJumpFromSshArgs(args: string): { jump?: string } | { error: string } {
  let tokens: string[];
  try {
    tokens = shlexSplit(args);
  } catch (error) {
    if (!(error instanceof ShlexError)) throw error;
    return { error: `cannot split ${JSON.stringify(args)}: ${error.message}` };
  }
  let jump: string | undefined;
  for (let i = 0; i < tokens.length; i += 1) {
    const token = tokens[i]!;
    if (token === '-J' || token.startsWith('-J')) {
      jump = token === '-J' ? tokens[++i] : token.slice(2);
      continue;
    }
    if (token !== '-o' && !token.startsWith('-o')) continue;
    const option = token === '-o' ? (tokens[++i] ?? '') : token.slice(2);
    const [, name = '', optionValue = ''] = /^\s*(\w+)\s*(?:=|\s)\s*(.*)$/.exec(option) ?? [];
    if (name.toLowerCase() === 'proxyjump') jump = optionValue;
    if (name.toLowerCase() === 'proxycommand' && optionValue.trim().toLowerCase() !== 'none') {
      return {
        error:
          'ProxyCommand is not supported: graft opens the tunnel through a jump host itself; write the jump host as -o ProxyJump=[user@]host[:port] or graft_jump',
      };
    }
  }
  if (jump !== undefined && jump.trim() === '') return { error: `ProxyJump without a value in ${JSON.stringify(args)}` };
  return { jump };
}
