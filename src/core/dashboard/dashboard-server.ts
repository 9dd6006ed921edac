/**
 * The dashboard's web server: the page, a live feed of the run over server-sent events, a
 * task's log as a stream, and the two things a human decides (a gate, an answer). It runs in the
 * controller's process while `graft run`/`graft resume` drive a run, or alone in `graft
 * dashboard`; either way it reads and writes only the state store (and the hosts, for live logs),
 * so both show the same thing. Security: dashboard-auth.ts; page rules: a strict CSP, no
 * third-party anything, no caching.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { join } from 'node:path';
import { z } from 'zod';
import { ExitCode, GraftError } from '../errors.js';
import { assetPath } from '../package-assets.js';
import { sessionFiles, type GraftRuntime } from '../runtime.js';
import { RunStore } from '../state/run-store.js';
import { answerQuestion, recordApproval } from '../controller/human-decisions.js';
import { DashboardAuth } from './dashboard-auth.js';
import type { UsageSource } from './dashboard-view.js';
import { SessionFeed, type FeedChange } from './session-feed.js';
import { streamTaskLog } from './task-log-stream.js';

export interface DashboardOptions {
  sessionId: string;
  /** Address and port to listen on; port 0 picks a free one. */
  host: string;
  port: number;
  /** Required for any address but loopback (the caller checks); the page is then served over HTTPS. */
  tls?: { certPem: string; keyPem: string };
  /** Who decisions made on the page are recorded as. */
  approver: string;
  /** False serves the page read-only (a session that has ended). */
  writable: boolean;
  usage?: UsageSource;
  pollMs?: number;
}

export interface DashboardServer {
  /** `http://127.0.0.1:PORT`, without a token. */
  origin: string;
  /** A one-time URL that signs a browser in. */
  signInUrl(): string;
  close(): Promise<void>;
}

const bodyLimit = 64 * 1024;
const approvalBody = z.strictObject({ decision: z.enum(['approve', 'reject']), reason: z.string().max(2000).optional() });
const answerBody = z.strictObject({ text: z.string().min(1).max(16_384) });
const securityHeaders = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

/** Where a session's live dashboard says it is, for `graft dashboard` in another process. */
export function dashboardDir(runtime: GraftRuntime, sessionId: string): string {
  return sessionFiles(runtime, sessionId).dashboardDir;
}

export async function startDashboard(runtime: GraftRuntime, options: DashboardOptions): Promise<DashboardServer> {
  const assets = loadAssets();
  const feed = new SessionFeed({ database: runtime.database, sessionId: options.sessionId, pollMs: options.pollMs, usage: options.usage }).start();
  const runs = new RunStore(runtime.store);
  const streams = new Set<ServerResponse>();
  const aborts = new Set<AbortController>();
  // Known once the server listens (the origin names its port); no request arrives before.
  const signIn: { auth?: DashboardAuth } = {};

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const auth = signIn.auth!;
    const url = new URL(req.url ?? '/', 'http://dashboard');
    const route = `${req.method} ${url.pathname}`;
    if (!auth.hostAllowed(req.headers.host)) return send(res, 403, 'text/plain', 'this server does not answer to that host name');
    if (route === 'GET /' && url.searchParams.has('token')) {
      const cookie = auth.exchange(url.searchParams.get('token')!);
      if (!cookie) return send(res, 401, 'text/plain', 'this sign-in link was used already or is not valid: run graft dashboard for a new one');
      res.writeHead(303, { ...securityHeaders, location: '/', 'set-cookie': auth.setCookieHeader(cookie) });
      return void res.end();
    }
    if (req.method === 'GET' && url.pathname.startsWith('/assets/')) {
      const asset = assets.get(url.pathname.slice('/assets/'.length));
      return asset ? send(res, 200, asset.type, asset.body) : send(res, 404, 'text/plain', 'no such file');
    }
    const changesState = req.method !== 'GET' && req.method !== 'HEAD';
    const refusal = auth.refuse({ host: req.headers.host, cookie: req.headers.cookie, origin: req.headers.origin }, changesState);
    if (refusal) return sendJson(res, refusal.status, { error: refusal.reason });
    if (route === 'GET /') return send(res, 200, 'text/html; charset=utf-8', assets.get('index.html')!.body);
    if (route === 'GET /api/events') return events(res);
    const log = /^\/api\/tasks\/([A-Za-z0-9._-]{1,64})\/log$/.exec(url.pathname);
    if (req.method === 'GET' && log) return taskLog(req, res, log[1]!);
    const approval = /^\/api\/tasks\/([A-Za-z0-9._-]{1,64})\/approval$/.exec(url.pathname);
    const answer = /^\/api\/questions\/(\d{1,12})\/answer$/.exec(url.pathname);
    if (req.method === 'POST' && (approval || answer)) {
      if (!options.writable) return sendJson(res, 409, { error: 'this session has ended: its dashboard is read-only' });
      const body = await readJson(req);
      const run = runs.getRun(options.sessionId)!;
      if (approval) {
        const input = approvalBody.parse(body);
        const result = recordApproval(runtime, run, runs, {
          task: approval[1]!,
          reject: input.decision === 'reject',
          reason: input.reason,
          by: options.approver,
          via: 'dashboard',
        });
        feed.poll();
        return sendJson(res, 200, { approval: result.approval });
      }
      const input = answerBody.parse(body);
      const message = answerQuestion(runtime, options.sessionId, { questionId: Number(answer![1]), who: options.approver, body: input.text, via: 'dashboard' });
      feed.poll();
      return sendJson(res, 200, { answer: message });
    }
    return sendJson(res, 404, { error: 'no such route' });
  };

  const events = (res: ServerResponse) => {
    openStream(res);
    sse(res, 'snapshot', feed.snapshot(options.writable));
    const unsubscribe = feed.subscribe((change: FeedChange) => {
      if (change.kind === 'tasks') sse(res, 'tasks', change.tasks);
      else if (change.kind === 'run') sse(res, 'run', change.run);
      else if (change.kind === 'inbox') sse(res, 'inbox', change.inbox);
      else sse(res, 'cost', change.cost);
    });
    res.on('close', unsubscribe);
  };

  const taskLog = async (req: IncomingMessage, res: ServerResponse, task: string) => {
    if (!feed.task(task)) return sendJson(res, 404, { error: `no task ${task}` });
    openStream(res);
    const abort = new AbortController();
    aborts.add(abort);
    res.on('close', () => abort.abort());
    try {
      await streamTaskLog(
        runtime,
        options.sessionId,
        task,
        { source: (source, attempt) => sse(res, 'source', { source, attempt }), text: (text) => sse(res, 'text', { text }) },
        abort.signal,
      );
      sse(res, 'end', {});
    } catch (error) {
      sse(res, 'failed', { error: (error as Error).message });
    } finally {
      aborts.delete(abort);
      res.end();
    }
  };

  const openStream = (res: ServerResponse) => {
    res.writeHead(200, { ...securityHeaders, 'content-type': 'text/event-stream; charset=utf-8', connection: 'keep-alive' });
    res.flushHeaders();
    streams.add(res);
    res.on('close', () => streams.delete(res));
  };

  const listener = (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch((error: Error) => {
      if (res.headersSent) return void res.end();
      const status = error instanceof z.ZodError ? 400 : error instanceof GraftError ? (error.exitCode === ExitCode.notFound ? 404 : 409) : 500;
      if (status === 500) runtime.events.emit({ code: 'warning', level: 'warn', message: `dashboard: ${error.message}`, session: options.sessionId });
      sendJson(res, status, { error: error instanceof z.ZodError ? error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') : error.message });
    });
  };
  const server: Server = options.tls ? createHttpsServer({ cert: options.tls.certPem, key: options.tls.keyPem }, listener) : createHttpServer(listener);
  // Server-sent events stay open for as long as a page does; a heartbeat keeps proxies and sockets honest.
  const heartbeat = setInterval(() => streams.forEach((s) => s.write(': keep-alive\n\n')), 15_000);
  heartbeat.unref();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  const hostPart = options.host.includes(':') ? `[${options.host}]` : options.host;
  const origin = `${options.tls ? 'https' : 'http'}://${hostPart}:${port}`;
  const dir = dashboardDir(runtime, options.sessionId);
  const auth = (signIn.auth = new DashboardAuth(origin, join(dir, 'tokens')));
  const registry = join(dir, 'server.json');
  writeFileSync(registry, JSON.stringify({ origin, pid: process.pid }), { mode: 0o600 });
  runtime.events.emit({ code: 'dashboard.started', level: 'info', message: `dashboard at ${origin}/`, session: options.sessionId, data: { origin } });
  return {
    origin,
    signInUrl: () => `${origin}/?token=${auth.issueToken()}`,
    async close() {
      clearInterval(heartbeat);
      aborts.forEach((a) => a.abort());
      streams.forEach((s) => s.end());
      feed.close();
      rmSync(registry, { force: true });
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function sse(res: ServerResponse, event: string, data: unknown): void {
  res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}

function send(res: ServerResponse, status: number, type: string, body: string | Buffer): void {
  res.writeHead(status, { ...securityHeaders, 'content-type': type });
  res.end(body);
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  send(res, status, 'application/json', JSON.stringify(body));
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  if (!(req.headers['content-type'] ?? '').startsWith('application/json'))
    throw new z.ZodError([{ code: 'custom', path: [], message: 'send JSON (content-type: application/json)', input: undefined }]);
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > bodyLimit) throw new z.ZodError([{ code: 'custom', path: [], message: `the body is over ${bodyLimit} bytes`, input: undefined }]);
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new z.ZodError([{ code: 'custom', path: [], message: 'the body is not JSON', input: undefined }]);
  }
}

/** The page's files, built by scripts/bundle-dashboard.js into dist/dashboard/. */
function loadAssets(): Map<string, { type: string; body: Buffer }> {
  const dir = assetPath('dist', 'dashboard');
  const types: Record<string, string> = {
    'index.html': 'text/html; charset=utf-8',
    'app.js': 'text/javascript; charset=utf-8',
    'app.css': 'text/css; charset=utf-8',
  };
  try {
    return new Map(Object.entries(types).map(([name, type]) => [name, { type, body: readFileSync(join(dir, name)) }]));
  } catch (error) {
    throw new GraftError(`the dashboard's page is not built (${(error as Error).message})`, {
      code: 'DASHBOARD_NOT_BUILT',
      actions: ['Build graft: npm run build'],
    });
  }
}
