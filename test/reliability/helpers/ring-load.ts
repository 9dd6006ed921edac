/**
 * The load scenario: a ring of agents on 10 local hosts, each sending numbered messages to the
 * next through the agent channel and committing the ones it got. Shared by the load test and by
 * the same scenario on a host loaded by busy loops.
 */
import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { GraftWorld } from '../../helpers/cli.js';
import { git } from '../../helpers/git-repo.js';
import { runBounded } from './bounded-run.js';
import { recordFault } from './fault-summary.js';

const perAgent = 5;

/**
 * Runs the ring with `agents` agents in `repo` and asserts every message arrived once, no task is
 * stuck and the controller stayed small. Each task waits for its predecessor's messages, so how
 * long it legitimately runs grows with how long the others take to start: `timeout` is its bound.
 */
export async function runRing(world: GraftWorld, root: string, repo: string, agents: number, label: string, timeout = '4m'): Promise<void> {
  // Task i sends five numbered messages to task i+1, then waits for the five of task i-1 and commits what it got.
  const command = [
    'i=${GRAFT_TASK#t}',
    `next=t$(( (i + 1) % ${agents} ))`,
    `k=1; while [ $k -le ${perAgent} ]; do graft-agent msg "$next" "from $GRAFT_TASK #$k" || exit 1; k=$((k + 1)); done`,
    'graft-agent status "sent; waiting for my messages"',
    ': > RECEIVED',
    `for try in $(seq 1 1200); do graft-agent inbox | sed '/^--- /d;/^(/d;/^$/d' >> RECEIVED; [ "$(wc -l < RECEIVED)" -ge ${perAgent} ] && break; sleep 0.5; done`,
    'git add RECEIVED && git commit -qm received',
    'graft-agent done "got $(wc -l < RECEIVED) messages"',
  ].join('\n');
  const tasks: Record<string, Record<string, unknown>> = {};
  for (let i = 0; i < agents; i++) tasks[`t${i}`] = { agent: 'ring', timeout };
  const file = join(root, 'ring.yaml');
  writeFileSync(
    file,
    stringify({
      base: 'main',
      hosts: { provisioner: 'local', count: 10, slots: Math.ceil(agents / 10) },
      agents: { ring: { harness: 'shell', command } },
      tasks,
    }),
  );

  const run = await runBounded(world, ['run', file, '--json'], { cwd: repo, boundMs: 840_000, sampleMemory: true });
  expect(run.hung, 'the run ended within its bound').to.equal(false);
  const envelope = run.json;
  const failed = (envelope?.result?.tasks ?? [])
    .filter((t: { state: string }) => t.state !== 'succeeded')
    .map((t: { name: string; state: string; error?: string }) => `${t.name} ${t.state}: ${t.error ?? ''}`);
  expect(run.code, `${failed.slice(0, 10).join('\n')}\n${run.stderr.slice(-3000)}`).to.equal(0);
  const peakMb = run.peakMb ?? 0;
  const session = envelope.result.session as string;

  let lost = 0;
  let duplicated = 0;
  for (let i = 0; i < agents; i++) {
    const got = git(repo, 'show', `graft/${session}/t${i}:RECEIVED`).split('\n').filter(Boolean);
    const from = `t${(i - 1 + agents) % agents}`;
    const expected = Array.from({ length: perAgent }, (_, k) => `from ${from} #${k + 1}`);
    lost += expected.filter((m) => !got.includes(m)).length;
    duplicated += got.length - new Set(got).size;
  }
  const stuck = envelope.result.tasks.filter((t: { state: string }) => t.state !== 'succeeded').length;
  recordFault({
    area: 'load',
    fault: `${agents} concurrent agents, ring of messages${label}`,
    injected: agents * perAgent,
    survived: agents * perAgent - lost - duplicated,
    lost,
    lostUnit: 'messages',
    note: `stuck tasks: ${stuck}; duplicated: ${duplicated}; controller peak RSS ${peakMb} MB`,
  });
  expect(stuck, 'tasks that did not succeed').to.equal(0);
  expect(lost, 'messages lost').to.equal(0);
  expect(duplicated, 'messages delivered twice').to.equal(0);
  expect(peakMb, 'controller peak memory (MB)').to.be.below(300);
}
