/** A task graph run on a pool of two cloud VMs with the built CLI, as the ec2 and gce CLI tests share it. */
import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { GraftWorld } from '../../helpers/cli.js';
import { commitFile, git, makeRepo } from '../../helpers/git-repo.js';

/** For a test around runFanInOnPool: three agents and two VM boots, on a 2-core machine other test suites share. */
export const runOnPoolTimeoutMs = 240_000;

/**
 * Runs, inside a fresh git repository, a graph of three shell tasks on `hosts` (a pool of two
 * VMs, one slot each): two commit a file each, the third needs both. Checks that the run
 * succeeds with the two sides on the two VMs (`hostNames`) and the fan-in's branch holding both
 * files, then runs `down`. Returns the session, for the caller to ask its provider what is left.
 */
export async function runFanInOnPool(world: GraftWorld, hosts: Record<string, unknown>, hostNames: [string, string]): Promise<string> {
  const root = mkdtempSync(join(tmpdir(), 'graft-pool-run-'));
  try {
    const repo = makeRepo(root);
    const graph = join(root, 'graph.yaml');
    const tasks = {
      left: { agent: 'sh', command: commitFile('LEFT', 'left side') },
      right: { agent: 'sh', command: commitFile('RIGHT', 'right side') },
      both: { agent: 'sh', needs: ['left', 'right'], command: 'cat LEFT RIGHT' },
    };
    writeFileSync(graph, stringify({ base: 'main', hosts: { ...hosts, count: 2, slots: 1 }, agents: { sh: { harness: 'shell' } }, tasks }));

    const run = await world.run(['run', graph, '--json'], { cwd: repo, timeoutMs: 180_000 });
    expect(run.code, run.stderr).to.equal(0);
    expect(run.json!.result.outcome).to.equal('succeeded');
    const session = run.json!.result.session as string;
    const placed = Object.fromEntries(run.json!.result.tasks.map((t: { name: string; host: string }) => [t.name, t.host]));
    // One slot per VM: the two independent tasks run at once, one on each.
    expect([placed.left, placed.right].sort()).to.deep.equal([...hostNames].sort());
    expect(placed.both).to.be.oneOf(hostNames);
    expect(git(repo, 'show', `graft/${session}/both:LEFT`)).to.equal('left side');
    expect(git(repo, 'show', `graft/${session}/both:RIGHT`)).to.equal('right side');

    const down = await world.run(['down', '--json'], { cwd: repo, timeoutMs: 120_000 });
    expect(down.code, down.stderr).to.equal(0);
    return session;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
