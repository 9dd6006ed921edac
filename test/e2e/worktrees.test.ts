import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { GraftWorld } from '../helpers/cli.js';
import { git } from '../helpers/git-repo.js';

/** A repository with awkward paths and a binary file, two commits on main. */
function makeAwkwardRepo(root: string): string {
  const repo = join(root, 'repo');
  mkdirSync(join(repo, 'dir with space'), { recursive: true });
  git(root, 'init', '-q', '-b', 'main', repo);
  writeFileSync(join(repo, 'a.txt'), 'one\n');
  writeFileSync(join(repo, 'dir with space', 'ünïcödé file.txt'), 'unicode\n');
  writeFileSync(join(repo, 'new\nline.txt'), 'newline in name\n');
  writeFileSync(join(repo, 'blob.bin'), randomBytes(256 * 1024));
  mkdirSync(join(repo, 'many'));
  for (let i = 0; i < 60; i++) writeFileSync(join(repo, 'many', `f${i}.txt`), `file ${i}\n`);
  git(repo, 'add', '-A');
  git(repo, 'commit', '-qm', 'first');
  writeFileSync(join(repo, 'a.txt'), 'one\ntwo\n');
  git(repo, 'commit', '-qam', 'second');
  return repo;
}

describe('e2e: worktrees over SSH (real git, real sshd)', function () {
  this.timeout(180_000);
  let world: GraftWorld;
  let root: string;
  let repo: string;
  let session: string;

  const agentExec = async (name: string, command: string) => {
    const r = await world.run(['agent', 'exec', name, '--json', '--', command]);
    return { code: r.code, stdout: r.json!.result.stdout as string, stderr: r.json!.result.stderr as string };
  };

  beforeEach(async () => {
    root = mkdtempSync(join(tmpdir(), 'graft-wt-'));
    repo = makeAwkwardRepo(root);
    world = new GraftWorld();
    const up = await world.run(['up', '--hosts', '1', '--slots', '12', '--json']);
    expect(up.code, up.stderr).to.equal(0);
    session = up.json!.result.session;
  });
  afterEach(async () => {
    await world.dispose();
    rmSync(root, { recursive: true, force: true });
  });

  it('given an agent from main, when it commits and leaves changes uncommitted, then pull brings both back byte for byte and fsck passes on both sides', async () => {
    const create = await world.run(['agent', 'create', 'impl', '--from', 'main', '--repo', repo, '--json']);
    expect(create.code, create.stdout + create.stderr).to.equal(0);
    expect(create.json!.result.agent.workspace.branch).to.equal(`graft/${session}/impl`);
    // agent exec runs in the agent's worktree by default; --cwd . is its home.
    const onHost = await agentExec('impl', 'git rev-parse --abbrev-ref HEAD && git rev-parse HEAD && stat -c %U .');
    const home = await world.run(['agent', 'exec', 'impl', '--cwd', '.', '--json', '--', 'test -d work && test -d .graft && pwd']);
    expect(home.code, home.stderr).to.equal(0);
    expect(home.json!.result.stdout.trim()).not.to.match(/\/work$/);
    expect(onHost.stdout.trim().split('\n')).to.deep.equal([`graft/${session}/impl`, git(repo, 'rev-parse', 'main'), `graft-${session}-impl`]);

    await agentExec(
      'impl',
      "printf 'three\\n' >> a.txt && git commit -qam 'agent work' && printf 'dirty\\n' > 'dir with space/ünïcödé file.txt' && echo untracked > fresh.txt",
    );
    const pull = await world.run(['sync', 'pull', 'impl', '--json']);
    expect(pull.code, pull.stderr).to.equal(0);
    expect(pull.json!.result.snapshot).to.equal(true);
    // The snapshot stores only what changed: the 60-odd unchanged files are not copied into the agent's repository.
    const loose = Number((await agentExec('impl', 'git count-objects -v | sed -n "s/^count: //p"')).stdout.trim());
    expect(loose).to.be.lessThan(30);

    const branch = `graft/${session}/impl`;
    const hostTree = (await agentExec('impl', 'git add -A && git write-tree && git fsck --no-dangling 2>&1 | grep -c . || true')).stdout.trim().split('\n');
    expect(git(repo, 'rev-parse', `${branch}^{tree}`)).to.equal(hostTree[0]);
    expect(hostTree[1]).to.equal('0');
    git(repo, 'fsck', '--no-dangling');
    expect(git(repo, 'log', '--format=%an|%s', '-2', branch).split('\n')).to.deep.equal(['impl|graft: snapshot of uncommitted work', 'impl|agent work']);
    expect(git(repo, 'show', `${branch}:fresh.txt`)).to.equal('untracked');
    // The controller's own working tree and branch are untouched.
    expect(git(repo, 'status', '--porcelain')).to.equal('');
    expect(git(repo, 'rev-parse', '--abbrev-ref', 'HEAD')).to.equal('main');

    const diff = await world.run(['diff', 'impl', '--stat', '--json']);
    expect(diff.json!.result.diff)
      .to.match(/a\.txt/)
      .and.to.match(/fresh\.txt/);
  });

  it('given a new commit on the base, when pushed, then only its new objects travel; a no-op push sends none', async () => {
    const create = await world.run(['agent', 'create', 'impl', '--from', 'main', '--repo', repo, '--json']);
    const initial = create.json!.result.transfer.objects as number;
    expect(initial).to.equal(Number(git(repo, 'rev-list', '--objects', '--count', 'main')));
    writeFileSync(join(repo, 'a.txt'), 'one\ntwo\nthree\n');
    git(repo, 'commit', '-qam', 'third');
    // Uncommitted work here does not stop a push; only committed history travels.
    writeFileSync(join(repo, 'scratch.txt'), 'not committed\n');
    const push = await world.run(['sync', 'push', 'impl', '--json']);
    expect(push.code, push.stderr).to.equal(0);
    expect(push.json!.result.objects, 'a commit, its root tree and one blob').to.equal(3);
    expect(push.json!.result.fastForwarded).to.equal(true);
    expect((await agentExec('impl', 'cat a.txt; test -e scratch.txt || echo no-scratch')).stdout).to.equal('one\ntwo\nthree\nno-scratch\n');
    const again = await world.run(['sync', 'push', 'impl', '--json']);
    expect(again.json!.result.objects).to.equal(0);
    // The host tool gone from the host (a newer graft's, or cleaned away): the push still lands.
    expect((await world.run(['exec', '--', 'rm -f .graft/bin/agent-account-*.sh'])).code).to.equal(0);
    writeFileSync(join(repo, 'a.txt'), 'one\ntwo\nthree\nfour\n');
    git(repo, 'commit', '-qam', 'fourth');
    const afterLoss = await world.run(['sync', 'push', 'impl', '--json']);
    expect(afterLoss.code, afterLoss.stderr).to.equal(0);
    expect(afterLoss.json!.result.fastForwarded).to.equal(true);
    expect((await agentExec('impl', 'cat a.txt && stat -c %U .git/ORIG_HEAD')).stdout).to.equal(`one\ntwo\nthree\nfour\ngraft-${session}-impl\n`);
  });

  it('given ten agents on one host from the same base, then the objects cross once and each has its own worktree', async () => {
    const sent: number[] = [];
    for (let i = 0; i < 10; i++) {
      const create = await world.run(['agent', 'create', `a${i}`, '--from', 'main', '--repo', repo, '--json']);
      expect(create.code, create.stderr).to.equal(0);
      sent.push(create.json!.result.transfer.objects);
    }
    expect(sent[0]).to.be.greaterThan(0);
    expect(sent.slice(1)).to.deep.equal(Array(9).fill(0));
    const alternates = await agentExec('a5', 'cat .git/objects/info/alternates; git count-objects -v | grep ^count:');
    expect(alternates.stdout).to.match(new RegExp(`^/var/lib/graft/${session}/`));
    expect(alternates.stdout).to.match(/count: 0/);
  });

  it("given two agents, then neither can write the other's worktree, and neither can write the shared cache", async () => {
    for (const name of ['left', 'right']) expect((await world.run(['agent', 'create', name, '--from', 'main', '--repo', repo])).code).to.equal(0);
    const attempts = [`touch /home/graft-${session}-right/work/x`, 'touch "$(cat .git/objects/info/alternates)/x"', 'git push -q origin HEAD:refs/heads/evil'];
    for (const attempt of attempts) {
      const r = await agentExec('left', attempt);
      expect(r.code, attempt).to.equal(1);
      expect(r.stderr, attempt).to.match(/Permission denied|insufficient permission|unable to create temporary object directory|remote unpack failed/);
    }
  });

  it('given two agents that changed the same lines, when a third starts from both, then the conflict names the file and both branches', async () => {
    for (const [name, text] of [
      ['api', 'api version\n'],
      ['ui', 'ui version\n'],
    ] as const) {
      expect((await world.run(['agent', 'create', name, '--from', 'main', '--repo', repo])).code).to.equal(0);
      await agentExec(name, `printf '${text}' > a.txt && git commit -qam '${name}'`);
      expect((await world.run(['sync', 'pull', name])).code).to.equal(0);
    }
    const merged = await world.run(['agent', 'create', 'test', '--from', `graft/${session}/api,graft/${session}/ui`, '--repo', repo, '--json']);
    expect(merged.code).to.equal(9);
    expect(merged.json!.error!.message).to.include('a.txt').and.to.include(`graft/${session}/api`).and.to.include(`graft/${session}/ui`);
    expect(merged.json!.error!.details!.files).to.deep.equal(['a.txt']);
    const listed = await world.run(['agent', 'ls', '--all', '--json']);
    expect(listed.json!.result.agents.map((a: { name: string }) => a.name)).to.deep.equal(['api', 'ui']);
  });

  it('given bases that merge cleanly, when an agent starts from both, then its branch starts at their merge', async () => {
    for (const [name, file] of [
      ['api', 'api.txt'],
      ['ui', 'ui.txt'],
    ] as const) {
      expect((await world.run(['agent', 'create', name, '--from', 'main', '--repo', repo])).code).to.equal(0);
      await agentExec(name, `echo ${name} > ${file} && git add ${file} && git commit -qm ${name}`);
      expect((await world.run(['sync', 'pull', name])).code).to.equal(0);
    }
    expect((await world.run(['agent', 'create', 'test', '--from', `graft/${session}/api,graft/${session}/ui`, '--repo', repo])).code).to.equal(0);
    expect((await agentExec('test', 'cat api.txt ui.txt && git log --format=%p -1 | wc -w')).stdout.trim().split('\n')).to.deep.equal(['api', 'ui', '2']);
  });

  it('given a local branch the user moved, when the agent is pulled, then graft refuses to rewrite it', async () => {
    expect((await world.run(['agent', 'create', 'impl', '--from', 'main', '--repo', repo])).code).to.equal(0);
    expect((await world.run(['sync', 'pull', 'impl'])).code).to.equal(0);
    const branch = `graft/${session}/impl`;
    // The user commits on graft's branch here: work the agent's history does not contain.
    git(repo, 'switch', '-q', branch);
    writeFileSync(join(repo, 'mine.txt'), 'mine\n');
    git(repo, 'add', 'mine.txt');
    git(repo, 'commit', '-qm', 'mine');
    git(repo, 'switch', '-q', 'main');
    const mine = git(repo, 'rev-parse', branch);
    await agentExec('impl', 'echo more >> a.txt && git commit -qam more');
    const pull = await world.run(['sync', 'pull', 'impl']);
    expect(pull.code).to.equal(2);
    expect(pull.stderr).to.match(/was changed here since graft last set it/);
    expect(git(repo, 'rev-parse', branch)).to.equal(mine);
  });

  it("given graft's branch checked out in a worktree of the user's, when the agent is pulled, then graft leaves it where it is", async () => {
    expect((await world.run(['agent', 'create', 'impl', '--from', 'main', '--repo', repo])).code).to.equal(0);
    expect((await world.run(['sync', 'pull', 'impl'])).code).to.equal(0);
    const branch = `graft/${session}/impl`;
    const pulled = git(repo, 'rev-parse', branch);
    git(repo, 'worktree', 'add', '-q', join(root, 'review'), branch);
    await agentExec('impl', 'echo more >> a.txt && git commit -qam more');
    const pull = await world.run(['sync', 'pull', 'impl']);
    expect(pull.code, pull.stderr).to.equal(2);
    expect(pull.stderr).to.match(/is checked out here/);
    expect(git(repo, 'rev-parse', branch)).to.equal(pulled);
    // Once it is checked out nowhere, the same pull moves it.
    git(repo, 'worktree', 'remove', join(root, 'review'));
    expect((await world.run(['sync', 'pull', 'impl'])).code).to.equal(0);
    expect(git(repo, 'rev-parse', branch)).to.not.equal(pulled);
  });

  it('given a submodule entry and an LFS pointer, when an agent starts there, then both arrive as git stores them and its work comes back', async () => {
    // A gitlink (what a submodule is in the superproject) to a commit this repository does not have.
    git(repo, 'update-index', '--add', '--cacheinfo', `160000,${'1'.repeat(40)},vendor/lib`);
    mkdirSync(join(repo, 'vendor', 'lib'), { recursive: true }); // as an uninitialized submodule looks
    writeFileSync(join(repo, 'model.bin'), 'version https://git-lfs.github.com/spec/v1\noid sha256:' + 'a'.repeat(64) + '\nsize 12345\n');
    git(repo, 'add', 'model.bin');
    git(repo, 'commit', '-qm', 'submodule and lfs pointer');
    const created = await world.run(['agent', 'create', 'sub', '--from', 'main', '--repo', repo]);
    expect(created.code, created.stderr).to.equal(0);
    const seen = await agentExec('sub', 'git ls-files -s vendor/lib | cut -c1-6 && head -1 model.bin && echo change >> a.txt && git commit -qam work');
    expect(seen.stdout.trim().split('\n')).to.deep.equal(['160000', 'version https://git-lfs.github.com/spec/v1']);
    expect((await world.run(['sync', 'pull', 'sub'])).code).to.equal(0);
    expect(git(repo, 'ls-tree', `graft/${session}/sub`, 'vendor/lib')).to.match(/^160000 commit 1{40}\tvendor\/lib$/);
  });

  it('given repositories graft cannot use, then each is refused before any agent exists, with what to do', async () => {
    const notRepo = mkdtempSync(join(root, 'plain-'));
    const empty = join(root, 'empty');
    git(root, 'init', '-q', empty);
    const shallow = join(root, 'shallow');
    git(root, 'clone', '-q', '--depth', '1', `file://${repo}`, shallow);
    writeFileSync(join(repo, 'a.txt'), 'uncommitted\n');
    const cases: [string[], RegExp][] = [
      [['--repo', notRepo, '--from', 'main'], /is not a git repository/],
      [['--repo', empty, '--from', 'main'], /has no commits yet/],
      [['--repo', shallow, '--from', 'main'], /shallow clone/],
      [['--repo', repo, '--from', 'no-such-branch'], /does not name a commit/],
      [['--repo', repo, '--from', 'main'], /uncommitted changes/],
    ];
    for (const [args, message] of cases) {
      const create = await world.run(['agent', 'create', 'x', ...args]);
      expect(create.code, args.join(' ')).to.equal(2);
      expect(create.stderr).to.match(message);
    }
    expect((await world.run(['agent', 'ls', '--all', '--json'])).json!.result.agents).to.deep.equal([]);
    // With the flag, the uncommitted change goes as a snapshot commit and the working tree stays as it was.
    expect((await world.run(['agent', 'create', 'x', '--repo', repo, '--from', 'main', '--include-uncommitted'])).code).to.equal(0);
    expect((await agentExec('x', 'cat a.txt')).stdout).to.equal('uncommitted\n');
    expect(git(repo, 'status', '--porcelain')).to.equal('M a.txt');
    // A detached HEAD is an ordinary commit-ish.
    git(repo, 'stash', '-q');
    git(repo, 'checkout', '-q', '--detach', 'main~1');
    expect((await world.run(['agent', 'create', 'y', '--repo', repo, '--from', 'HEAD'])).code).to.equal(0);
  });
});
