/**
 * The state store's two engines, for suites that must hold on both: the SQLite file (a fresh one
 * in a temporary directory per test) and PostgreSQL (a fresh database per test, on a throwaway
 * cluster this file's suite starts and stops).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { usePostgresCluster, type PostgresCluster } from './postgres-cluster.js';

export interface StoreBackend {
  name: 'sqlite' | 'postgres';
  /** Registers the suite's hooks (the cluster, the temporary directories); call inside describe. */
  hooks(): void;
  /** A new, empty store location: a file path or a postgres:// URL. */
  fresh(): string;
}

export function storeBackends(): StoreBackend[] {
  return [sqliteBackend(), postgresBackend()];
}

function sqliteBackend(): StoreBackend {
  const dirs: string[] = [];
  return {
    name: 'sqlite',
    hooks() {
      afterEach(() => {
        for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
      });
    },
    fresh() {
      const dir = mkdtempSync(join(tmpdir(), 'graft-store-'));
      dirs.push(dir);
      return join(dir, 'state.db');
    },
  };
}

function postgresBackend(): StoreBackend {
  let cluster: (() => PostgresCluster) | undefined;
  return {
    name: 'postgres',
    hooks() {
      cluster = usePostgresCluster();
    },
    fresh() {
      if (!cluster) throw new Error('call hooks() in the suite first');
      return cluster().createDatabase();
    },
  };
}
