/**
 * Who may use a dashboard. The URL printed at start carries a one-time token; opening it trades
 * the token for a random cookie (HttpOnly, so the page's scripts never see it; SameSite=Strict,
 * so other sites' pages cannot send it), and the token is spent. Every request must name this
 * server in its Host header (a page on another name that resolves here — DNS rebinding — gets
 * nothing) and carry the cookie; every state-changing one must also come from this origin.
 *
 * Other graft processes of the same user (`graft dashboard` while the controller serves) add
 * tokens by dropping a file named after the token's SHA-256 into `tokenDir`; a token is spent
 * when used, whichever way it came.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const cookieName = 'graft_dashboard';
/** How long an unused token stays good. */
const tokenLifeMs = 60 * 60 * 1000;

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

export type Refusal = { status: 401 | 403; reason: string };

export class DashboardAuth {
  private readonly tokens = new Map<string, number>();
  private readonly cookies = new Set<string>();

  /**
   * @param origin this server's origin, e.g. `http://127.0.0.1:4312`
   * @param tokenDir where other processes drop tokens (created 0700)
   */
  constructor(
    readonly origin: string,
    private readonly tokenDir: string,
  ) {
    mkdirSync(tokenDir, { recursive: true, mode: 0o700 });
  }

  /** A new one-time token for this server. */
  issueToken(): string {
    const token = randomBytes(24).toString('base64url');
    this.tokens.set(sha256(token), Date.now() + tokenLifeMs);
    return token;
  }

  /** Spends a token; returns the cookie value it buys, or undefined for an unknown, used or expired one. */
  exchange(token: string): string | undefined {
    if (!/^[A-Za-z0-9_-]{16,64}$/.test(token)) return undefined;
    const hash = sha256(token);
    const expires = this.tokens.get(hash) ?? dropped(this.tokenDir, hash);
    this.tokens.delete(hash);
    rmSync(join(this.tokenDir, hash), { force: true });
    if (expires === undefined || expires < Date.now()) return undefined;
    const cookie = randomBytes(32).toString('base64url');
    this.cookies.add(cookie);
    return cookie;
  }

  setCookieHeader(cookie: string): string {
    return `${cookieName}=${cookie}; HttpOnly; SameSite=Strict; Path=/${this.origin.startsWith('https:') ? '; Secure' : ''}`;
  }

  /** Why a request may not go on, or undefined when it may. */
  refuse(headers: { host?: string; cookie?: string; origin?: string }, changesState: boolean): Refusal | undefined {
    if (headers.host !== new URL(this.origin).host) return { status: 403, reason: 'this server does not answer to that host name' };
    if (!this.hasCookie(headers.cookie)) return { status: 401, reason: 'not signed in: open the URL graft printed (graft dashboard prints a new one)' };
    if (changesState && headers.origin !== this.origin) return { status: 403, reason: 'refused: the request did not come from this dashboard' };
    return undefined;
  }

  hostAllowed(host: string | undefined): boolean {
    return host === new URL(this.origin).host;
  }

  private hasCookie(header: string | undefined): boolean {
    for (const part of (header ?? '').split(';')) {
      const [name, value] = part.trim().split('=', 2);
      if (name !== cookieName || !value) continue;
      for (const known of this.cookies) {
        if (known.length === value.length && timingSafeEqual(Buffer.from(known), Buffer.from(value))) return true;
      }
    }
    return false;
  }
}

/** Drops a token for the dashboard whose token directory is `tokenDir` (another process serves it). */
export function dropToken(tokenDir: string): string {
  mkdirSync(tokenDir, { recursive: true, mode: 0o700 });
  const token = randomBytes(24).toString('base64url');
  writeFileSync(join(tokenDir, sha256(token)), '', { mode: 0o600 });
  return token;
}

function dropped(dir: string, hash: string): number | undefined {
  const file = join(dir, hash);
  return existsSync(file) ? statSync(file).mtimeMs + tokenLifeMs : undefined;
}
