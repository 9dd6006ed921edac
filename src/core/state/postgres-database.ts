import { createRequire } from 'node:module';
import { StateError } from '../errors.js';
import type { QueryOptions, SqlDatabase, SqlValue } from './sql-database.js';

/** What graft uses of the `libpq` binding (node-libpq: PostgreSQL's own client library, synchronous calls). */
interface Libpq {
  connectSync(params: string): void;
  finish(): void;
  errorMessage(): string;
  exec(text: string): void;
  prepare(name: string, text: string, nParams: number): void;
  execPrepared(name: string, params: (string | null)[]): void;
  resultStatus(): string;
  resultErrorMessage(): string;
  resultErrorFields(): { sqlState?: string } | null;
  ntuples(): number;
  nfields(): number;
  fname(field: number): string;
  ftype(field: number): number;
  getvalue(row: number, field: number): string;
  getisnull(row: number, field: number): boolean;
  cmdTuples(): string;
}

/** The one advisory lock every write transaction takes: writers go one at a time, as on SQLite. */
const writeLock = 0x67726166; // "graf"

/** Type oids whose text graft turns into numbers; everything else stays text. */
const integerTypes = new Set([20, 21, 23, 26]);
const numericType = 1700;

/** A PostgreSQL error, with its SQLSTATE code. */
export class PostgresError extends Error {
  constructor(
    message: string,
    readonly sqlState: string | undefined,
  ) {
    super(message);
    this.name = 'PostgresError';
  }
}

/**
 * The team store (docs/team-mode.md): the same queries as the SQLite file, on a shared
 * PostgreSQL, through libpq's synchronous calls. Every write holds one advisory lock for its
 * transaction, so a read-then-write inside a transaction sees no other writer in between, which
 * is the guarantee the stores were written against on SQLite. Statements are prepared once per
 * connection.
 */
export class PostgresDatabase implements SqlDatabase {
  readonly dialect = 'postgres';
  private readonly statements = new Map<string, string>();
  private depth = 0;

  private constructor(
    private readonly pq: Libpq,
    readonly location: string,
  ) {}

  static open(url: string): PostgresDatabase {
    const location = withoutPassword(url);
    const pq = new (loadLibpq())();
    try {
      pq.connectSync(url);
    } catch (error) {
      const reason = (error as Error).message.trim().replace(/\s+/g, ' ');
      pq.finish();
      throw new StateError(`cannot reach the PostgreSQL state store ${location}: ${reason}`, {
        actions: ['Check GRAFT_DATABASE_URL (or --database): host, port, database, user and password.', 'Unset it to use the SQLite file in GRAFT_HOME.'],
      });
    }
    const db = new PostgresDatabase(pq, location);
    db.command("SET client_min_messages = 'warning'");
    return db;
  }

  /**
   * Applies the migrations this database has not had. `graft_schema` counts them; it is read
   * under the write lock, so two controllers starting on a fresh database do not both apply one.
   */
  migrate(migrations: string[]): void {
    this.transaction(() => {
      this.command('CREATE TABLE IF NOT EXISTS graft_schema (version INTEGER NOT NULL)');
      const version = this.get<{ version: number }>('SELECT version FROM graft_schema')?.version;
      if (version === undefined) this.run('INSERT INTO graft_schema (version) VALUES (0)');
      if ((version ?? 0) > migrations.length) {
        throw new StateError(`the state store ${this.location} was written by a newer graft (schema ${version}, this graft knows ${migrations.length})`, {
          actions: ['Upgrade graft on this machine to the version the team uses.'],
        });
      }
      for (let i = version ?? 0; i < migrations.length; i++) {
        this.command(migrations[i]!);
        this.run('UPDATE graft_schema SET version = ?', [i + 1]);
      }
    });
  }

  run(sql: string, params: SqlValue[] = []): number {
    return this.writing(() => {
      this.execute(sql, params);
      return Number(this.pq.cmdTuples() || 0);
    });
  }

  insert(sql: string, params: SqlValue[] = []): number {
    return this.writing(() => {
      this.execute(`${sql} RETURNING id`, params);
      return Number(this.pq.getvalue(0, 0));
    });
  }

  get<T>(sql: string, params: SqlValue[] = [], options: QueryOptions = {}): T | undefined {
    return this.all<T>(sql, params, options)[0];
  }

  all<T>(sql: string, params: SqlValue[] = [], options: QueryOptions = {}): T[] {
    this.execute(sql, params);
    const fields = Array.from({ length: this.pq.nfields() }, (_, i) => ({ name: this.pq.fname(i), type: this.pq.ftype(i) }));
    const rows: T[] = [];
    for (let r = 0; r < this.pq.ntuples(); r++) {
      const row: Record<string, unknown> = {};
      fields.forEach((field, f) => {
        row[field.name] = this.pq.getisnull(r, f) ? null : parseValue(this.pq.getvalue(r, f), field.type, options.bigints ?? false);
      });
      rows.push(row as T);
    }
    return rows;
  }

  transaction<T>(body: () => T): T {
    const savepoint = `graft_${this.depth}`;
    this.command(this.depth === 0 ? `BEGIN; SELECT pg_advisory_xact_lock(${writeLock})` : `SAVEPOINT ${savepoint}`);
    this.depth++;
    try {
      const result = body();
      this.depth--;
      this.command(this.depth === 0 ? 'COMMIT' : `RELEASE SAVEPOINT ${savepoint}`);
      return result;
    } catch (error) {
      this.depth--;
      this.command(this.depth === 0 ? 'ROLLBACK' : `ROLLBACK TO SAVEPOINT ${savepoint}`);
      throw error;
    }
  }

  changeMark(): string {
    // Moves with every commit to the cluster: a change to this session, or to another one
    // (then the reader finds nothing new, at the cost of one read).
    return this.get<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn')!.lsn;
  }

  close(): void {
    this.pq.finish();
  }

  /** A write outside a transaction takes the write lock too, as a transaction of its own. */
  private writing<T>(body: () => T): T {
    return this.depth > 0 ? body() : this.transaction(body);
  }

  private execute(sql: string, params: SqlValue[]): void {
    let name = this.statements.get(sql);
    if (!name) {
      name = `graft_${this.statements.size}`;
      this.pq.prepare(name, numberPlaceholders(sql), params.length);
      this.check(sql);
      this.statements.set(sql, name);
    }
    this.pq.execPrepared(name, params.map(toText));
    this.check(sql);
  }

  private command(sql: string): void {
    this.pq.exec(sql);
    this.check(sql);
  }

  private check(sql: string): void {
    const status = this.pq.resultStatus();
    if (status === 'PGRES_COMMAND_OK' || status === 'PGRES_TUPLES_OK') return;
    const message = (this.pq.resultErrorMessage() || this.pq.errorMessage()).trim();
    const sqlState = this.pq.resultErrorFields()?.sqlState;
    if (!sqlState) {
      throw new StateError(`lost the PostgreSQL state store ${this.location}: ${message}`, {
        actions: ['Check that the database server is up and reachable, then run the command again (a run continues with: graft resume).'],
      });
    }
    throw new PostgresError(`${message} (in: ${sql.replace(/\s+/g, ' ').slice(0, 200)})`, sqlState);
  }
}

function loadLibpq(): new () => Libpq {
  try {
    return createRequire(import.meta.url)('libpq') as new () => Libpq;
  } catch (error) {
    throw new StateError(`PostgreSQL support is not installed: ${(error as Error).message.split('\n')[0]}`, {
      cause: error,
      actions: [
        "graft talks to PostgreSQL through the optional 'libpq' package, which compiles against libpq's headers.",
        'Install them and rebuild: sudo apt-get install libpq-dev && npm rebuild libpq (or npm install again).',
      ],
    });
  }
}

/** `?` placeholders become `$1`, `$2`, …; a `?` inside a quoted string is left alone. */
export function numberPlaceholders(sql: string): string {
  let n = 0;
  let quoted = false;
  let out = '';
  for (const char of sql) {
    if (char === "'") quoted = !quoted;
    out += char === '?' && !quoted ? `$${++n}` : char;
  }
  return out;
}

function toText(value: SqlValue): string | null {
  return value === null ? null : String(value);
}

function parseValue(text: string, type: number, bigints: boolean): unknown {
  if (integerTypes.has(type) || type === numericType) return bigints ? BigInt(text) : Number(text);
  return text;
}

/** The URL to show in messages and logs: its password never printed. */
export function withoutPassword(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return url.replace(/:[^:@/]*@/, ':***@');
  }
}
