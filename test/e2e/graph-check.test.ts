import { expect } from 'chai';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GraftWorld } from '../helpers/cli.js';

describe('e2e: graft graph check', function () {
  this.timeout(60_000);
  let world: GraftWorld;
  let dir: string;

  before(() => {
    world = new GraftWorld();
    dir = mkdtempSync(join(tmpdir(), 'graft-graph-e2e-'));
    mkdirSync(join(dir, 'prompts'));
    writeFileSync(join(dir, 'prompts', 'coder.md'), 'Keep commits small.\n');
  });
  after(async () => {
    await world.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  function write(name: string, lines: string[]): string {
    const file = join(dir, name);
    writeFileSync(file, lines.join('\n') + '\n');
    return file;
  }

  const good = () =>
    write('feature.yaml', [
      'base: main',
      'agents:',
      '  coder:    { harness: claude, model: claude-sonnet-4-5, instructions: prompts/coder.md, secrets: [GITHUB_TOKEN] }',
      '  reviewer: { harness: gemini, model: gemini-2.5-flash }',
      '  checker:  { harness: shell, command: "npm test" }',
      '  spare:    { harness: codex }',
      'tasks:',
      '  review:        { agent: reviewer, needs: [test], approval: before, prompt: "Review the change" }',
      '  test:          { agent: checker, needs: [implement-api, implement-ui] }',
      '  implement-ui:  { agent: coder, needs: [plan], prompt: "Build the UI" }',
      '  implement-api: { agent: coder, needs: [plan], prompt: "Build the API", retries: 2, timeout: 30m }',
      '  plan:          { agent: coder, prompt: "Write PLAN.md" }',
    ]);

  it('given a valid graph, when checked, then the tasks are listed in run order with their agent, harness and gates, and an unused agent is a warning', async () => {
    const run = await world.run(['graph', 'check', good()]);
    expect(run.code, run.stderr).to.equal(0);
    const rows = run.stdout.split('\n').filter((l) => /^(plan|implement|test|review)/.test(l));
    expect(rows.map((r) => r.split(/\s+/)[0])).to.deep.equal(['plan', 'implement-ui', 'implement-api', 'test', 'review']);
    expect(rows[2]).to.match(/^implement-api\s+plan\s+coder\s+claude\s+claude-sonnet-4-5\s+-\s+retries 2, timeout 30m$/);
    expect(rows[4]).to.match(/^review\s+test\s+reviewer\s+gemini\s+gemini-2\.5-flash\s+-\s+approval before$/);
    expect(run.stdout).to.match(/feature\.yaml: 5 task\(s\), 4 agent\(s\) on local hosts \(2 × 4 slots\), base main: OK/);
    expect(run.stderr).to.include('agents.spare is not used by any task');
  });

  it('given a valid graph and --json, when checked, then the result holds the tasks in run order with critical paths and no instructions text', async () => {
    const run = await world.run(['graph', 'check', good(), '--json']);
    expect(run.code).to.equal(0);
    const result = run.json!.result;
    expect(result.tasks.map((t: { name: string; criticalPath: number }) => `${t.name}:${t.criticalPath}`)).to.deep.equal([
      'plan:4',
      'implement-ui:3',
      'implement-api:3',
      'test:2',
      'review:1',
    ]);
    expect(result.tasks[2]).to.deep.include({ agent: 'coder', harness: 'claude', retries: 2, timeoutMs: 1_800_000, secrets: ['GITHUB_TOKEN'] });
    const coder = result.agents.find((a: { name: string }) => a.name === 'coder');
    expect(coder).to.deep.equal({
      name: 'coder',
      harness: 'claude',
      model: 'claude-sonnet-4-5',
      instructionsFile: join(dir, 'prompts', 'coder.md'),
      args: [],
      secrets: ['GITHUB_TOKEN'],
      gateway: true,
      telemetry: false,
    });
    expect(result.hosts).to.deep.equal({ provisioner: 'local', count: 2, slots: 4, labels: [], privacy: false });
    expect(run.json!.warnings).to.deep.equal([`${join(dir, 'feature.yaml')}: agents.spare is not used by any task`]);
  });

  const bad = () =>
    write('bad.yaml', [
      'agents:',
      '  coder: { harness: claude, instructions: prompts/nope.md }',
      '  checker: { harness: shel, command: ls }',
      'tasks:',
      '  plan: { agent: coder, promt: "x" }',
      '  build: { agent: coder, prompt: "y", needs: [plan, tset] }',
      '  test: { agent: checker, needs: [build, deploy] }',
      '  deploy: { agent: checker, needs: [test], timeout: later }',
    ]);

  it('given a malformed graph, when checked, then every problem is printed at once with its line, exit code 3 and no stack trace', async () => {
    const run = await world.run(['graph', 'check', bad()]);
    expect(run.code).to.equal(3);
    expect(run.stdout).to.equal('');
    const file = join(dir, 'bad.yaml');
    expect(run.stderr).to.include(`error: ${file}:2: agents.coder.instructions: instructions file prompts/nope.md`);
    for (const line of [
      `${file}:3: agents.checker.harness: expected one of shell, claude, gemini, codex, got string "shel" (did you mean "shell"?)`,
      `${file}:5: tasks.plan.promt: unknown key "promt" (did you mean "prompt"?)`,
      `${file}:6: tasks.build.needs[1]: unknown task "tset" (did you mean "test"?)`,
      `${file}:7: tasks.test.needs: cycle: test → deploy → test (each task needs the next, so none of them can start)`,
      `${file}:8: tasks.deploy.timeout: expected a duration such as 90s, 30m or 2h (a bare number is seconds), got string "later"`,
    ]) {
      expect(run.stderr).to.include(line);
    }
    expect(run.stderr).to.include('try: Every key of the graph file is described in docs/graph.md');
    expect(run.stderr).not.to.match(/\n\s+at /);
  });

  it('given a malformed graph and --json, when checked, then the problems are structured with file, path, line and message', async () => {
    const run = await world.run(['graph', 'check', bad(), '--json']);
    expect(run.code).to.equal(3);
    expect(run.json!.status).to.equal(3);
    expect(run.json!.error!.code).to.equal('CONFIG_INVALID');
    const problems = run.json!.error!.details!.problems as { path: string; line: number }[];
    expect(problems.map((p) => `${p.line} ${p.path}`)).to.deep.equal([
      '2 agents.coder.instructions',
      '3 agents.checker.harness',
      '5 tasks.plan.promt',
      '6 tasks.build.needs[1]',
      '7 tasks.test.needs',
      '8 tasks.deploy.timeout',
    ]);
  });

  it('given a graph on inventory hosts, when a task’s selector matches none of them, then the check names the task and the labels there are', async () => {
    write('hosts.yaml', [
      'all:',
      '  vars: { graft_host_key_policy: tofu }',
      '  children:',
      '    web:',
      '      hosts:',
      '        web01: { ansible_host: 127.0.0.1, graft_labels: [linux] }',
    ]);
    const file = write('on-inventory.yaml', [
      'hosts: { inventory: hosts.yaml }',
      'agents: { sh: { harness: shell, command: "true" } }',
      'tasks:',
      '  build: { agent: sh, on: web }',
      '  train: { agent: sh, on: gpu }',
    ]);
    const run = await world.run(['graph', 'check', file]);
    expect(run.code).to.equal(3);
    expect(run.stderr).to.include(
      `error: ${file}: tasks.train.on: "gpu" in host pattern "gpu" matches no host; known groups: web; known labels: linux; known hosts: web01`,
    );
    expect(run.stderr).not.to.include('tasks.build');
  });

  it('given no file argument, when run, then the usage error says what is missing with exit code 2', async () => {
    const run = await world.run(['graph', 'check']);
    expect(run.code).to.equal(2);
    expect(run.stderr).to.match(/Missing 1 required arg/);
  });
});
