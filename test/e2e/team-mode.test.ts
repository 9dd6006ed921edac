import { expect } from 'chai';
import { execFile, execFileSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { GraftWorld, graftBin } from '../helpers/cli.js';
import { commitFile, git, makeRepo } from '../helpers/git-repo.js';
import { PostgresCluster } from '../helpers/postgres-cluster.js';

/**
 * Team mode: the state in a real PostgreSQL (a throwaway cluster), controllers on "other
 * machines". A controller in a pid namespace of its own cannot see or signal the first one's
 * pids, exactly as one on another machine, so only the lease can tell it whether the run is held.
 */
describe('e2e: team mode — controllers sharing a run through PostgreSQL (real server, real sshd)', function () {
  this.timeout(300_000);
  let cluster: PostgresCluster;
  let world: GraftWorld;
  let root: string;
  let repo: string;
  let ran: string;

  before(async function () {
    this.timeout(240_000);
    cluster = await PostgresCluster.start();
  });
  after(() => cluster?.stop());
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'graft-team-'));
    repo = makeRepo(root);
    const shared = join(root, 'shared');
    mkdirSync(shared);
    chmodSync(root, 0o755);
    chmodSync(shared, 0o1777);
    ran = join(shared, 'ran');
    writeFileSync(ran, '');
    chmodSync(ran, 0o666);
    world = new GraftWorld({ GRAFT_DATABASE_URL: cluster.createDatabase(), GRAFT_CONTROLLER_LEASE: '3s', GRAFT_RETRY_BACKOFF: '100ms' });
  });
  afterEach(async () => {
    await world.dispose();
    rmSync(root, { recursive: true, force: true });
  });

  /** graft in a new pid namespace: to it, every controller outside is on another machine. */
  const elsewhere = (args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
      execFile(
        'unshare',
        ['--pid', '--fork', '--mount-proc', process.execPath, graftBin, ...args],
        { cwd: repo, env: world.env, timeout: 240_000, maxBuffer: 64 * 1024 * 1024 },
        (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
      ),
    );

  it('given a run whose controller is SIGKILLed, when two controllers elsewhere race to resume it, then only a live lease refuses, exactly one drives it, and no task runs twice', async () => {
    const step = (name: string, seconds: number) => `echo ${name} >> ${ran} && sleep ${seconds} && ${commitFile(`${name}.txt`, name)}`;
    const graph = join(root, 'graph.yaml');
    writeFileSync(
      graph,
      stringify({
        base: 'main',
        hosts: { provisioner: 'local', count: 1, slots: 2 },
        agents: { sh: { harness: 'shell' } },
        tasks: {
          a1: { agent: 'sh', command: step('a1', 2) },
          a2: { agent: 'sh', command: step('a2', 2) },
          b: { agent: 'sh', needs: ['a1', 'a2'], command: step('b', 4) },
        },
      }),
    );
    const first: ChildProcess = world.spawn(['run', graph], repo);
    first.stdout!.resume();
    first.stderr!.resume();
    let session = '';
    await until(async () => {
      const s = await world.run(['status', '--json'], { cwd: repo });
      session = s.json?.result?.session ?? '';
      return s.code === 0 && (s.json!.result.counts.running ?? 0) > 0;
    });

    // The first controller lives and renews its lease: a controller elsewhere is refused.
    const refused = await elsewhere(['resume', '--session', session]);
    expect(refused.code, refused.stderr).to.equal(2);
    expect(refused.stderr).to.match(/driven by a controller on another machine \(pid \d+ there\), whose lease runs until/);

    first.kill('SIGKILL');
    await new Promise((resolve) => first.once('exit', resolve));
    const status = await world.run(['status', '--json', '--session', session], { cwd: repo });
    const leaseEnd = Date.parse(status.json!.result.controller.leaseExpiresAt);
    // Its lease runs out; two controllers elsewhere then race for the run.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, leaseEnd - Date.now()) + 500));
    const racers = await Promise.all([elsewhere(['resume', '--session', session, '--json']), elsewhere(['resume', '--session', session, '--json'])]);
    const drove = racers.filter((r) => /"code":"task\.changed"/.test(r.stdout));
    expect(drove, racers.map((r) => `exit ${r.code}\n${r.stderr}`).join('\n---\n')).to.have.length(1);
    expect(drove[0]!.code, drove[0]!.stderr).to.equal(0);
    const other = racers.find((r) => r !== drove[0])!;
    // The other was refused by the winner's lease, or came after the run had finished.
    expect(other.code === 2 ? other.stdout : 'finished', other.stdout + other.stderr).to.match(/driven by a controller on another machine|finished/);

    const final = await world.run(['status', '--json', '--session', session], { cwd: repo });
    expect(final.json!.result.run).to.equal('succeeded');
    expect(readFileSync(ran, 'utf8').trim().split('\n').sort(), 'each task ran exactly once').to.deep.equal(['a1', 'a2', 'b']);
    expect(git(repo, 'log', '--format=%s', `graft/${session}/b`))
      .to.include('a1: a1.txt')
      .and.to.include('b: b.txt');
    const rows = cluster.psql(
      `SELECT state FROM tasks WHERE session_id = '${session}' ORDER BY name`,
      new URL(world.env.GRAFT_DATABASE_URL!).pathname.slice(1),
    );
    expect(rows.split('\n')).to.deep.equal(['succeeded', 'succeeded', 'succeeded']);

    const down = await world.run(['down', '--json', '--session', session], { cwd: repo });
    expect(down.code, down.stdout + down.stderr).to.equal(0);
    expect(
      execFileSync('getent', ['passwd'], { encoding: 'utf8' })
        .split('\n')
        .filter((l) => l.startsWith(`graft-${session}`)),
    ).to.deep.equal([]);
  });
});

async function until(check: () => Promise<boolean>, timeoutMs = 120_000, everyMs = 200): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
  throw new Error('condition not met in time');
}
