import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GraftWorld } from '../helpers/cli.js';
import { runBounded, until, type BoundedRun } from './helpers/bounded-run.js';
import { recordFault } from './helpers/fault-summary.js';
import { git, isAncestor, makeRepo, writeGraph } from './helpers/graph-repo.js';
import { useNetnsHosts, type NetnsFleet, type NetnsHost } from './helpers/netns-hosts.js';
import { makeWorkLedger, type WorkLedger } from './helpers/work-ledger.js';

/**
 * Host loss, on real sshd hosts with addresses of their own (network namespaces): a host that
 * dies, one cut off the network for 30 s, one whose sshd restarts. Tasks are held by a gate
 * after each commit (see WorkLedger), so each fault lands while work is under way and no task
 * can end before the test lets it: what the suite counts does not depend on timing.
 */

/** Settings of every run: faults are noticed and dials given up on within seconds. */
const fastFaults = { GRAFT_CONNECT_TIMEOUT: '3s', GRAFT_KEEPALIVE: '2s', GRAFT_RETRY_BACKOFF: '100ms' };
const outageMs = 30_000;

interface Scenario {
  root: string;
  repo: string;
  ledger: WorkLedger;
  world: GraftWorld;
  graph: string;
}

/** A repository, a ledger, a graph of the ledger's tasks on the fleet, a graft home. */
function scenario(fleet: NetnsFleet, env: NodeJS.ProcessEnv, tasks: (ledger: WorkLedger) => Record<string, Record<string, unknown>>): Scenario {
  const root = mkdtempSync(join(tmpdir(), 'graft-hostloss-'));
  const repo = makeRepo(root);
  const ledger = makeWorkLedger(root);
  const graph = writeGraph(root, { inventory: fleet.writeInventory(root) }, tasks(ledger));
  return { root, repo, ledger, graph, world: new GraftWorld({ ...fastFaults, ...env }) };
}

async function dispose(s: Scenario | undefined): Promise<void> {
  if (!s) return;
  s.ledger.hold(false);
  await s.world.dispose();
  rmSync(s.root, { recursive: true, force: true });
}

/** The host the task's first commit came from. */
async function hostOfFirstCommit(s: Scenario, fleet: NetnsFleet, task: string): Promise<NetnsHost> {
  await until(() => s.ledger.commits().some((c) => c.task === task), 60_000);
  const address = s.ledger.commits().find((c) => c.task === task)!.host;
  return fleet.hosts.find((h) => h.address === address)!;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- parsed CLI output
function taskOf(run: BoundedRun, name: string): any {
  return run.json?.result?.tasks?.find((t: { name: string }) => t.name === name);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- parsed CLI output
function events(run: BoundedRun): any[] {
  return run.stdout
    .trim()
    .split('\n')
    .flatMap((line) => {
      try {
        return [JSON.parse(line)];
      } catch {
        return [];
      }
    });
}

function refs(repo: string, pattern: string): string[] {
  return git(repo, 'for-each-ref', '--format=%(refname)', pattern).split('\n').filter(Boolean);
}

describe('reliability: host loss (sshd hosts in network namespaces)', function () {
  this.timeout(180_000);

  describe('a host whose sshd and tasks are killed, and that stays down past its grace', () => {
    const hosts = useNetnsHosts(3);
    let s: Scenario | undefined;
    afterEach(() => dispose(s));

    it('given a graph running on three hosts, when the host of a task dies, then the task moves without using a retry, the graph completes, and once the host is back down fetches the work it holds', async () => {
      const fleet = hosts.fleet;
      s = scenario(fleet, { GRAFT_HOST_GRACE: '3s' }, (ledger) => ({
        long: { command: ledger.command(3), retries: 0 },
        side: { command: ledger.command(2) },
        join: { needs: ['long', 'side'], command: ledger.command(1) },
      }));
      s.ledger.hold(true);
      const running = runBounded(s.world, ['run', s.graph, '--json'], { cwd: s.repo, boundMs: 90_000 });
      const victim = await hostOfFirstCommit(s, fleet, 'long');
      fleet.crash(victim);
      // The task starts over elsewhere; then every task may go on.
      await until(() => s!.ledger.commits().some((c) => c.task === 'long' && c.host !== victim.address), 60_000);
      s.ledger.hold(false);
      const run = await running;

      const lostWhileDown = s.ledger.lostCommits(s.repo);
      await fleet.startSshd(victim);
      const down = await s.world.run(['down', '--json'], { cwd: s.repo, timeoutMs: 60_000 });
      const lost = s.ledger.lostCommits(s.repo);
      const survived = !run.hung && run.code === 0 && down.code === 0;
      recordFault({
        area: 'host loss',
        fault: 'host dies mid-task (sshd + tasks killed), back only after the run',
        injected: 1,
        survived: survived ? 1 : 0,
        lost: lost.length,
        lostUnit: 'commits',
        note: `run ${Math.round(run.wallMs / 1000)} s`,
      });

      expect(run.hung, 'the controller hung past its bound').to.equal(false);
      expect(run.code, run.stderr).to.equal(0);
      const long = taskOf(run, 'long');
      expect(long.state).to.equal('succeeded');
      expect(long.attempt, 'moving off a lost host uses no retry').to.equal(1);
      expect(long.host).to.not.equal(victim.name);
      expect(taskOf(run, 'join').state).to.equal('succeeded');
      expect(s.ledger.completedTwice()).to.deep.equal([]);
      // What the agent committed on the dead host is out of reach until it answers again...
      expect(lostWhileDown).to.have.length(1);
      expect(down.code, down.stdout + down.stderr).to.equal(0);
      // ...and `down` fetches it once it does, before revoking the agent.
      expect(lost).to.deep.equal([]);
      const session = run.json.result.session as string;
      expect(refs(s.repo, `refs/graft/${session}/stranded/`)).to.deep.equal([`refs/graft/${session}/stranded/long/long`]);
      expect(readFileSync(join(victim.home, '.ssh', 'authorized_keys'), 'utf8'), 'no agent key is left on the host').to.not.include('graft-agent:');
    });
  });

  describe('a host cut off the network for 30 s, then restored', () => {
    const longGraceHosts = useNetnsHosts(2);
    const shortGraceHosts = useNetnsHosts(2);
    const cases: Record<'long' | 'short', { s?: Scenario; run?: BoundedRun; victim?: NetnsHost }> = { long: {}, short: {} };

    /** Runs one task, cuts its host's link for the outage, restores it, lets the task finish. */
    async function cutOff(which: 'long' | 'short', fleet: NetnsFleet, grace: string): Promise<void> {
      const s = scenario(fleet, { GRAFT_HOST_GRACE: grace }, (ledger) => ({ long: { command: ledger.command(3), retries: 0 } }));
      cases[which].s = s;
      s.ledger.hold(true);
      const running = runBounded(s.world, ['run', s.graph, '--json'], { cwd: s.repo, boundMs: 120_000 });
      const victim = await hostOfFirstCommit(s, fleet, 'long');
      cases[which].victim = victim;
      fleet.setLink(victim, false);
      await new Promise((resolve) => setTimeout(resolve, outageMs));
      fleet.setLink(victim, true);
      // Rescheduled: wait until the attempt left behind was wound up and the new one works.
      if (which === 'short')
        await until(
          () => refs(s.repo, 'refs/graft/').some((r) => r.includes('/stranded/')) && s.ledger.commits().some((c) => c.host !== victim.address),
          60_000,
        );
      s.ledger.hold(false);
      cases[which].run = await running;
    }

    before(async function () {
      this.timeout(150_000);
      // Both outages at once: they are independent (own hosts, own graft home).
      await Promise.all([cutOff('long', longGraceHosts.fleet, '90s'), cutOff('short', shortGraceHosts.fleet, '4s')]);
    });
    after(async () => {
      await Promise.all([dispose(cases.long.s), dispose(cases.short.s)]);
    });

    it('given a grace longer than the outage, when the link comes back, then the task is re-attached, not re-run, and its committed work comes back', () => {
      const { s, run, victim } = cases.long;
      const lost = s!.ledger.lostCommits(s!.repo);
      recordFault({
        area: 'host loss',
        fault: 'link down 30 s, grace 90 s (re-attach)',
        injected: 1,
        survived: !run!.hung && run!.code === 0 ? 1 : 0,
        lost: lost.length,
        lostUnit: 'commits',
        note: `run ${Math.round(run!.wallMs / 1000)} s`,
      });
      expect(run!.hung, 'the controller hung past its bound').to.equal(false);
      expect(run!.code, run!.stderr).to.equal(0);
      // graft noticed the cut (keepalives) and waited for the host rather than moving on.
      expect(events(run!).some((e) => e.code === 'warning' && /stopped answering \(.*\); waiting up to 90 s/.test(e.message))).to.equal(true);
      const long = taskOf(run!, 'long');
      expect(long).to.include({ state: 'succeeded', host: victim!.name, attempt: 1 });
      expect(
        s!.ledger.commits().filter((c) => c.step === 1),
        'each step ran once: the process was re-attached',
      ).to.have.length(1);
      expect(s!.ledger.commits().every((c) => c.host === victim!.address)).to.equal(true);
      expect(s!.ledger.completedTwice()).to.deep.equal([]);
      expect(lost).to.deep.equal([]);
      for (const commit of s!.ledger.commits()) expect(isAncestor(s!.repo, commit.sha, long.tip)).to.equal(true);
    });

    it('given a grace shorter than the outage, when the link comes back, then the task was rescheduled, the attempt left behind is stopped before it can finish, and its work is fetched', () => {
      const { s, run, victim } = cases.short;
      const lost = s!.ledger.lostCommits(s!.repo);
      recordFault({
        area: 'host loss',
        fault: 'link down 30 s, grace 4 s (reschedule)',
        injected: 1,
        survived: !run!.hung && run!.code === 0 ? 1 : 0,
        lost: lost.length,
        lostUnit: 'commits',
        note: `run ${Math.round(run!.wallMs / 1000)} s`,
      });
      expect(run!.hung, 'the controller hung past its bound').to.equal(false);
      expect(run!.code, run!.stderr).to.equal(0);
      const long = taskOf(run!, 'long');
      expect(long.state).to.equal('succeeded');
      expect(long.host).to.not.equal(victim!.name);
      expect(long.attempt, 'moving off a lost host uses no retry').to.equal(1);
      expect(long.stranded ?? []).to.deep.equal([]);
      const session = run!.json.result.session as string;
      expect(events(run!).some((e) => e.code === 'task.stranded-recovered' && e.data.task === 'long')).to.equal(true);
      // The attempt on the restored host never finished, and nothing of it runs there any more.
      expect(s!.ledger.completions().get('long')).to.equal(1);
      expect(readFileSync(join(s!.ledger.dir, 'completed'), 'utf8')).to.not.include(victim!.address);
      expect(shortGraceHosts.fleet.userPids(victim!)).to.deep.equal([]);
      const strandedWork = s!.ledger.commits().filter((c) => c.host === victim!.address);
      expect(strandedWork).to.have.length.greaterThan(0);
      for (const commit of strandedWork) expect(isAncestor(s!.repo, commit.sha, `refs/graft/${session}/stranded/long/long`)).to.equal(true);
      expect(lost).to.deep.equal([]);
    });
  });

  describe('the controller and a host die together', () => {
    const hosts = useNetnsHosts(2);
    let s: Scenario | undefined;
    afterEach(() => dispose(s));

    it("given a running graph, when the controller is SIGKILLed and the task's host dies with it, then graft resume starts without that host, moves the task and completes, and down later fetches the host's work", async () => {
      const fleet = hosts.fleet;
      s = scenario(fleet, { GRAFT_HOST_GRACE: '3s' }, (ledger) => ({ long: { command: ledger.command(3), retries: 0 } }));
      s.ledger.hold(true);
      const controller = s.world.spawn(['run', s.graph], s.repo);
      const exited = new Promise((resolve) => controller.once('exit', resolve));
      const victim = await hostOfFirstCommit(s, fleet, 'long');
      controller.kill('SIGKILL');
      await exited;
      fleet.crash(victim);
      const resuming = runBounded(s.world, ['resume', '--json'], { cwd: s.repo, boundMs: 60_000 });
      await until(() => s!.ledger.commits().some((c) => c.host !== victim.address), 45_000);
      s.ledger.hold(false);
      const run = await resuming;
      await fleet.startSshd(victim);
      const down = await s.world.run(['down', '--json'], { cwd: s.repo, timeoutMs: 60_000 });
      const lost = s.ledger.lostCommits(s.repo);
      recordFault({
        area: 'host loss',
        fault: 'controller SIGKILLed + host dies; graft resume',
        injected: 2,
        survived: !run.hung && run.code === 0 && down.code === 0 ? 2 : 0,
        lost: lost.length,
        lostUnit: 'commits',
        note: `resume ${Math.round(run.wallMs / 1000)} s`,
      });

      expect(run.hung, 'graft resume hung past its bound').to.equal(false);
      expect(run.code, run.stdout + run.stderr).to.equal(0);
      expect(run.stderr).to.match(/node\d: the agent channel cannot reach it yet/);
      expect(taskOf(run, 'long')).to.include({ state: 'succeeded', attempt: 1 });
      expect(taskOf(run, 'long').host).to.not.equal(victim.name);
      expect(s.ledger.completedTwice()).to.deep.equal([]);
      expect(down.code, down.stdout + down.stderr).to.equal(0);
      expect(lost).to.deep.equal([]);
    });
  });

  describe('sshd restarted with the same host key, the task process killed with it', () => {
    const hosts = useNetnsHosts(2);
    let s: Scenario | undefined;
    afterEach(() => dispose(s));

    it('given a running task, when its host "reboots" within the grace, then the vanished process counts as a failed attempt, its work is fetched, and the retry completes the task once', async () => {
      const fleet = hosts.fleet;
      s = scenario(fleet, { GRAFT_HOST_GRACE: '30s' }, (ledger) => ({ long: { command: ledger.command(3), retries: 1 } }));
      s.ledger.hold(true);
      const running = runBounded(s.world, ['run', s.graph, '--json'], { cwd: s.repo, boundMs: 90_000 });
      const victim = await hostOfFirstCommit(s, fleet, 'long');
      fleet.crash(victim);
      await fleet.startSshd(victim);
      await until(() => s!.ledger.commits().filter((c) => c.task === 'long' && c.step === 1).length === 2, 60_000);
      s.ledger.hold(false);
      const run = await running;
      const lost = s.ledger.lostCommits(s.repo);
      recordFault({
        area: 'host loss',
        fault: 'sshd restarted, same key; task killed (reboot)',
        injected: 1,
        survived: !run.hung && run.code === 0 ? 1 : 0,
        lost: lost.length,
        lostUnit: 'commits',
        note: `run ${Math.round(run.wallMs / 1000)} s`,
      });

      expect(run.hung, 'the controller hung past its bound').to.equal(false);
      expect(run.code, run.stderr).to.equal(0);
      expect(
        events(run).some(
          (e) => e.code === 'task.changed' && e.data.task === 'long' && e.data.state === 'ready' && /disappeared without an exit status/.test(e.message),
        ),
      ).to.equal(true);
      const long = taskOf(run, 'long');
      expect(long).to.include({ state: 'succeeded', attempt: 2 });
      const session = run.json.result.session as string;
      const first = s.ledger.commits().find((c) => c.task === 'long')!;
      expect(isAncestor(s.repo, first.sha, `refs/graft/${session}/attempts/long/1`), "the first attempt's work is kept").to.equal(true);
      expect(s.ledger.completedTwice()).to.deep.equal([]);
      expect(lost).to.deep.equal([]);
    });
  });
});
