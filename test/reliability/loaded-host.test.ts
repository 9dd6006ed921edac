import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { GraftWorld } from '../helpers/cli.js';
import { makeRepo } from '../helpers/git-repo.js';
import { runRing } from './helpers/ring-load.js';

// Fewer agents than the load test by default: on a loaded 2-core machine the same ring takes
// several times as long, and what is tested here is that a slow host slows the run, not fails it.
const agents = Number(process.env.RELIABILITY_LOADED_AGENTS ?? 50);

describe(`reliability: ${agents} agents on 10 local hosts while busy loops hold every core`, function () {
  this.timeout(900_000);
  let world: GraftWorld;
  let root: string;
  let repo: string;
  const loops: ChildProcess[] = [];
  const stopLoops = () => {
    for (const loop of loops.splice(0)) if (loop.exitCode === null && loop.signalCode === null) loop.kill('SIGKILL');
  };

  before(() => {
    root = mkdtempSync(join(tmpdir(), 'graft-loaded-'));
    chmodSync(root, 0o755);
    repo = makeRepo(root);
    world = new GraftWorld();
    // One busy loop pinned to each core, at the same priority as everything else.
    process.once('exit', stopLoops);
    for (let cpu = 0; cpu < availableParallelism(); cpu++) {
      loops.push(spawn('taskset', ['-c', String(cpu), 'sh', '-c', 'while :; do :; done'], { stdio: 'ignore' }));
    }
  });
  after(async () => {
    stopLoops();
    process.removeListener('exit', stopLoops);
    await world.dispose();
    rmSync(root, { recursive: true, force: true });
  });

  it('given every core busy, when a ring of agents runs, then every task still succeeds and every message arrives exactly once', async () => {
    // Tasks of the ring wait for each other: on a loaded machine the last starts minutes after the
    // first, so the bound of each is longer than the load test's. What must not happen is a
    // failure because the host was slow.
    await runRing(world, root, repo, agents, ' on a loaded host', '12m');
  });
});
