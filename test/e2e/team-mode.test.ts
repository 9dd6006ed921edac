import { expect } from 'chai';
import { execFile, execFileSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { GraftWorld, graftBin } from '../helpers/cli.js';
import { commitFile, git, makeRepo } from '../helpers/git-repo.js';
import { usePostgresCluster } from '../helpers/postgres-cluster.js';
import { until } from '../reliability/helpers/bounded-run.js';

/**
 * Team mode: the state in a real PostgreSQL (a throwaway cluster), controllers on "other
 * machines". A controller in a pid namespace of its own cannot see or signal the first one's
 * pids, exactly as one on another machine, so only the lease can tell it whether the run is held.
 */
describe('e2e: team mode — controllers sharing a run through PostgreSQL (real server, real sshd)', function () {
  this.timeout(300_000);
  const cluster = usePostgresCluster();
  let world: GraftWorld;
  let root: string;
  let repo: string;
  let ran: string;

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
    world = new GraftWorld({
      GRAFT_DATABASE_URL: cluster().createDatabase(),
      GRAFT_TEAM_KEY: randomBytes(32).toString('base64'),
      GRAFT_OPERATOR: 'alice',
      GRAFT_CONTROLLER_LEASE: '3s',
      GRAFT_RETRY_BACKOFF: '100ms',
    });
  });
  afterEach(async () => {
    await world.dispose();
    rmSync(root, { recursive: true, force: true });
  });

  /** A graph of shell tasks on one local host with `slots` slots. */
  const writeGraph = (name: string, slots: number, tasks: Record<string, Record<string, unknown>>) => {
    const file = join(root, name);
    const agentTasks = Object.fromEntries(Object.entries(tasks).map(([n, t]) => [n, { agent: 'sh', ...t }]));
    writeFileSync(file, stringify({ base: 'main', hosts: { provisioner: 'local', count: 1, slots }, agents: { sh: { harness: 'shell' } }, tasks: agentTasks }));
    return file;
  };

  /**
   * graft as on another machine: a new pid namespace (every controller outside it is on another
   * machine, to it) and a graft home of its own (none of the session's files but what the shared
   * store holds).
   */
  const elsewhere = (args: string[], home: string) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
      execFile(
        'unshare',
        ['--pid', '--fork', '--mount-proc', process.execPath, graftBin, ...args],
        { cwd: repo, env: { ...world.env, GRAFT_HOME: home }, timeout: 240_000, maxBuffer: 64 * 1024 * 1024 },
        (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
      ),
    );

  it('given a run whose controller is SIGKILLed, when two controllers on other machines (other graft homes) race to resume it, then only a live lease refuses, exactly one drives it with the keys from the store, and no task runs twice', async () => {
    const homes = ['b', 'c'].map((h) => join(root, `home-${h}`));
    const step = (name: string, seconds: number) => `echo ${name} >> ${ran} && sleep ${seconds} && ${commitFile(`${name}.txt`, name)}`;
    const graph = writeGraph('graph.yaml', 2, {
      a1: { command: step('a1', 2) },
      a2: { command: step('a2', 2) },
      b: { needs: ['a1', 'a2'], command: step('b', 4) },
    });
    const first: ChildProcess = world.spawn(['run', graph], repo);
    first.stdout!.resume();
    first.stderr!.resume();
    let session = '';
    await until(async () => {
      const s = await world.run(['status', '--json'], { cwd: repo });
      session = s.json?.result?.session ?? '';
      return s.code === 0 && (s.json!.result.counts.running ?? 0) > 0;
    }, 120_000);

    // The first controller lives and renews its lease: a controller elsewhere is refused.
    const refused = await elsewhere(['resume', '--session', session], homes[0]!);
    expect(refused.code, refused.stderr).to.equal(2);
    expect(refused.stderr).to.match(/driven by a controller on another machine \(pid \d+ there\), whose lease runs until/);

    first.kill('SIGKILL');
    await new Promise((resolve) => first.once('exit', resolve));
    const status = await world.run(['status', '--json', '--session', session], { cwd: repo });
    const leaseEnd = Date.parse(status.json!.result.controller.leaseExpiresAt);
    // Its lease runs out; two controllers elsewhere then race for the run.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, leaseEnd - Date.now()) + 500));
    const racers = await Promise.all(homes.map((home) => elsewhere(['resume', '--session', session, '--json'], home)));
    const drove = racers.filter((r) => /"code":"task\.changed"/.test(r.stdout));
    expect(drove, racers.map((r) => `exit ${r.code}\n${r.stderr}`).join('\n---\n')).to.have.length(1);
    expect(drove[0]!.code, drove[0]!.stderr).to.equal(0);
    const other = racers.find((r) => r !== drove[0])!;
    // The other was refused by the winner's lease, or came after the run had finished.
    expect(other.code === 2 ? other.stdout : 'finished', other.stdout + other.stderr).to.match(/driven by a controller on another machine|finished/);

    // The winner's home got the session's keys from the store: the admin key and the agents' keys.
    const winnerHome = homes[racers.indexOf(drove[0]!)]!;
    const keys = readdirSync(join(winnerHome, 'sessions', session), { recursive: true }).map(String);
    expect(keys)
      .to.include('admin_ed25519')
      .and.to.include(join('agents', 'a1', 'id_ed25519'));
    const final = await world.run(['status', '--json', '--session', session], { cwd: repo });
    expect(final.json!.result.run).to.equal('succeeded');
    expect(readFileSync(ran, 'utf8').trim().split('\n').sort(), 'each task ran exactly once').to.deep.equal(['a1', 'a2', 'b']);
    expect(git(repo, 'log', '--format=%s', `graft/${session}/b`))
      .to.include('a1: a1.txt')
      .and.to.include('b: b.txt');
    const rows = cluster().psql(
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

  it('given a session of alice, when bob acts on it from his own machine, then his role decides: none refuses, a viewer follows, an approver approves (recorded as bob), only the owner ends it', async () => {
    const graph = writeGraph('gated.yaml', 1, {
      gate: { approval: 'before', command: `echo gate-output-from-alices-controller && echo gate >> ${ran} && ${commitFile('gate.txt', 'gate')}` },
    });
    const started = await world.run(['run', graph, '--detach', '--json'], { cwd: repo });
    expect(started.code, started.stdout + started.stderr).to.equal(0);
    const session = started.json!.result.session as string;
    const bob = { env: { GRAFT_OPERATOR: 'bob', GRAFT_HOME: join(root, 'home-bob') }, cwd: repo };
    const sessions = await world.run(['sessions', '--json'], bob);
    expect(sessions.json!.result.sessions.map((s: { id: string; owner: string }) => [s.id, s.owner])).to.deep.equal([[session, 'alice']]);

    const none = await world.run(['status', '--session', session, '--json'], bob);
    expect(none.code).to.equal(6);
    expect(none.json!.error!.code).to.equal('ROLE_REFUSED');
    expect(none.json!.error!.message).to.equal(`bob has no role in session ${session}: status needs the viewer role`);

    expect((await world.run(['share', 'bob', '--role', 'viewer', '--session', session], { cwd: repo })).code).to.equal(0);
    expect((await world.run(['status', '--session', session, '--json'], bob)).code).to.equal(0);
    const viewerApproves = await world.run(['approve', 'gate', '--session', session, '--json'], bob);
    expect(viewerApproves.json!.error!.message).to.equal(`bob is only a viewer of session ${session}: approve needs the approver role`);
    const bobShares = await world.run(['share', 'bob', '--role', 'owner', '--session', session, '--json'], bob);
    expect(bobShares.json!.error!.code, 'a viewer cannot raise their own role').to.equal('ROLE_REFUSED');

    expect((await world.run(['share', 'bob', '--role', 'approver', '--session', session], { cwd: repo })).code).to.equal(0);
    const approved = await world.run(['approve', 'gate', '--session', session, '--json'], bob);
    expect(approved.code, approved.stdout).to.equal(0);
    expect(approved.json!.result.approval.by).to.equal('bob');
    const said = await world.run(['message', 'gate', 'thanks', '--session', session, '--json'], bob);
    expect(said.json!.result.message.from ?? said.json!.result.message.sender, said.stdout).to.equal('human:bob');
    const impersonated = await world.run(['approve', 'gate', '--session', session, '--by', 'alice', '--json'], bob);
    expect(impersonated.json!.error!.message).to.match(/--by alice: in team mode a decision or message is recorded as the operator who makes it \(bob\)/);
    await until(async () => (await world.run(['status', '--session', session, '--json'], { cwd: repo })).json?.result.run === 'succeeded', 120_000);
    expect(readFileSync(ran, 'utf8').trim()).to.equal('gate');
    // The saved output is a file on alice's machine, and a row in the team's store: bob reads it.
    const logs = await world.run(['logs', 'gate', '--session', session, '--json'], bob);
    expect(logs.json!.result.source).to.equal('saved');
    expect(logs.json!.result.output).to.contain('gate-output-from-alices-controller');

    const bobDown = await world.run(['down', '--session', session, '--json'], bob);
    expect(bobDown.json!.error!.message).to.equal(`bob is only an approver of session ${session}: down needs the owner role`);
    const badName = await world.run(['share', 'bo b', '--role', 'viewer', '--session', session, '--json'], { cwd: repo });
    expect(badName.json!.error!.message).to.match(/^the operator is "bo b": an operator name is 1 to 64 letters/);
    const demoted = await world.run(['share', 'alice', '--role', 'viewer', '--session', session, '--json'], { cwd: repo });
    expect(demoted.json!.error!.message).to.match(/^an owner cannot take their own owner role away/);
    const members = await world.run(['share', '--session', session, '--json'], { cwd: repo });
    expect(members.json!.result.members.map((m: { operator: string; role: string }) => [m.operator, m.role])).to.deep.equal([
      ['alice', 'owner'],
      ['bob', 'approver'],
    ]);
    // The audit logs name who did what: alice's run and shares on her machine, bob's approval on his.
    const aliceAudit = readFileSync(join(world.home, 'sessions', session, 'audit.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(aliceAudit.filter((e) => e.code === 'session.shared').map((e) => [e.operator, e.data.operator, e.data.role])).to.deep.equal([
      ['alice', 'bob', 'viewer'],
      ['alice', 'bob', 'approver'],
    ]);
    const bobAudit = readFileSync(join(root, 'home-bob', 'sessions', session, 'audit.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(bobAudit.some((e) => e.operator === 'bob' && /approved/.test(e.message))).to.equal(true);
    expect((await world.run(['down', '--session', session], { cwd: repo })).code).to.equal(0);
  });
});
