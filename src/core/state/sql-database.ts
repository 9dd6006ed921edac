/**
 * The one SQL surface the stores use, so the same queries run on the embedded SQLite file and on
 * a team's PostgreSQL. Queries are written once, with `?` placeholders and in the SQL both
 * engines accept (`ON CONFLICT … DO UPDATE`, `ORDER BY rowid` on tables whose PostgreSQL schema
 * gives them a `rowid` column). Every call is synchronous: the stores' compare-and-set
 * transactions are plain functions, as they were on SQLite alone (docs/team-mode.md says what
 * that costs on a remote database).
 */
export type SqlValue = string | number | bigint | null;

export type SqlDialect = 'sqlite' | 'postgres';

export interface QueryOptions {
  /** Integers come back as bigint (sums of pico-dollars pass 2^53). */
  bigints?: boolean;
}

export interface SqlDatabase {
  readonly dialect: SqlDialect;
  /** Where the data is, for messages: a file path, or the URL without its password. */
  readonly location: string;
  /** Runs a statement; returns how many rows it changed. */
  run(sql: string, params?: SqlValue[]): number;
  /** Runs an INSERT into a table with an `id` column; returns the new row's id. */
  insert(sql: string, params?: SqlValue[]): number;
  get<T>(sql: string, params?: SqlValue[], options?: QueryOptions): T | undefined;
  all<T>(sql: string, params?: SqlValue[], options?: QueryOptions): T[];
  /**
   * Runs `body` as one transaction that holds the database's write lock from its first
   * statement, so a read-then-write inside it sees no other writer in between. Nested calls
   * become savepoints.
   */
  transaction<T>(body: () => T): T;
  /** A value that moves whenever any connection commits a change (cheap: the dashboard polls it). */
  changeMark(): string;
  close(): void;
}
