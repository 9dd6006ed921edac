import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HostRecord } from '../../../src/core/model/host.js';
import { adminEndpoint } from '../../../src/core/hosts/endpoints.js';
import { SshPool, writePrivateKeyFile } from '../../../src/core/ssh/index.js';
import { HostCache } from '../../../src/core/workspace/host-cache.js';
import { openLocalRepo } from '../../../src/core/workspace/local-repo.js';
import { useSshdFleet } from '../../helpers/sshd.js';

describe('host cache (real sshd, real git)', function () {
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
    host = {
      name: 'h1',
      provisioner: 'static',
      address: endpoint.host,
      port: endpoint.port,
      user: hosts.fleet.loginUser,
      state: 'up',
      slots: 10,
      groups: [],
      labels: [],
      isolation: 'shared-account',
      hostKeys: endpoint.hostKeys,
      identityFile: join(root, 'admin_key'),
      meta: {},
    };
    pool = new SshPool();
  });
  afterEach(async () => {
    await pool.exec(adminEndpoint(host), `rm -rf .graft/cache/${sessionId}`).catch(() => undefined);
    await pool.closeAll();
    rmSync(root, { recursive: true, force: true });
  });

  const commitAll = (dir: string, message: string) => {
    execFileSync('git', ['-C', dir, 'add', '-A']);
    execFileSync('git', ['-C', dir, 'commit', '-qm', message], {
      env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' },
    });
    return execFileSync('git', ['-C', dir, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
  };
  const onHost = async (command: string) => (await pool.exec(adminEndpoint(host), command)).stdout.trim();

  it('given a packed repository with loose commits on top, when a fresh cache is filled, then its packs arrive as they are, the loose objects in a pack of their own, and the cache is complete', async () => {
    const dir = join(root, 'repo');
    for (let i = 0; i < 30; i++) writeFileSync(join(dir, `f${i}.txt`), `file ${i}\n`.repeat(50));
    commitAll(dir, 'second');
    execFileSync('git', ['-C', dir, 'gc', '-q']);
    writeFileSync(join(dir, 'f3.txt'), 'changed after gc\n');
    const head = commitAll(dir, 'loose');
    const packs = execFileSync('git', ['-C', dir, 'rev-parse', '--git-path', 'objects/pack'], { encoding: 'utf8' }).trim();
    const localPacks = readdirSync(join(dir, packs))
      .filter((file) => /^pack-.*\.(pack|idx)$/.test(file))
      .sort();
    const repo = await openLocalRepo(dir);
    const cache = new HostCache(pool, host, sessionId, repo, process.env);
    const path = await cache.ensure();
    const sent = await cache.push(path, head, 'base/a');
    // Every object of the repository (one commit, its tree and one blob were loose), each once.
    expect(sent.objects).to.equal(Number(execFileSync('git', ['-C', dir, 'rev-list', '--all', '--objects', '--count'], { encoding: 'utf8' })));
    const remotePacks = (await onHost(`cd ${path}/objects/pack && ls`)).split('\n');
    expect(remotePacks.filter((file) => localPacks.includes(file)).sort(), 'the local pack and its index, by their own names').to.deep.equal(localPacks);
    expect(
      remotePacks.filter((file) => file.startsWith('tmp_')),
      'no temporary file left',
    ).to.deep.equal([]);
    expect(
      await onHost(
        `git -C ${path} fsck --no-dangling >/dev/null 2>&1 && git -C ${path} rev-parse refs/graft/base/a && stat -c %a ${path}/objects/pack/${localPacks[0]}`,
      ),
    ).to.equal(`${head}\n444`);
    // The next agent's base already there: nothing travels.
    expect(await new HostCache(pool, host, sessionId, repo, process.env).push(path, head, 'base/b')).to.deep.equal({ objects: 0, bytes: 0 });
  });

  it('given a repository that borrows objects (alternates), when a fresh cache is filled, then a pack of what the commit needs travels instead of its own packs', async () => {
    const dir = join(root, 'repo');
    execFileSync('git', ['-C', dir, 'gc', '-q']);
    execFileSync('git', ['clone', '-q', '--shared', dir, join(root, 'borrower')]);
    writeFileSync(join(root, 'borrower', 'more.txt'), 'more\n');
    const head = commitAll(join(root, 'borrower'), 'more');
    const cache = new HostCache(pool, host, sessionId, await openLocalRepo(join(root, 'borrower')), process.env);
    const path = await cache.ensure();
    const sent = await cache.push(path, head, 'base/a');
    expect(sent.objects).to.equal(
      Number(execFileSync('git', ['-C', join(root, 'borrower'), 'rev-list', '--objects', '--count', 'HEAD'], { encoding: 'utf8' })),
    );
    expect(await onHost(`git -C ${path} fsck --no-dangling >/dev/null 2>&1 && git -C ${path} rev-parse refs/graft/base/a`)).to.equal(head);
  });

  for (const packed of [false, true]) {
    it(`given ten agents whose worktrees fill a fresh session cache at once from a ${packed ? 'packed' : 'loose'} repository, when each ensures and fills it, then every one finds a complete repository`, async () => {
      if (packed) execFileSync('git', ['-C', join(root, 'repo'), 'gc', '-q']);
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
      expect(
        leftovers.stdout
          .trim()
          .split('\n')
          .filter((name) => name.includes('.tmp')),
      ).to.deep.equal([]);
      expect(await onHost(`cd .graft/cache/${sessionId}/*.git && git fsck --no-dangling >/dev/null 2>&1 && ls objects/pack | grep -c ^tmp_`)).to.equal('0');
    });
  }
});
