/**
 * A throwaway PostgreSQL cluster for tests and benchmarks: Debian's real server, made with
 * `initdb` in a temporary directory and started with `pg_ctl` on a private loopback port (and a
 * socket in that directory), stopped and deleted by `stop()`. As root it runs as the `postgres`
 * account (the server refuses root). Each test gets a fresh database of its own.
 */
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';

const installHint = 'Install PostgreSQL with: sudo apt-get install postgresql libpq-dev (scripts/install-system-packages.sh does it), then npm rebuild libpq.';

export interface ClusterOptions {
  /** Durable commits (fsync on), as a production server: the benchmark's setting. Tests run without. */
  durable?: boolean;
}

export class PostgresCluster {
  private databases = 0;

  private constructor(
    private readonly bin: string,
    private readonly dir: string,
    readonly port: number,
    private readonly password: string,
    private readonly asPostgres: boolean,
  ) {}

  static async start(options: ClusterOptions = {}): Promise<PostgresCluster> {
    const bin = serverBinaries();
    const dir = mkdtempSync(join(tmpdir(), 'graft-pg-'));
    const asPostgres = process.getuid?.() === 0;
    const password = randomBytes(12).toString('hex');
    const cluster = new PostgresCluster(bin, dir, await freePort(), password, asPostgres);
    try {
      writeFileSync(join(dir, 'pwfile'), `${password}\n`, { mode: 0o600 });
      if (asPostgres) {
        const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
        chownSync(dir, uid, -1);
        chownSync(join(dir, 'pwfile'), uid, -1);
      }
      cluster.server('initdb', ['-D', join(dir, 'data'), '-U', 'graft', `--pwfile=${join(dir, 'pwfile')}`, '--auth=scram-sha-256', '-E', 'UTF8', '--no-sync']);
      const settings = [`-p ${cluster.port}`, `-k ${dir}`, '-c listen_addresses=127.0.0.1', '-c max_connections=200'];
      if (!options.durable) settings.push('-c fsync=off', '-c synchronous_commit=off', '-c full_page_writes=off');
      cluster.server('pg_ctl', ['-D', join(dir, 'data'), '-o', settings.join(' '), '-l', join(dir, 'server.log'), '-w', '-t', '120', 'start']);
    } catch (error) {
      cluster.remove();
      throw new Error(`could not start a throwaway PostgreSQL in ${dir}: ${(error as Error).message}\n${installHint}`, { cause: error });
    }
    return cluster;
  }

  /** The URL of `database` on this cluster, as a user would give it to GRAFT_DATABASE_URL. */
  url(database = 'postgres'): string {
    return `postgres://graft:${this.password}@127.0.0.1:${this.port}/${database}`;
  }

  /** Makes an empty database and returns its URL. */
  createDatabase(): string {
    const name = `graft_test_${process.pid}_${++this.databases}`;
    this.psql(`CREATE DATABASE ${name}`);
    return this.url(name);
  }

  /** Runs SQL through psql as the superuser, on `database`; returns its unaligned output. */
  psql(sql: string, database = 'postgres'): string {
    return execFileSync('psql', ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-c', sql, this.url(database)], { encoding: 'utf8' }).trim();
  }

  stop(): void {
    try {
      this.server('pg_ctl', ['-D', join(this.dir, 'data'), '-m', 'immediate', '-w', 'stop']);
    } catch {
      // Already stopped (or never started): the directory goes either way.
    }
    this.remove();
  }

  private remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }

  private server(tool: string, args: string[]): void {
    const command = this.asPostgres ? 'runuser' : join(this.bin, tool);
    const argv = this.asPostgres ? ['-u', 'postgres', '--', join(this.bin, tool), ...args] : args;
    execFileSync(command, argv, { stdio: ['ignore', 'pipe', 'pipe'], cwd: this.dir, timeout: 180_000 });
  }
}

/** The newest installed server's bin directory (Debian keeps each major under /usr/lib/postgresql). */
function serverBinaries(): string {
  const root = '/usr/lib/postgresql';
  const majors = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (majors.length === 0) throw new Error(`no PostgreSQL server found under ${root}. ${installHint}`);
  return join(root, majors[0]!, 'bin');
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts a throwaway cluster before the suite's tests and stops it after them (call inside a
 * describe); the returned function gives the running cluster.
 */
export function usePostgresCluster(options: ClusterOptions = {}): () => PostgresCluster {
  let cluster: PostgresCluster | undefined;
  before(async function () {
    this.timeout(240_000);
    cluster = await PostgresCluster.start(options);
  });
  after(() => cluster?.stop());
  return () => {
    if (!cluster) throw new Error('the PostgreSQL cluster did not start (see the before-all hook)');
    return cluster;
  };
}
