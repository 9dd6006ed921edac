/**
 * Starting a session's dashboard where the user asked (`--listen`), and finding one that another
 * process already serves. Loopback is plain HTTP; any other address is served over HTTPS with a
 * certificate the session's CA issues for it, since the page carries the session's state and its
 * sign-in cookie (the browser has to trust the session CA: its file is printed).
 */
import { existsSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { authorityDir, ensureSessionAuthority } from '../agents/session-identity.js';
import { UsageError } from '../errors.js';
import { gatewayUsage } from './dashboard-usage.js';
import { issueServerCertificate } from '../identity/index.js';
import { sessionFiles, type GraftRuntime } from '../runtime.js';
import { graftCommandAlive } from '../graft-process.js';
import type { SessionRow } from '../state/store.js';
import { dropToken } from './dashboard-auth.js';
import { dashboardDir, startDashboard, type DashboardServer } from './dashboard-server.js';

export interface ServeRequest {
  /** `127.0.0.1` (default), `127.0.0.1:8080`, `10.0.0.5:8443`, `[::1]:0`. */
  listen?: string;
  approver: string;
  writable: boolean;
}

export interface ServedDashboard extends DashboardServer {
  /** The session CA's certificate, for a browser to trust when served over HTTPS. */
  caFile?: string;
}

export function parseListen(listen: string | undefined): { host: string; port: number } {
  if (!listen) return { host: '127.0.0.1', port: 0 };
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([0-9.]+|[0-9a-fA-F:]*:[0-9a-fA-F:]*))(?::(\d{1,5}))?$/.exec(listen);
  const host = match?.[1] ?? match?.[2];
  const port = Number(match?.[3] ?? 0);
  if (!host || isIP(host) === 0 || port > 65535)
    throw new UsageError(`invalid --listen ${JSON.stringify(listen)}: give an IP address and optionally a port, e.g. 127.0.0.1:8080 or 10.0.0.5:8443`);
  if (host === '0.0.0.0' || host === '::')
    throw new UsageError(`--listen ${listen} would serve every address: name the one browsers reach (its TLS certificate names it)`);
  return { host, port };
}

const isLoopback = (host: string) => host === '::1' || host.startsWith('127.');

export async function serveDashboard(runtime: GraftRuntime, session: SessionRow, request: ServeRequest): Promise<ServedDashboard> {
  const { host, port } = parseListen(request.listen);
  let tls: { certPem: string; keyPem: string } | undefined;
  let caFile: string | undefined;
  if (!isLoopback(host)) {
    const dir = sessionFiles(runtime, session.id).dir;
    const authority = await ensureSessionAuthority(session, dir);
    const cert = await issueServerCertificate(authority, { ipAddress: host });
    tls = { certPem: cert.certPem, keyPem: cert.keyPem };
    caFile = join(authorityDir(dir), 'ca.cert.pem');
  }
  const server = await startDashboard(runtime, {
    sessionId: session.id,
    host,
    port,
    tls,
    approver: request.approver,
    writable: request.writable,
    usage: gatewayUsage(runtime.store),
  });
  return { ...server, ...(caFile ? { caFile } : {}) };
}

/** A sign-in URL for the dashboard another live graft process serves for the session, if one does. */
export function liveDashboardUrl(runtime: GraftRuntime, sessionId: string): string | undefined {
  const dir = dashboardDir(runtime, sessionId);
  const file = join(dir, 'server.json');
  if (!existsSync(file)) return undefined;
  const { origin, pid } = JSON.parse(readFileSync(file, 'utf8')) as { origin: string; pid: number };
  // After a crash the pid may be someone else's: it must still be a graft that serves dashboards.
  if (!graftCommandAlive(pid, ['run', 'resume', 'dashboard'])) return undefined;
  return `${origin}/?token=${dropToken(join(dir, 'tokens'))}`;
}
