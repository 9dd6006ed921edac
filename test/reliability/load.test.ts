import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GraftWorld } from '../helpers/cli.js';
import { makeRepo } from '../helpers/git-repo.js';
import { runRing } from './helpers/ring-load.js';

const agents = Number(process.env.RELIABILITY_AGENTS ?? 100);

describe(`reliability: ${agents} agents at once on 10 local hosts, messages flowing`, function () {
  this.timeout(900_000);
  let world: GraftWorld;
  let root: string;
  let repo: string;

  before(() => {
    root = mkdtempSync(join(tmpdir(), 'graft-load-'));
    chmodSync(root, 0o755);
    repo = makeRepo(root);
    world = new GraftWorld();
  });
  after(async () => {
    await world.dispose();
    rmSync(root, { recursive: true, force: true });
  });

  it('given a ring of agents each messaging the next, when they all run, then every message arrives exactly once, no task is stuck and the controller stays small', async () => {
    await runRing(world, root, repo, agents, '');
  });
});
