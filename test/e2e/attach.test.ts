import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { graftBin, GraftWorld } from '../helpers/cli.js';
import { git, makeRepo } from '../helpers/git-repo.js';
import { LocalTerminal } from '../helpers/terminal.js';

async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  throw new Error(`not in time: ${what}`);
}

describe('e2e: graft attach — joining a task terminal on its host (real sshd, real tmux)', function () {
  this.timeout(300_000);
  let world: GraftWorld;
  let root: string;
  let repo: string;
  let session: string;
  const terminals: LocalTerminal[] = [];
  const graft = (args: string[]) => world.run(args, { cwd: repo, timeoutMs: 120_000 });
  /** `graft attach ARGS` on a real terminal (a local tmux pane). */
  const attach = (args: string[]) => {
    const terminal = new LocalTerminal(`${process.execPath} ${graftBin} attach ${args.join(' ')}`, { ...world.env, GRAFT_ATTACH_BY: 'alice' });
    terminals.push(terminal);
    return terminal;
  };
  const state = async (task: string) => (await graft(['status', '--json'])).json!.result.tasks.find((t: { name: string }) => t.name === task).state as string;

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'graft-attach-'));
    repo = makeRepo(root);
    world = new GraftWorld();
    const graph = join(root, 'graph.yaml');
    writeFileSync(
      graph,
      stringify({
        base: 'main',
        hosts: { provisioner: 'local', count: 1, slots: 2 },
        agents: { sh: { harness: 'shell' } },
        tasks: {
          // Waits for a person to type a line into its terminal, and commits what it heard.
          talker: {
            agent: 'sh',
            command:
              'echo "talker is waiting for a line"\nread line\necho "heard: $line"\nprintf "%s\\n" "$line" > HEARD && git add HEARD && git commit -qm heard',
          },
          other: { agent: 'sh', command: 'sleep 3600' },
        },
      }),
    );
    const started = await graft(['run', graph, '--detach', '--json']);
    expect(started.code, started.stderr).to.equal(0);
    session = started.json!.result.session;
    await until(async () => (await state('talker')) === 'running' && (await state('other')) === 'running', 'both tasks running');
    await until(async () => (await graft(['logs', 'talker'])).stdout.includes('talker is waiting'), 'talker waiting for its line');
  });
  after(async () => {
    for (const terminal of terminals) terminal.close();
    await world.dispose();
    rmSync(root, { recursive: true, force: true });
  });

  it('given a running task, when a person attaches read-only, then they see its output, their keys do not reach it, and detaching leaves it running', async () => {
    const terminal = attach(['talker']);
    await until(() => terminal.screen().includes('talker is waiting for a line'), 'the task output on the attached terminal');
    terminal.keys('ignored', 'Enter');
    terminal.keys('C-b', 'd');
    await until(() => terminal.screen().includes('EXIT=0'), 'attach to end after detaching');
    expect(terminal.screen()).to.include('[detached');
    expect(await state('talker')).to.equal('running');
    expect((await graft(['logs', 'talker'])).stdout).not.to.include('heard');
  });

  it("given a running task, when another agent's account tries its terminal, then the host refuses it", async () => {
    const agents = (await graft(['agent', 'ls', '--json'])).json!.result.agents as { name: string; home: string; account: string }[];
    const talker = agents.find((a) => a.name === 'talker')!;
    const socket = `${talker.home}/.graft/task/tmux.sock`;
    const tries = await graft([
      'agent',
      'exec',
      'other',
      '--json',
      '--',
      'sh',
      '-c',
      `tmux -S ${socket} send-keys -t task intruder Enter; echo "send=$?"; script -eqc "tmux -S ${socket} attach -r -t task" /dev/null; echo "attach=$?"`,
    ]);
    const { stdout, stderr } = tries.json!.result;
    expect(stdout)
      .to.match(/send=1/)
      .and.to.match(/attach=1/);
    expect(stdout + stderr).to.include('Permission denied');
    expect(await state('talker')).to.equal('running');
  });

  it('given a running task, when a person attaches with --write and types a line, then the task reads it and finishes', async () => {
    const terminal = attach(['talker', '--write']);
    await until(() => terminal.screen().includes('talker is waiting for a line'), 'the task output on the attached terminal');
    terminal.keys('hello from a person', 'Enter');
    await until(async () => (await state('talker')) === 'succeeded', 'talker to finish');
    await until(() => terminal.screen().includes('EXIT=0'), 'attach to end with the task');
    expect(git(repo, 'show', `graft/${session}/talker:HEARD`)).to.equal('hello from a person');
    expect((await graft(['logs', 'talker'])).stdout).to.include('heard: hello from a person');
    const audit = readFileSync(join(world.home, 'sessions', session, 'audit.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const attaches = audit.filter((e) => e.code === 'task.attached').map((e) => `${e.data.by} ${e.data.task} ${e.data.mode}`);
    expect(attaches).to.deep.equal(['alice talker read-only', 'alice talker write']);
    expect(audit.filter((e) => e.code === 'task.detached')).to.have.length(2);
  });

  it('given no terminal or a task that is not running, when attach is run, then it fails with a usage error that says why', async () => {
    const noTty = await graft(['attach', 'other', '--json']);
    expect(noTty.code).to.equal(2);
    expect(noTty.json!.error!.message).to.match(/needs a terminal/);
    const done = await graft(['attach', 'talker', '--json']);
    expect(done.code).to.equal(2);
    expect(done.json!.error!.message).to.match(/talker is not running \(it is succeeded\)/);
    expect((await graft(['attach', 'nobody'])).code).to.equal(4);
  });
});
