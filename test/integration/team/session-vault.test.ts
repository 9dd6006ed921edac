import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StateError } from '../../../src/core/errors.js';
import { generateEd25519KeyPair } from '../../../src/core/ssh/index.js';
import { StateStore } from '../../../src/core/state/store.js';
import { SessionVault } from '../../../src/core/team/session-vault.js';
import { teamKey } from '../../../src/core/team/team-key.js';
import { usePostgresCluster } from '../../helpers/postgres-cluster.js';

describe("team mode: sessions' key files sealed in PostgreSQL (real server)", () => {
  const cluster = usePostgresCluster();
  let root: string;
  let url: string;
  let store: StateStore;
  const session = 'vaultses';
  const key = randomBytes(32).toString('base64');
  const home = (name: string) => join(root, name, 'sessions');
  const vault = (name: string, env: NodeJS.ProcessEnv = { GRAFT_TEAM_KEY: key }) => new SessionVault(store, env, (id) => join(home(name), id));

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'graft-vault-'));
    url = cluster().createDatabase();
    store = StateStore.open(url);
    store.createSession({ id: session, status: 'live', provisioner: 'local', spec: {}, expiresAt: '2030-01-01T00:00:00.000Z', owner: 'alice' });
  });
  afterEach(() => {
    store.close();
    rmSync(root, { recursive: true, force: true });
  });

  /** A session directory as graft writes one: admin key, CA key, an agent's key, and logs. */
  function writeSession(dir: string): Record<string, string> {
    const files: Record<string, string> = {
      admin_ed25519: generateEd25519KeyPair('admin').privateKey,
      'identity/ca.key': '-----BEGIN PRIVATE KEY-----\nca-secret\n-----END PRIVATE KEY-----\n',
      'agents/coder/id_ed25519': generateEd25519KeyPair('agent').privateKey,
      'audit.jsonl': '{"code":"x"}\n',
    };
    for (const [path, content] of Object.entries(files)) {
      mkdirSync(join(dir, path, '..'), { recursive: true, mode: 0o700 });
      writeFileSync(join(dir, path), content, { mode: 0o600 });
    }
    chmodSync(join(dir, 'identity/ca.key'), 0o400);
    return files;
  }

  it('given a session pushed by one machine, when another pulls it, then it gets the key files byte for byte with their modes, and not the logs', () => {
    const files = writeSession(join(home('a'), session));
    expect(vault('a').push(session)).to.equal(3);
    expect(vault('a').push(session), 'unchanged files are not sealed again').to.equal(0);
    expect(vault('b').pull(session)).to.equal(3);
    for (const path of ['admin_ed25519', 'identity/ca.key', 'agents/coder/id_ed25519']) {
      expect(readFileSync(join(home('b'), session, path), 'utf8')).to.equal(files[path]);
    }
    expect(statSync(join(home('b'), session, 'identity/ca.key')).mode & 0o777).to.equal(0o400);
    expect(statSync(join(home('b'), session, 'agents')).mode & 0o777).to.equal(0o700);
    expect(() => readFileSync(join(home('b'), session, 'audit.jsonl'))).to.throw(/ENOENT/);
    expect(vault('b').pull(session), 'files already there are left alone').to.equal(0);
  });

  it('given sealed keys, when the whole database is dumped, then no key appears in it, and another team key opens nothing', () => {
    const files = writeSession(join(home('a'), session));
    vault('a').push(session);
    const dump = execFileSync('pg_dump', ['--data-only', url], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, stdio: ['ignore', 'pipe', 'pipe'] });
    expect(dump).to.contain('v1.').and.to.contain('agents/coder/id_ed25519');
    for (const path of ['admin_ed25519', 'identity/ca.key', 'agents/coder/id_ed25519']) {
      const body = files[path]!.split('\n').filter((l) => l && !l.startsWith('-----'));
      for (const line of body) expect(dump, `${path} must not be in the dump`).not.to.contain(line);
    }
    expect(dump).not.to.contain('PRIVATE KEY');
    expect(() => vault('c', { GRAFT_TEAM_KEY: randomBytes(32).toString('base64') }).pull(session)).to.throw(StateError, /the team key does not open it/);
  });

  it('given a sealed file moved to another path in the database, when pulled, then it does not open there', () => {
    writeSession(join(home('a'), session));
    vault('a').push(session);
    const db = new URL(url).pathname.slice(1);
    cluster().psql(`DELETE FROM session_secrets WHERE path = 'admin_ed25519'`, db);
    cluster().psql(`UPDATE session_secrets SET path = 'admin_ed25519' WHERE path = 'agents/coder/id_ed25519'`, db);
    expect(() => vault('b').pull(session)).to.throw(StateError, /vaultses\/admin_ed25519: the team key does not open it/);
  });

  it('given no team key, or one of the wrong size, when one is needed, then the error says how to make one', () => {
    expect(() => teamKey({})).to.throw(StateError, /none is set/);
    expect(() => teamKey({ GRAFT_TEAM_KEY: 'c2hvcnQ=' })).to.throw(StateError, /must be 32 bytes in base64/);
    expect(() => teamKey({ GRAFT_TEAM_KEY_FILE: join(root, 'missing') })).to.throw(StateError, /cannot read the team key: GRAFT_TEAM_KEY_FILE .*ENOENT/);
    writeFileSync(join(root, 'team.key'), `${key}\n`, { mode: 0o600 });
    expect(teamKey({ GRAFT_TEAM_KEY_FILE: join(root, 'team.key') }).toString('base64')).to.equal(key);
    writeSession(join(home('a'), session));
    let error: StateError | undefined;
    try {
      vault('a', {}).push(session);
    } catch (e) {
      error = e as StateError;
    }
    expect(error).to.be.instanceOf(StateError);
    expect(error!.actions.join('\n')).to.contain('openssl rand -base64 32');
  });
});
