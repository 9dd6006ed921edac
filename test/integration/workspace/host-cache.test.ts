import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HostRecord } from '../../../src/core/provisioners/provisioner.js';
import { adminEndpoint } from '../../../src/core/session/endpoints.js';
import { SshPool, writePrivateKeyFile } from '../../../src/core/ssh/index.js';
import { HostCache } from '../../../src/core/workspace/host-cache.js';
import { openLocalRepo } from '../../../src/core/workspace/local-repo.js';
import { useSshdFleet } from '../../helpers/sshd.js';

describe('host cache: agents made at the same moment on one host (real sshd, real git)', function () {
  this.timeout(60_000);
  const hosts = useSshdFleet(1);
  let root: string;
  let pool: SshPool;
  let host: HostRecord;
  const sessionId = randomBytes(4).toString('hex');

  beforeEach(async () => {
    root = mkdtempSync(join(tmpdir(), 'graft-cache-'));
    const env = { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' };
    execFileSync('git', ['init', '-q', '-b', 'main', join(root, 'repo')]);
    writeFileSync(join(root, 'repo', 'README'), 'project\n');
    execFileSync('git', ['-C', join(root, 'repo'), 'add', '-A']);
    execFileSync('git', ['-C', join(root, 'repo'), 'commit', '-qm', 'first'], { env });
    await writePrivateKeyFile(join(root, 'admin_key'), hosts.fleet.clientKey.privateKey);
    const endpoint = hosts.fleet.endpoints[0]!;
    host = { name: 'h1', provisioner: 'static', address: endpoint.host, port: endpoint.port, user: hosts.fleet.loginUser, state: 'up', slots: 10, groups: [], labels: [], isolation: 'shared-account', hostKeys: endpoint.hostKeys, identityFile: join(root, 'admin_key'), meta: {} };
    pool = new SshPool();
  });
  afterEach(async () => {
    await pool.exec(adminEndpoint(host), `rm -rf .graft/cache/${sessionId}`).catch(() => undefined);
    await pool.closeAll();
    rmSync(root, { recursive: true, force: true });
  });

  it('given ten agents whose worktrees fill a fresh session cache at once, when each ensures and fills it, then every one finds a complete repository', async () => {
    // The first agent's `git init` used to be seen half-made by the others: "not a git repository".
    const repo = await openLocalRepo(join(root, 'repo'));
    const head = execFileSync('git', ['-C', repo.root, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
    const fills = await Promise.allSettled(
      Array.from({ length: 10 }, async (_, i) => {
        const cache = new HostCache(pool, host, sessionId, repo, process.env);
        return cache.push(await cache.ensure(), head, `base/agent${i}`);
      }),
    );
    expect(fills.filter((f) => f.status === 'rejected').map((f) => String((f as PromiseRejectedResult).reason))).to.deep.equal([]);
    const refs = await pool.exec(adminEndpoint(host), `git -C .graft/cache/${sessionId}/*.git for-each-ref --format='%(refname)' refs/graft/base`);
    expect(refs.stdout.trim().split('\n')).to.have.length(10);
    const leftovers = await pool.exec(adminEndpoint(host), `ls -a .graft/cache/${sessionId}`);
    expect(leftovers.stdout.trim().split('\n').filter((name) => name.includes('.tmp'))).to.deep.equal([]);
  });
});
