import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { StateError } from '../errors.js';
import type { QueryOptions, SqlDatabase, SqlValue } from './sql-database.js';

/**
 * The embedded store: one SQLite file per graft home, in WAL mode, because the controller and
 * other invocations (`status`, `approve`, `down`) use it at the same time and it must survive a
 * crash at any point. Statements are prepared once per connection.
 */
export class SqliteDatabase implements SqlDatabase {
  readonly dialect = 'sqlite';
  private readonly statements = new Map<string, Database.Statement>();

  private constructor(
    private readonly db: Database.Database,
    readonly location: string,
  ) {}

  static open(file: string): SqliteDatabase {
    try {
      mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
      const db = new Database(file);
      db.pragma('journal_mode = WAL');
      db.pragma('busy_timeout = 10000');
      db.pragma('foreign_keys = ON');
      db.pragma('synchronous = NORMAL');
      return new SqliteDatabase(db, file);
    } catch (error) {
      throw new StateError(`cannot open the state store ${file}: ${(error as Error).message}`, {
        cause: error,
        actions: ['Check that GRAFT_HOME points at a writable directory.'],
      });
    }
  }

  /**
   * Applies the migrations this file has not had. `PRAGMA user_version` counts them; it is read
   * inside the write transaction, so two graft processes opening a fresh home at once do not
   * both apply one.
   */
  migrate(migrations: string[]): void {
    this.db
      .transaction(() => {
        const version = this.db.pragma('user_version', { simple: true }) as number;
        if (version > migrations.length) {
          throw new StateError(`the state store ${this.location} was written by a newer graft (schema ${version}, this graft knows ${migrations.length})`, {
            actions: ['Upgrade graft, or point GRAFT_HOME at another directory.'],
          });
        }
        for (let i = version; i < migrations.length; i++) {
          this.db.exec(migrations[i]!);
          this.db.pragma(`user_version = ${i + 1}`);
        }
      })
      .immediate();
  }

  run(sql: string, params: SqlValue[] = []): number {
    return this.statement(sql).run(...params).changes;
  }

  insert(sql: string, params: SqlValue[] = []): number {
    return Number(this.statement(sql).run(...params).lastInsertRowid);
  }

  get<T>(sql: string, params: SqlValue[] = [], options: QueryOptions = {}): T | undefined {
    return this.statement(sql)
      .safeIntegers(options.bigints ?? false)
      .get(...params) as T | undefined;
  }

  all<T>(sql: string, params: SqlValue[] = [], options: QueryOptions = {}): T[] {
    return this.statement(sql)
      .safeIntegers(options.bigints ?? false)
      .all(...params) as T[];
  }

  transaction<T>(body: () => T): T {
    return this.db.transaction(body).immediate();
  }

  changeMark(): string {
    return String(this.db.pragma('data_version', { simple: true }));
  }

  close(): void {
    this.db.close();
  }

  private statement(sql: string): Database.Statement {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }
}
