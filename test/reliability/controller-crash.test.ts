import { expect } from 'chai';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { GraftWorld } from '../helpers/cli.js';
import { git, makeRepo } from '../helpers/git-repo.js';
import { printFaultSummaryAtEnd, recordFault } from './helpers/fault-summary.js';
import { Random } from './fuzz/random.js';


const seed = Number(process.env.RELIABILITY_SEED ?? 20261124);
const kills = Number(process.env.RELIABILITY_KILLS ?? 20);

printFaultSummaryAtEnd();

describe(`reliability: the controller SIGKILLed at ${kills} random points (seed ${seed})`, function () {
  this.timeout(900_000);
  let world: GraftWorld;
  let root: string;
  let repo: string;
  let ran: string;
  let child: ChildProcess | undefined;

  before(() => {
    root = mkdtempSync(join(tmpdir(), 'graft-crash-'));
    chmodSync(root, 0o755);
    repo = makeRepo(root);
    const shared = join(root, 'shared');
    mkdirSync(shared, { mode: 0o1777 });
    chmodSync(shared, 0o1777);
    // Root-owned and writable by every agent: revocation deletes only files agents own.
    ran = join(shared, 'ran');
    writeFileSync(ran, '');
    chmodSync(ran, 0o666);
    world = new GraftWorld({ GRAFT_RETRY_BACKOFF: '100ms' });
  });
  after(async () => {
    child?.kill('SIGKILL');
    await world.dispose();
    rmSync(root, { recursive: true, force: true });
  });

  it('given a 50-task graph, when its controller is killed again and again and resumed each time, then every task completes exactly once, no commit is lost and down leaves nothing', async () => {
    const generator = new Random(seed);
    const random = () => generator.next();
    // Five layers of ten; each task needs two tasks of the layer above (fan-in merges included).
    const tasks: Record<string, Record<string, unknown>> = {};
    for (let layer = 0; layer < 5; layer++) {
      for (let i = 0; i < 10; i++) {
        const name = `l${layer}t${i}`;
        const needs = layer === 0 ? [] : [...new Set([`l${layer - 1}t${Math.floor(random() * 10)}`, `l${layer - 1}t${Math.floor(random() * 10)}`])];
        const pause = (0.5 + random() * 1.5).toFixed(2);
        tasks[name] = { agent: 'sh', needs, command: `echo "$GRAFT_TASK" >> ${ran} && sleep ${pause} && echo ${name} > ${name}.txt && git add ${name}.txt && git commit -qm ${name}` };
      }
    }
    const file = join(root, 'graph.yaml');
    writeFileSync(file, stringify({ base: 'main', hosts: { provisioner: 'local', count: 4, slots: 4 }, agents: { sh: { harness: 'shell' } }, tasks }));

    let killed = 0;
    let finishedEarly = false;
    for (let k = 0; k < kills; k++) {
      child = world.spawn(k === 0 ? ['run', file] : ['resume'], repo);
      child.stdout!.resume();
      child.stderr!.resume();
      const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));
      // Early kills land in start-up and provisioning; later ones anywhere in the run.
      const delay = 300 + random() * (k === 0 ? 2_000 : 1_200);
      const outcome = await Promise.race([exited, new Promise<'kill'>((resolve) => setTimeout(() => resolve('kill'), delay))]);
      if (outcome !== 'kill') {
        finishedEarly = true;
        break;
      }
      child.kill('SIGKILL');
      await exited;
      killed++;
    }
    child = undefined;
    const resumed = finishedEarly ? undefined : await world.run(['resume', '--json'], { cwd: repo, timeoutMs: 600_000 });
    if (resumed) expect(resumed.code, resumed.stdout.slice(-3000) + resumed.stderr.slice(-3000)).to.equal(0);
    const status = await world.run(['status', '--json'], { cwd: repo });
    const session = status.json!.result.session as string;
    expect(status.json!.result.counts).to.deep.equal({ succeeded: 50 });

    const runs = readFileSync(ran, 'utf8').trim().split('\n');
    const counts = new Map<string, number>();
    for (const name of runs) counts.set(name, (counts.get(name) ?? 0) + 1);
    const twice = [...counts].filter(([, n]) => n > 1).map(([name]) => name);
    const lost = Object.keys(tasks).filter((name) => !git(repo, 'log', '--format=%s', `graft/${session}/${name}`).split('\n').includes(name));
    const down = await world.run(['down', '--json'], { cwd: repo, timeoutMs: 120_000 });
    const accounts = execFileSync('getent', ['passwd'], { encoding: 'utf8' }).split('\n').filter((l) => l.startsWith(`graft-${session}`));
    recordFault({ area: 'controller crash', fault: 'controller SIGKILL', injected: killed, survived: twice.length === 0 && lost.length === 0 ? killed : 0, lost: lost.length, lostUnit: 'commits', note: `50 tasks; run twice: ${twice.length}; left after down: ${accounts.length + world.sshdPids().length}` });

    // The graph may finish between kills on a fast machine; most kill points must still land.
    expect(killed, 'kills that landed').to.be.at.least(finishedEarly ? Math.ceil(kills / 2) : kills);
    expect(twice, 'tasks run twice').to.deep.equal([]);
    expect(counts.size).to.equal(50);
    expect(lost, 'tasks whose commit is not on their branch').to.deep.equal([]);
    expect(down.code, down.stdout + down.stderr).to.equal(0);
    expect(accounts, 'accounts left').to.deep.equal([]);
    expect(world.sshdPids(), 'hosts left').to.deep.equal([]);
  });
});
