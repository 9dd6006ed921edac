import { expect } from 'chai';
import Database from 'better-sqlite3';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StateError } from '../../../src/core/errors.js';
import type { HostRecord } from '../../../src/core/model/host.js';
import { StateStore } from '../../../src/core/state/store.js';
import { usePostgresCluster } from '../../helpers/postgres-cluster.js';
import { storeBackends } from '../../helpers/store-backends.js';

const host = (name: string, state: HostRecord['state'] = 'up'): HostRecord => ({
  name,
  provisioner: 'local',
  address: '127.0.0.2',
  port: 2222,
  user: 'u',
  state,
  slots: 1,
  groups: [],
  labels: [],
  isolation: 'shared-account',
  hostKeys: ['ssh-ed25519 AAAA'],
  meta: {},
});

for (const backend of storeBackends()) {
  describe(`state store (${backend.name})`, () => {
    backend.hooks();
    let target: string;
    beforeEach(() => {
      target = backend.fresh();
    });

    it('given two handles on one file, when one writes a session and hosts, then the other reads them (WAL, shared by processes)', () => {
      const a = StateStore.open(target);
      const b = StateStore.open(target);
      a.createSession({ id: 'abcdefgh', status: 'creating', provisioner: 'local', spec: { hosts: 2 }, expiresAt: '2030-01-01T00:00:00.000Z' });
      a.putHost('abcdefgh', host('h1'));
      a.putHost('abcdefgh', host('h2', 'creating'));
      a.putHost('abcdefgh', host('h2', 'up'));
      expect(b.getSession('abcdefgh')!.spec).to.deep.equal({ hosts: 2 });
      expect(b.listHosts('abcdefgh').map((h) => [h.name, h.state])).to.deep.equal([
        ['h1', 'up'],
        ['h2', 'up'],
      ]);
      a.close();
      b.close();
    });

    it('given a session being torn down, when a late up tries to mark it live, then the compare-and-set refuses', () => {
      const store = StateStore.open(target);
      store.createSession({ id: 'abcdefgh', status: 'creating', provisioner: 'local', spec: {}, expiresAt: '2030-01-01T00:00:00.000Z' });
      expect(store.setSessionStatus('abcdefgh', 'tearing-down', ['creating', 'live'])).to.equal(true);
      expect(store.setSessionStatus('abcdefgh', 'live', ['creating'])).to.equal(false);
      expect(store.getSession('abcdefgh')!.status).to.equal('tearing-down');
      store.close();
    });

    it('given an agent name already claimed, when claimed again, then the second claim gets the first agent back and writes nothing', () => {
      const store = StateStore.open(target);
      store.createSession({ id: 'abcdefgh', status: 'live', provisioner: 'local', spec: {}, expiresAt: '2030-01-01T00:00:00.000Z' });
      const agent = (host: string) => ({
        name: 'a',
        host,
        account: 'x',
        isolation: 'accounts' as const,
        home: '',
        state: 'creating' as const,
        keyFile: '',
        publicKey: '',
        keyExpiresAt: '',
        keyFrom: '',
        interactive: false,
        spiffeId: '',
        certificateNotAfter: '',
        secrets: [],
        createdAt: '',
      });
      expect(store.claimAgent('abcdefgh', agent('h1'))).to.equal(undefined);
      expect(store.claimAgent('abcdefgh', agent('h2'))!.host).to.equal('h1');
      store.putAgent('abcdefgh', { ...agent('h1'), state: 'removed' });
      expect(store.claimAgent('abcdefgh', agent('h3'))).to.equal(undefined);
      expect(store.getAgent('abcdefgh', 'a')!.host).to.equal('h3');
      store.close();
    });

    it('given sessions created in order, when listed, then the newest comes first', () => {
      const store = StateStore.open(target);
      for (const id of ['aaaaaaaa', 'bbbbbbbb', 'cccccccc'])
        store.createSession({ id, status: 'live', provisioner: 'local', spec: {}, expiresAt: '2030-01-01T00:00:00.000Z' });
      expect(store.listSessions().map((s) => s.id)).to.deep.equal(['cccccccc', 'bbbbbbbb', 'aaaaaaaa']);
      store.close();
    });

    it('given a fresh home, when several processes open it at once, then every one migrates or sees the migration, none fails', async () => {
      const file = target;
      const script = `import('${join(process.cwd(), 'src/core/state/store.ts').replaceAll('\\', '/')}').then((m) => { m.StateStore.open(process.argv[1]).close(); })`;
      const runs = Array.from(
        { length: 6 },
        () => new Promise<number>((resolve) => execFile(process.execPath, ['--import', 'tsx', '-e', script, file], (error) => resolve(error ? 1 : 0))),
      );
      expect(await Promise.all(runs)).to.deep.equal([0, 0, 0, 0, 0, 0]);
    });
  });
}

describe('state store (sqlite file)', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'graft-store-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('given a database from a newer graft, when opened, then it is refused with a StateError, not guessed at', () => {
    const file = join(dir, 'state.db');
    const db = new Database(file);
    db.pragma('user_version = 999');
    db.close();
    expect(() => StateStore.open(file)).to.throw(StateError, /newer graft/);
  });

  it('given a location under a regular file, when opened, then a StateError says so', () => {
    writeFileSync(join(dir, 'blocker'), '');
    expect(() => StateStore.open(join(dir, 'blocker', 'state.db'))).to.throw(StateError, /cannot open the state store/);
  });
});

describe('state store (postgres server)', () => {
  const cluster = usePostgresCluster();

  it('given a database from a newer graft, when opened, then it is refused with a StateError, not guessed at', () => {
    const url = cluster().createDatabase();
    StateStore.open(url).close();
    cluster().psql('UPDATE graft_schema SET version = 999', url.slice(url.lastIndexOf('/') + 1));
    expect(() => StateStore.open(url)).to.throw(StateError, /newer graft \(schema 999/);
  });

  it('given a wrong password, when opened, then a StateError names the server without the password and says what to check', () => {
    const url = cluster()
      .url()
      .replace(/:[^:@]+@/, ':not-the-password@');
    let error: StateError | undefined;
    try {
      StateStore.open(url);
    } catch (e) {
      error = e as StateError;
    }
    expect(error).to.be.instanceOf(StateError);
    expect(error!.message).to.match(/cannot reach the PostgreSQL state store postgres:\/\/graft:\*\*\*@127\.0\.0\.1/);
    expect(error!.message).to.match(/password authentication failed/);
    expect(error!.message).not.to.contain('not-the-password');
    expect(error!.actions.join(' ')).to.match(/GRAFT_DATABASE_URL/);
  });

  it('given no server on the port, when opened, then a StateError says it cannot reach it', () => {
    const url = cluster().url().replace(`:${cluster().port}/`, ':1/');
    expect(() => StateStore.open(url)).to.throw(StateError, /cannot reach the PostgreSQL state store/);
  });
});
