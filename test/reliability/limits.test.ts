import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GraftWorld } from '../helpers/cli.js';
import { makeRepo, writeGraph } from './helpers/graph-repo.js';
import { reportFigures } from './summary.js';

/**
 * Resource limits (docs/security.md), enforced by the host's cgroups: on a local host (real sshd,
 * per-agent accounts), one agent hogs memory and one forks past its process limit while a third
 * works within its own limits. Root only, and only where the cgroup v1 controllers are mounted
 * (this machine); skipped elsewhere until cgroup v2 is supported.
 *
 * Each attack first checks that it runs inside its agent's cgroups and does nothing otherwise, so
 * a broken join can never fork-bomb or exhaust the shared machine; both are bounded anyway.
 */
const controllers = ['memory', 'pids', 'cpu'];
const inCgroup = 'grep -q "pids:/graft/agent-" /proc/self/cgroup || { echo not-in-cgroup; exit 3; }';

const cgroupDirs = (uid: string) => controllers.map((c) => `/sys/fs/cgroup/${c}/graft/agent-${uid}`);

describe('reliability: resource limits (cgroup v1, one agent hogs, one forks, one works)', function () {
  this.timeout(300_000);
  let root: string;
  let world: GraftWorld;
  const uids: string[] = [];

  before(function () {
    if (process.getuid?.() !== 0 || !controllers.every((c) => existsSync(`/sys/fs/cgroup/${c}/cgroup.procs`))) this.skip();
    root = mkdtempSync(join(tmpdir(), 'graft-limits-'));
    world = new GraftWorld({ GRAFT_RETRY_BACKOFF: '100ms' });
  });
  after(async () => {
    await world?.dispose();
    if (root) rmSync(root, { recursive: true, force: true });
    // Cgroups of this test's agents that a failed revoke left (normally none): emptied, then removed.
    for (const dir of uids.flatMap(cgroupDirs).filter((d) => existsSync(d))) {
      for (const pid of readFileSync(`${dir}/cgroup.procs`, 'utf8').split('\n').filter(Boolean)) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          // Gone.
        }
      }
      try {
        rmdirSync(dir);
      } catch {
        // Still draining: the next revoke on this machine sweeps it (its uid has no account).
      }
    }
  });

  it('given a memory hog and a fork bomb beside a well-behaved agent, then each bad one fails with its limit as the reason, the other succeeds, and no cgroup is left', async () => {
    const repo = makeRepo(root);
    const graph = writeGraph(
      root,
      { provisioner: 'local', count: 2, slots: 2 },
      {
        // tail keeps a "line" of /dev/zero (no newline ever) in memory: it grows until killed.
        hog: { limits: { memory: '64M' }, command: `echo uid=$(id -u); ${inCgroup}; head -c 1G /dev/zero | tail > /dev/null && echo survived` },
        // Forks at most 200 sleepers (the limit stops it near 48), waits for them, fails.
        bomb: { limits: { pids: 48 }, command: `echo uid=$(id -u); ${inCgroup}; i=0; while [ $i -lt 200 ]; do sleep 2 & i=$((i + 1)); done; wait; exit 1` },
        calm: { limits: { cpu: 0.5, memory: '256M', pids: 64 }, command: `echo uid=$(id -u); ${inCgroup}; for i in 1 2 3; do sleep 1; done; echo calm-ok` },
        // No limits in the graph: the host's defaults (a share of its memory per slot, 4,096 processes).
        plain: {
          command: `echo uid=$(id -u); ${inCgroup}; g=graft/agent-$(id -u); echo memory=$(cat /sys/fs/cgroup/memory/$g/memory.limit_in_bytes) pids=$(cat /sys/fs/cgroup/pids/$g/pids.max)`,
        },
      },
    );
    const run = await world.run(['run', graph, '--json'], { cwd: repo, timeoutMs: 240_000 });
    const envelope = JSON.parse(run.stdout.trim().split('\n').at(-1)!);
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- parsed CLI output
    const task = (name: string) => envelope.result.tasks.find((t: any) => t.name === name);
    for (const name of ['hog', 'bomb', 'calm', 'plain']) {
      const logs = await world.run(['logs', name], { cwd: repo });
      const uid = /^uid=(\d+)$/m.exec(logs.stdout)?.[1];
      if (uid) uids.push(uid);
      expect(logs.stdout, `${name} ran outside its cgroups`).not.to.include('not-in-cgroup');
    }
    expect(task('hog'), JSON.stringify(task('hog'))).to.include({ state: 'failed', reason: 'oom' });
    expect(task('bomb'), JSON.stringify(task('bomb'))).to.include({ state: 'failed', reason: 'pids-limit' });
    expect(task('calm'), JSON.stringify(task('calm'))).to.include({ state: 'succeeded' });
    expect(task('calm').reason).to.equal(undefined);
    expect(task('plain'), JSON.stringify(task('plain'))).to.include({ state: 'succeeded' });
    const hostMemory = Number(/^MemTotal:\s+(\d+) kB$/m.exec(readFileSync('/proc/meminfo', 'utf8'))![1]) * 1024;
    // Two local hosts of 2 slots are one machine: its memory is shared over 4 slots, not 2.
    const perSlot = Math.floor((hostMemory * 0.9) / 4 / 1024 ** 2) * 1024 ** 2;
    expect((await world.run(['logs', 'plain'], { cwd: repo })).stdout).to.include(`memory=${perSlot} pids=4096`);

    const status = await world.run(['status'], { cwd: repo });
    expect(status.stdout).to.match(/stopped by a resource limit: .*hog \(oom: the agent's processes reached their memory limit \(64 MiB\)/);
    expect(status.stdout).to.match(/bomb \(pids-limit: the agent's processes reached their limit of 48 processes/);
    const hosts = await world.run(['hosts', '--json'], { cwd: repo });
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- parsed CLI output
    expect(hosts.json!.result.hosts.map((h: any) => h.limits)).to.include('cgroup-v1');

    // Revoked with their tasks: the cgroups went with them.
    expect(uids).to.have.length(4);
    for (const dir of uids.flatMap(cgroupDirs)) expect(existsSync(dir), dir).to.equal(false);
    // The host is fine: it still runs commands.
    expect(execFileSync('sh', ['-c', 'echo alive'], { encoding: 'utf8' }).trim()).to.equal('alive');

    reportFigures({
      title: 'resource limits (cgroup v1)',
      columns: ['agent', 'attack', 'limit', 'outcome', 'cgroups left after revoke'],
      rows: [
        ['hog', '1 GiB held in memory', 'memory 64M', `${task('hog').state} (${task('hog').reason})`, 0],
        ['bomb', '200 processes forked', 'pids 48', `${task('bomb').state} (${task('bomb').reason})`, 0],
        ['calm', 'none (sleeps 3 s)', 'cpu 0.5, memory 256M, pids 64', task('calm').state, 0],
        [
          'plain',
          'none (no limits in its graph)',
          `defaults: memory ${perSlot / 1024 ** 2}M (90% / 4 slots: 2 local hosts x 2), pids 4096`,
          task('plain').state,
          0,
        ],
      ],
    });
  });
});
