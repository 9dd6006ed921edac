import { mkdirSync } from 'node:fs';
import { parseDuration } from './duration.js';
import { StateError, UsageError } from './errors.js';
import { EventBus } from './events.js';
import { graftHome, homeLayout } from './home.js';
import { AuditLog } from './log/audit-log.js';
import { operatorName } from './team/operator.js';
import { SessionVault } from './team/session-vault.js';
import { SshPool } from './ssh/index.js';
import { Redactor } from './secrets/redactor.js';
import { isDatabaseUrl, StateStore } from './state/store.js';
import { withoutPassword } from './state/postgres-database.js';
import { sessionLayout, type SessionLayout } from './session-layout.js';

/** Everything a core service needs, opened once per CLI invocation (or test). */
export interface GraftRuntime {
  layout: ReturnType<typeof homeLayout>;
  /** Where the state store is: GRAFT_DATABASE_URL (team mode, PostgreSQL), or the home's SQLite file. */
  database: string;
  /** Who runs this process (GRAFT_OPERATOR, else user@host): sessions' owners, roles and the audit log name it. */
  operator: string;
  /** Team mode only: sessions' key files, sealed in the shared store (session-vault.ts). */
  vault?: SessionVault;
  store: StateStore;
  events: EventBus;
  pool: SshPool;
  env: NodeJS.ProcessEnv;
  /** Sessions whose audit log already listens, so it is attached once. */
  auditedSessions: Set<string>;
  /** Secret values this process learned; every log, audit entry and JSON result passes through it. */
  redactor: Redactor;
}

export interface RuntimeOptions {
  env?: NodeJS.ProcessEnv;
  events?: EventBus;
  connectTimeoutMs?: number;
}

export function openRuntime(options: RuntimeOptions = {}): GraftRuntime {
  const env = options.env ?? process.env;
  const layout = homeLayout(graftHome(env));
  try {
    mkdirSync(layout.sessionsDir, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw new StateError(`cannot use ${layout.home} as the graft home: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, {
      cause: error,
      actions: ['Point GRAFT_HOME at a directory you can write, or unset it to use ~/.graft.'],
    });
  }
  const database = databaseTarget(env, layout.database);
  const operator = operatorName(env);
  const store = StateStore.open(database, { operator });
  return {
    layout,
    database,
    operator,
    ...(store.database.dialect === 'postgres' ? { vault: new SessionVault(store, env, layout.sessionDir) } : {}),
    store,
    events: options.events ?? new EventBus(),
    pool: new SshPool({
      connectTimeoutMs: options.connectTimeoutMs ?? durationFromEnv(env, 'GRAFT_CONNECT_TIMEOUT'),
      // A host cut off from the network is noticed after three unanswered keepalives.
      keepaliveIntervalMs: durationFromEnv(env, 'GRAFT_KEEPALIVE'),
    }),
    env,
    auditedSessions: new Set(),
    redactor: new Redactor(),
  };
}

/** GRAFT_DATABASE_URL when set (it must name PostgreSQL), else the home's SQLite file. */
export function databaseTarget(env: NodeJS.ProcessEnv, homeFile: string): string {
  const url = env.GRAFT_DATABASE_URL?.trim();
  if (!url) return homeFile;
  if (!isDatabaseUrl(url)) {
    throw new UsageError(`GRAFT_DATABASE_URL (or --database) is ${JSON.stringify(withoutPassword(url))}: graft keeps shared state only in PostgreSQL`, [
      'Give a URL such as postgres://graft:PASSWORD@db.example.com:5432/graft, or unset it to use the SQLite file in GRAFT_HOME.',
    ]);
  }
  return url;
}

function durationFromEnv(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const value = env[name];
  return value ? parseDuration(name, value) : undefined;
}

export async function closeRuntime(runtime: GraftRuntime): Promise<void> {
  await runtime.pool.closeAll();
  runtime.store.close();
}

/** Files of a session in the graft home (session-layout.ts). */
export function sessionFiles(runtime: GraftRuntime, sessionId: string): SessionLayout {
  return sessionLayout(runtime.layout.sessionDir(sessionId));
}

/** Starts the session's audit log (once per runtime): it hears every event of the session. */
export function attachAuditLog(runtime: GraftRuntime, sessionId: string): void {
  if (runtime.auditedSessions.has(sessionId)) return;
  runtime.auditedSessions.add(sessionId);
  const audit = new AuditLog(sessionFiles(runtime, sessionId).audit);
  runtime.events.on((event) => {
    if (event.session === sessionId) audit.record(runtime.redactor.redactDeep(event), runtime.operator);
  });
}
