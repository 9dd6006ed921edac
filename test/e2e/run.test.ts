import { expect } from 'chai';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { writePrivateKeyFile } from '../../src/core/ssh/index.js';
import { GraftWorld, repoRoot } from '../helpers/cli.js';
import { commitFile, git, makeRepo } from '../helpers/git-repo.js';
import { useSshdFleet } from '../helpers/sshd.js';

/** A graph of shell tasks; `command` may use $GRAFT_TASK. */
function writeGraph(
  dir: string,
  tasks: Record<string, Record<string, unknown>>,
  hosts: Record<string, unknown> = { provisioner: 'local', count: 2, slots: 2 },
): string {
  const file = join(dir, `graph-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(
    file,
    stringify({
      base: 'main',
      hosts,
      agents: { sh: { harness: 'shell' } },
      tasks: Object.fromEntries(Object.entries(tasks).map(([n, t]) => [n, { agent: 'sh', ...t }])),
    }),
  );
  return file;
}

describe('e2e: graft run — task graphs on local hosts (real sshd, real git)', function () {
  this.timeout(300_000);
  let world: GraftWorld;
  let root: string;
  let repo: string;
  let shared: string;

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'graft-run-'));
    repo = makeRepo(root);
    // Tasks run as their own accounts: a world-writable place where each records that it ran.
    shared = join(root, 'ran');
    mkdirSync(shared);
    chmodSync(root, 0o755);
    chmodSync(shared, 0o1777);
    // Owned by root and writable by all: revoking an agent deletes the files it owns in /tmp.
    for (const file of ['ran', 'slow']) {
      writeFileSync(join(shared, file), '');
      chmodSync(join(shared, file), 0o666);
    }
    world = new GraftWorld({ GRAFT_RETRY_BACKOFF: '100ms' });
  });
  afterEach(async () => {
    await world.dispose();
    rmSync(root, { recursive: true, force: true });
  });

  it('given a diamond graph, when it runs, then each task gets its own branch and the fan-in starts from both results merged', async () => {
    const file = writeGraph(root, {
      plan: { command: commitFile('PLAN.md', 'the plan') },
      api: { needs: ['plan'], command: commitFile('api/ROUTES', 'GET /v2') },
      ui: { needs: ['plan'], command: commitFile('ui/CALLS', 'calls /v2') },
      join: { needs: ['api', 'ui'], command: 'cat PLAN.md api/ROUTES ui/CALLS && echo joined-ok' },
    });
    const result = await runIn(repo, world, ['run', file, '--json']);
    expect(result.code, result.stderr + result.stdout).to.equal(0);
    const lines = result.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const envelope = lines.at(-1);
    expect(envelope.result.outcome).to.equal('succeeded');
    expect(lines.some((e) => e.code === 'task.changed' && e.data.task === 'join' && e.data.state === 'running')).to.equal(true);
    const session = envelope.result.session as string;
    for (const task of ['plan', 'api', 'ui', 'join']) expect(git(repo, 'rev-parse', '--verify', `graft/${session}/${task}`)).to.match(/^[0-9a-f]{40}$/);
    // The fan-in's branch holds both sides' commits.
    const joined = git(repo, 'log', '--format=%s', `graft/${session}/join`);
    expect(joined).to.include('api: api/ROUTES').and.to.include('ui: ui/CALLS').and.to.include('plan: PLAN.md');
    expect(git(repo, 'show', `graft/${session}/join:api/ROUTES`)).to.equal('GET /v2');
    const logs = await runIn(repo, world, ['logs', 'join']);
    expect(logs.stdout).to.include('joined-ok');
    const status = await runIn(repo, world, ['status', '--json']);
    expect(status.json!.result.counts).to.deep.equal({ succeeded: 4 });
    // Agents are revoked once their work is back.
    const agents = await runIn(repo, world, ['agent', 'ls', '--json']);
    expect(agents.json!.result.agents.filter((a: { state: string }) => a.state !== 'removed')).to.deep.equal([]);
  });

  it('given approval gates, when a human approves one and rejects another, then the first runs and the second blocks what needs it', async () => {
    const file = writeGraph(root, {
      build: { command: 'true' },
      review: { needs: ['build'], approval: 'before', command: 'true' },
      ship: { needs: ['review'], command: 'true' },
      risky: { approval: 'after', command: 'true' },
      deploy: { needs: ['risky'], command: 'true' },
    });
    const started = await runIn(repo, world, ['run', file, '--detach', '--json']);
    expect(started.code, started.stderr).to.equal(0);
    const session = JSON.parse(started.stdout.trim().split('\n').at(-1)!).result.session as string;
    await until(async () => {
      const s = await runIn(repo, world, ['status', '--json']);
      return s.json!.result.counts['awaiting-approval'] === 1 && s.json!.result.counts['awaiting-result-approval'] === 1;
    });
    const early = await runIn(repo, world, ['approve', 'ship']);
    expect(early.code).to.equal(2);
    expect(early.stderr).to.match(/ship is not waiting for approval/);
    expect((await runIn(repo, world, ['approve', 'review', '--by', 'alice'])).code).to.equal(0);
    const rejected = await runIn(repo, world, ['approve', 'risky', '--reject', '--reason', 'not today', '--by', 'bob', '--json']);
    expect(rejected.json!.result.task.state).to.equal('failed');
    await until(async () => (await runIn(repo, world, ['status', '--json'])).json!.result.run !== 'running');
    const tasks = Object.fromEntries(
      (await runIn(repo, world, ['status', '--json'])).json!.result.tasks.map((t: { name: string; state: string }) => [t.name, t.state]),
    );
    expect(tasks).to.deep.equal({ build: 'succeeded', review: 'succeeded', ship: 'succeeded', risky: 'failed', deploy: 'blocked' });
    const audit = readFileSync(join(world.home, 'sessions', session, 'audit.jsonl'), 'utf8');
    expect(audit).to.match(/"code":"approval.recorded".*"by":"alice"/);
    expect(audit).to.match(/"code":"approval.recorded".*"decision":"rejected".*"by":"bob"/);
  });

  it('given a task that outlives its timeout, when it runs, then its whole remote process group is killed and it fails after its retries', async () => {
    const marker = `graft-timeout-${Math.random().toString(36).slice(2)}`;
    const file = writeGraph(root, {
      slow: { timeout: '2s', retries: 1, command: `echo "$GRAFT_ATTEMPT" >> ${shared}/slow; sh -c 'sleep 600; echo ${marker}' & sleep 600` },
    });
    const result = await runIn(repo, world, ['run', file, '--json']);
    expect(result.code).to.equal(1);
    const envelope = JSON.parse(result.stdout.trim().split('\n').at(-1)!);
    const slow = envelope.result.tasks[0];
    expect(slow.state).to.equal('failed');
    expect(slow.attempt).to.equal(2);
    expect(slow.error).to.match(/timed out after 2 s; its process group was killed/);
    expect(readFileSync(join(shared, 'slow'), 'utf8')).to.equal('1\n2\n');
    expect(processesWith(marker)).to.deep.equal([]);
  });

  it('given a controller killed with SIGKILL at several points, when resumed, then the graph finishes with no task run twice and nothing left after down', async () => {
    const tasks: Record<string, Record<string, unknown>> = {};
    const step = (name: string) => `echo ${name} >> ${shared}/ran && sleep 1 && ${commitFile(`${name}.txt`, name)}`;
    for (const name of ['a1', 'a2', 'a3']) tasks[name] = { command: step(name) };
    for (const name of ['b1', 'b2']) tasks[name] = { needs: ['a1', 'a2', 'a3'], command: step(name) };
    tasks.c = { needs: ['b1', 'b2'], command: step('c') };
    const file = writeGraph(root, tasks);
    let session = '';
    const kills = [
      // While the first tasks are being started.
      (s: Record<string, number>) => (s.starting ?? 0) > 0,
      // While some run.
      (s: Record<string, number>) => (s.running ?? 0) > 0,
      // After some finished and others wait.
      (s: Record<string, number>) => (s.succeeded ?? 0) >= 3,
    ];
    let child: ChildProcess = spawnIn(repo, world, ['run', file]);
    child.stderr!.resume();
    child.stdout!.resume();
    for (const [i, moment] of kills.entries()) {
      await until(
        async () => {
          const s = await runIn(repo, world, ['status', '--json']);
          if (s.code !== 0) return false;
          session = s.json!.result.session;
          return moment(s.json!.result.counts);
        },
        60_000,
        50,
      );
      child.kill('SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));
      if (i < kills.length - 1) {
        child = spawnIn(repo, world, ['resume']);
        child.stderr!.resume();
        child.stdout!.resume();
      }
    }
    const status = await runIn(repo, world, ['status', '--json']);
    expect(status.json!.result.controller.alive).to.equal(false);
    const resumed = await runIn(repo, world, ['resume', '--json']);
    expect(resumed.code, resumed.stdout + resumed.stderr).to.equal(0);
    const ran = readFileSync(join(shared, 'ran'), 'utf8').trim().split('\n').sort();
    expect(ran, 'each task ran exactly once').to.deep.equal(['a1', 'a2', 'a3', 'b1', 'b2', 'c']);
    expect(git(repo, 'log', '--format=%s', `graft/${session}/c`))
      .to.include('a1: a1.txt')
      .and.to.include('b2: b2.txt')
      .and.to.include('c: c.txt');
    const down = await runIn(repo, world, ['down', '--json']);
    expect(down.code, down.stdout + down.stderr).to.equal(0);
    const accounts = execFileSync('getent', ['passwd'], { encoding: 'utf8' })
      .split('\n')
      .filter((l) => l.startsWith(`graft-${session}`));
    expect(accounts).to.deep.equal([]);
    expect(world.sshdPids()).to.deep.equal([]);
  });

  it('given a run killed while its hosts come up (one sshd started, not recorded), when resumed, then the missing hosts come up, the half-started one is replaced and every task runs', async () => {
    const file = writeGraph(
      root,
      { a: { command: commitFile('a.txt', 'a') }, b: { needs: ['a'], command: commitFile('b.txt', 'b') } },
      { provisioner: 'local', count: 3, slots: 1 },
    );
    const killed = await runIn(repo, world, ['run', file], { GRAFT_FAILPOINTS: 'host.started@1' });
    expect(killed.code, 'killed by its failpoint').not.to.equal(0);
    const before = await runIn(repo, world, ['hosts', '--json']);
    expect(before.json!.result.hosts.filter((h: { state: string }) => h.state === 'up').length, 'hosts recorded up when it died').to.be.below(3);

    const resumed = await runIn(repo, world, ['resume', '--json']);
    expect(resumed.code, resumed.stdout.slice(-2000) + resumed.stderr).to.equal(0);
    expect(resumed.json!.result.outcome).to.equal('succeeded');
    const hosts = (await runIn(repo, world, ['hosts', '--json'])).json!.result.hosts as { state: string }[];
    expect(hosts.map((h) => h.state)).to.deep.equal(['up', 'up', 'up']);
    // One sshd per host: the one started before the kill was stopped, not left running beside its replacement.
    expect(world.sshdPids(), 'sshd processes').to.have.length(3);
    expect(git(repo, 'show', `graft/${resumed.json!.result.session}/b:a.txt`)).to.equal('a');
  });

  it('given the demo graph, when it runs with --auto-approve, then agents plan, work in parallel, message each other, merge and pass the gate', async () => {
    const result = await runIn(repo, world, ['run', join(repoRoot, 'examples', 'demo.yaml'), '--auto-approve', '--json']);
    expect(result.code, result.stdout + result.stderr).to.equal(0);
    const envelope = JSON.parse(result.stdout.trim().split('\n').at(-1)!);
    const session = envelope.result.session as string;
    expect(envelope.result.tasks.map((t: { state: string }) => t.state)).to.deep.equal(['succeeded', 'succeeded', 'succeeded', 'succeeded', 'succeeded']);
    expect(git(repo, 'show', `graft/${session}/ui:ui/CALLS`)).to.equal('calls: the endpoint is GET /v2/greet');
    expect(git(repo, 'show', `graft/${session}/review:REVIEW.md`))
      .to.include('- ui: call the api')
      .and.to.include('- api: GET /v2/greet');
    expect(envelope.result.tasks.find((t: { name: string }) => t.name === 'review').approvals[0]).to.include({ by: 'auto-approve', decision: 'approved' });
  });

  it('given a running graph, when humans and agents exchange messages and a question, then each arrives once and the answer reaches the waiting agent', async () => {
    const file = writeGraph(root, {
      asker: {
        command: [
          'graft-agent msg human "starting; will need a decision"',
          'answer=$(graft-agent ask "which endpoint version?")',
          'for i in $(seq 1 200); do note=$(graft-agent inbox | sed "/^--- /d"); [ -n "$note" ] && break; sleep 0.3; done',
          'printf "%s\\n%s\\n" "$answer" "$note" > DECISION && git add DECISION && git commit -qm decision',
        ].join('\n'),
      },
    });
    const started = await runIn(repo, world, ['run', file, '--detach', '--json']);
    expect(started.code, started.stderr).to.equal(0);
    const session = started.json!.result.session as string;
    let question: { id: number; sender: string; body: string } | undefined;
    await until(async () => {
      const inbox = await runIn(repo, world, ['inbox', '--all', '--json']);
      question = inbox.json!.result.entries.find((e: { kind: string; open?: boolean }) => e.kind === 'question' && e.open);
      return question !== undefined;
    });
    expect(question).to.include({ sender: 'asker', body: 'which endpoint version?' });
    const told = await runIn(repo, world, ['inbox', '--all', '--json']);
    expect(told.json!.result.entries.map((e: { body: string }) => e.body)).to.include('starting; will need a decision');
    expect((await runIn(repo, world, ['message', 'asker', 'and keep the old route', '--by', 'carol'])).code).to.equal(0);
    const answered = await runIn(repo, world, ['message', 'asker', '--answer', String(question!.id), 'v2', '--json']);
    expect(answered.code, answered.stderr).to.equal(0);
    const again = await runIn(repo, world, ['message', 'asker', '--answer', String(question!.id), 'v3']);
    expect(again.code).to.equal(2);
    await until(async () => (await runIn(repo, world, ['status', '--json'])).json!.result.run !== 'running');
    expect(git(repo, 'show', `graft/${session}/asker:DECISION`)).to.equal('v2\nand keep the old route');
    const unknown = await runIn(repo, world, ['message', 'nobody', 'hello']);
    expect(unknown.code).to.equal(4);
  });

  it('given a malformed graph, when run, then every problem is reported at once with exit code 3 and no session is started', async () => {
    const file = join(root, 'bad.yaml');
    writeFileSync(
      file,
      stringify({
        hosts: { provisioner: 'local', count: 1 },
        agents: { sh: { harness: 'shell', command: 'true' } },
        tasks: { a: { agent: 'nobody' }, b: { agent: 'sh', needs: ['c'] }, c: { agent: 'sh', needs: ['b'] } },
      }),
    );
    const result = await runIn(repo, world, ['run', file]);
    expect(result.code).to.equal(3);
    expect(result.stderr)
      .to.match(/nobody/)
      .and.to.match(/b → c → b|c → b → c/);
    expect(result.stderr).not.to.match(/\n\s+at /);
    const json = await runIn(repo, world, ['run', file, '--json']);
    expect(json.stdout.trim().split('\n'), 'one JSON line, as the event stream would end').to.have.length(1);
    expect(json.json!.error!.details!.problems.length).to.be.at.least(2);
    expect((await runIn(repo, world, ['sessions', '--json'])).json!.result.sessions).to.deep.equal([]);
  });
});

/** Runs graft with the repository as the working directory. */
function runIn(cwd: string, world: GraftWorld, args: string[], env?: NodeJS.ProcessEnv) {
  return world.run(args, { timeoutMs: 240_000, cwd, env });
}

function spawnIn(cwd: string, world: GraftWorld, args: string[]): ChildProcess {
  return world.spawn(args, cwd);
}

async function until(check: () => Promise<boolean>, timeoutMs = 120_000, everyMs = 300): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
  throw new Error('condition not met in time');
}

function processesWith(marker: string): string[] {
  try {
    return execFileSync('pgrep', ['-af', marker], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .filter((l) => !l.includes('pgrep'));
  } catch {
    return [];
  }
}

describe('e2e: graft run on inventory hosts (real sshd)', function () {
  this.timeout(180_000);
  const hosts = useSshdFleet(2);
  let world: GraftWorld;
  let root: string;
  let repo: string;

  beforeEach(async () => {
    root = mkdtempSync(join(tmpdir(), 'graft-run-inv-'));
    repo = makeRepo(root);
    world = new GraftWorld({ GRAFT_RETRY_BACKOFF: '100ms' });
    await writePrivateKeyFile(join(root, 'admin_key'), hosts.fleet.clientKey.privateKey);
    const fleet = hosts.fleet;
    const entry = (i: number) => ({
      ansible_host: fleet.endpoints[i]!.host,
      ansible_port: fleet.endpoints[i]!.port,
      ansible_user: fleet.loginUser,
      graft_host_key: fleet.hosts[i]!.sshd.hostPublicKey,
    });
    writeFileSync(
      join(root, 'hosts.yaml'),
      stringify({
        all: {
          vars: { ansible_ssh_private_key_file: 'admin_key', graft_slots: 2 },
          children: { web: { hosts: { web01: entry(0) } }, gpu: { hosts: { gpu01: entry(1) } } },
        },
      }),
    );
  });
  afterEach(async () => {
    await world.dispose();
    rmSync(root, { recursive: true, force: true });
  });

  it('given an inventory graph with host selectors, when it runs, then tasks run on the hosts they select and their work comes back', async () => {
    const file = writeGraph(
      root,
      {
        train: {
          on: 'gpu',
          command: 'hostname_is=$(echo "$SSH_CONNECTION" | cut -d" " -f3) && echo "$hostname_is" > WHERE && git add WHERE && git commit -qm train',
        },
        serve: { on: 'web', needs: ['train'], command: 'cat WHERE && echo serve > SERVE && git add SERVE && git commit -qm serve' },
      },
      { inventory: 'hosts.yaml' },
    );
    const result = await runIn(repo, world, ['run', file, '--json']);
    expect(result.code, result.stdout + result.stderr).to.equal(0);
    const tasks = Object.fromEntries(result.json!.result.tasks.map((t: { name: string; host: string }) => [t.name, t.host]));
    expect(tasks).to.deep.equal({ train: 'gpu01', serve: 'web01' });
    const session = result.json!.result.session as string;
    expect(git(repo, 'show', `graft/${session}/train:WHERE`)).to.equal(hosts.fleet.endpoints[1]!.host);
    expect(git(repo, 'log', '--format=%s', `graft/${session}/serve`))
      .to.include('serve')
      .and.to.include('train');
    const down = await runIn(repo, world, ['down', '--json']);
    expect(down.code, down.stdout + down.stderr).to.equal(0);
  });

  it('given a task whose on: is outside the inventory limit, when checked and when run, then both refuse it at tasks.X.on before any task starts', async () => {
    const file = writeGraph(root, { train: { on: 'gpu', command: 'true' }, serve: { command: 'true' } }, { inventory: 'hosts.yaml', limit: 'web' });
    const check = await runIn(repo, world, ['graph', 'check', file, '--json']);
    expect(check.code, check.stdout + check.stderr).to.equal(3);
    const run = await runIn(repo, world, ['run', file, '--json']);
    expect(run.code, run.stdout + run.stderr).to.equal(3);
    for (const result of [check, run]) {
      const problems = result.json!.error!.details!.problems as { path: string; message: string }[];
      expect(problems.map((p) => p.path)).to.deep.equal(['tasks.train.on']);
      expect(problems[0]!.message).to.include('limit "web"');
    }
    const status = await runIn(repo, world, ['status', '--json']);
    expect(
      status.json!.result.tasks.map((t: { state: string }) => t.state),
      'no task started',
    ).to.deep.equal(['pending', 'pending']);
  });
});
