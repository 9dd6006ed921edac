import { expect } from 'chai';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadGraphFile, MAX_GRAPH_FILE_BYTES } from '../../../src/core/graph/graph-file.js';
import { maxTaskNameLength } from '../../../src/core/graph/graph-values.js';
import { ConfigError, type ConfigProblem } from '../../../src/core/errors.js';
import { mergeLimits } from '../../../src/core/hosts/limits.js';

describe('graph file: loading and schema', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'graft-graph-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  let count = 0;
  /** Writes a graph file under the suite's directory (sub-paths allowed) and returns its path. */
  function write(text: string, name = `graph-${++count}.yaml`): string {
    const file = join(dir, name);
    mkdirSync(join(file, '..'), { recursive: true });
    writeFileSync(file, text);
    return file;
  }

  /** The ConfigError's problems, with the suite's directory taken off the file names. */
  async function problemsOf(file: string): Promise<ConfigProblem[]> {
    try {
      await loadGraphFile(file);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      return error.problems.map((p) => ({ ...p, file: p.file.replace(`${dir}/`, '') }));
    }
    throw new Error(`expected ${file} to be refused`);
  }
  const linesOf = async (file: string): Promise<string[]> => (await problemsOf(file)).map((p) => new ConfigError([p]).message);

  const minimal = (tasks: string, agents = '  sh: { harness: shell, command: "true" }') => `agents:\n${agents}\ntasks:\n${tasks}\n`;

  it('given the issue’s example graph, when loaded, then defaults are filled, durations are in ms and paths are absolute', async () => {
    write('Write small commits.\n', 'prompts/coder.md');
    const file = write(
      [
        'base: main',
        'hosts: { provisioner: local, count: 2 }',
        'agents:',
        '  coder:    { harness: claude, model: claude-sonnet-4-5, instructions: prompts/coder.md, secrets: [GITHUB_TOKEN] }',
        '  reviewer: { harness: gemini, model: gemini-2.5-flash }',
        '  checker:  { harness: shell, command: "npm test" }',
        'tasks:',
        '  plan:          { agent: coder, prompt: "Write PLAN.md" }',
        '  implement-api: { agent: coder, needs: [plan], prompt: "...", on: "gpu", retries: 2, timeout: 30m, secrets: [API_KEY] }',
        '  implement-ui:  { agent: coder, needs: plan, prompt: "..." }',
        '  test:          { agent: checker, needs: [implement-api, implement-ui], command: "npm test -- --grep api" }',
        '  review:        { agent: reviewer, needs: [test], approval: before, prompt: "Review it", timeout: 90 }',
      ].join('\n'),
      'feature.yaml',
    );
    const graph = await loadGraphFile(file);
    expect(graph.file).to.equal(file);
    expect(graph.base).to.equal('main');
    expect(graph.hosts).to.deep.equal({ provisioner: 'local', count: 2, slots: 4, labels: [], privacy: false });
    expect(graph.agents.coder).to.deep.equal({
      name: 'coder',
      harness: 'claude',
      model: 'claude-sonnet-4-5',
      instructions: 'Write small commits.\n',
      instructionsFile: join(dir, 'prompts/coder.md'),
      args: [],
      secrets: ['GITHUB_TOKEN'],
      gateway: true,
      telemetry: false,
    });
    expect(graph.agents.checker).to.deep.equal({ name: 'checker', harness: 'shell', command: 'npm test', args: [], secrets: [] });
    expect(Object.keys(graph.tasks)).to.deep.equal(['plan', 'implement-api', 'implement-ui', 'test', 'review']);
    expect(graph.tasks['implement-api']).to.deep.equal({
      name: 'implement-api',
      agent: 'coder',
      prompt: '...',
      needs: ['plan'],
      on: 'gpu',
      retries: 2,
      timeoutMs: 30 * 60_000,
      secrets: ['API_KEY'],
    });
    expect(graph.tasks['implement-ui']!.needs).to.deep.equal(['plan']);
    expect(graph.tasks.test!.command).to.equal('npm test -- --grep api');
    expect(graph.tasks.review).to.include({ approval: 'before', timeoutMs: 90_000, retries: 0 });
  });

  it('given no base and no hosts, when loaded, then the graph starts from HEAD on two local hosts of four slots', async () => {
    const graph = await loadGraphFile(write(minimal('  only: { agent: sh }')));
    expect(graph.base).to.equal('HEAD');
    expect(graph.hosts).to.deep.equal({ provisioner: 'local', count: 2, slots: 4, labels: [], privacy: false });
  });

  it('given hosts from an inventory or a cloud, when loaded, then the inventory is resolved from the graph’s directory and cloud settings are kept as strings', async () => {
    write('all:\n  hosts:\n    web01:\n', 'fleet/hosts.yaml');
    const onInventory = await loadGraphFile(
      write(`hosts: { inventory: hosts.yaml, limit: web, slots: 2 }\n${minimal('  only: { agent: sh }')}`, 'fleet/graph.yaml'),
    );
    expect(onInventory.hosts).to.deep.equal({ provisioner: 'static', inventory: join(dir, 'fleet/hosts.yaml'), limit: 'web', slots: 2 });
    const onCloud = await loadGraphFile(
      write(`hosts: { provisioner: ec2, count: 4, region: eu-west-1, instance-type: t3.small, disk-gb: 30 }\n${minimal('  only: { agent: sh }')}`),
    );
    expect(onCloud.hosts).to.deep.equal({
      provisioner: 'ec2',
      count: 4,
      slots: 2,
      settings: { region: 'eu-west-1', 'instance-type': 't3.small', 'disk-gb': '30' },
    });
  });

  it('given a malformed graph, when loaded, then every problem of the file is reported at once, in file order, with its line', async () => {
    const file = write(
      [
        'base: --upload-pack=evil', // 1
        'hosts: { provisioner: locl }', // 2
        'agents:', // 3
        '  coder: { harness: claud, model: x }', // 4
        '  writer: { harness: codex, model: 3 }', // 5
        '  checker: { harness: shell, model: gpt-5 }', // 6
        'tasks:', // 7
        '  plan: { agent: writer, promt: "Write PLAN.md" }', // 8
        '  build: { agent: codr, needs: [plan, plann, plan], retries: -1, timeout: soon }', // 9
        '  test:', // 10
        '    agent: checker', // 11
        '    needs: [build]', // 12
        '    approval: maybe', // 13
      ].join('\n'),
      'malformed.yaml',
    );
    expect(await linesOf(file)).to.deep.equal([
      'malformed.yaml:1: base: expected a commit-ish such as main, HEAD or a commit id (no spaces, not starting with "-"), got string "--upload-pack=evil"',
      'malformed.yaml:2: hosts.provisioner: expected one of local, static, ec2, gce, got string "locl" (did you mean "local"?)',
      'malformed.yaml:4: agents.coder.harness: expected one of shell, claude, gemini, codex, got string "claud" (did you mean "claude"?)',
      'malformed.yaml:5: agents.writer.model: expected a model name, got number 3',
      'malformed.yaml:6: agents.checker.model: "model" is for the claude, gemini and codex harnesses; a shell agent runs its command',
      'malformed.yaml:8: tasks.plan.promt: unknown key "promt" (did you mean "prompt"?); a task takes agent, prompt, command, needs, on, retries, timeout, approval, secrets, budget, network, limits',
      'malformed.yaml:8: tasks.plan: task plan needs a prompt: its agent writer (codex) has no instructions to go on',
      'malformed.yaml:9: tasks.build.retries: expected a whole number of retries from 0 to 100, got number -1',
      'malformed.yaml:9: tasks.build.timeout: expected a duration such as 90s, 30m or 2h (a bare number is seconds), got string "soon"',
      'malformed.yaml:9: tasks.build.agent: unknown agent "codr" (did you mean "coder"?); the agents are coder, writer, checker',
      'malformed.yaml:9: tasks.build.needs[1]: unknown task "plann" (did you mean "plan"?)',
      'malformed.yaml:9: tasks.build.needs[2]: "plan" is listed twice',
      'malformed.yaml:10: tasks.test: task test runs shell agent checker, which has no command: set command on the task or on agents.checker',
      'malformed.yaml:13: tasks.test.approval: expected "before" (a human approves the start) or "after" (a human approves the result), got string "maybe"',
    ]);
  });

  it('given values of the wrong type, when loaded, then each says what was expected and what was found', async () => {
    const file = write(
      [
        'hosts: [local]',
        'agents: { sh: { harness: shell, command: [ls], args: ls, secrets: [lower_case] } }',
        'tasks:',
        '  a: { agent: sh, needs: 3, retries: "2", on: 5 }',
        '  b: just-a-string',
      ].join('\n'),
    );
    expect((await problemsOf(file)).map((p) => `${p.path}: ${p.message}`)).to.have.members([
      'hosts: expected hosts (a mapping such as { provisioner: local, count: 2 }), got a list',
      'agents.sh.command: expected a shell command, got a list',
      'agents.sh.args: expected a list of arguments, e.g. ["--verbose"], got string "ls"',
      'agents.sh.secrets[0]: expected secret names in UPPER_SNAKE_CASE, e.g. GITHUB_TOKEN, got string "lower_case"',
      'tasks.a.needs: expected a list of task names, e.g. [plan], got number 3',
      'tasks.a.retries: expected a whole number of retries from 0 to 100, got string "2"',
      'tasks.a.on: expected a host selector, e.g. "gpu" or "web:&linux", got number 5',
      'tasks.b: expected a task (a mapping), got string "just-a-string"',
    ]);
  });

  it('given names outside the safe set (unicode, upper case, too long, reserved), when loaded, then each is refused saying how long a name may be', async () => {
    const longest = `t${'x'.repeat(maxTaskNameLength - 1)}`;
    const file = write(
      minimal(
        [
          `  tâche: { agent: sh }`,
          `  Build: { agent: sh }`,
          `  ${longest}: { agent: sh }`,
          `  ${longest}y: { agent: sh }`,
          '  all: { agent: sh }',
          '  "9lives": { agent: sh }',
        ].join('\n'),
        '  ağent: { harness: shell, command: ls }\n  sh: { harness: shell, command: ls }',
      ),
    );
    const problems = await problemsOf(file);
    expect(maxTaskNameLength).to.equal(17);
    expect(problems.map((p) => p.path)).to.deep.equal(['agents["ağent"]', 'tasks["tâche"]', 'tasks.Build', `tasks.${longest}y`, 'tasks.all', 'tasks.9lives']);
    expect(problems[1]!.message).to.equal(
      'task name "tâche" is not allowed: use 1 to 17 characters, a lowercase letter followed by lowercase letters, digits or dashes (it becomes part of the agent\'s Unix account graft-<session>-<task>, at most 32 characters)',
    );
    expect(problems[4]!.message).to.include('is reserved');
  });

  it('given instructions paths, when loaded, then they are read relative to the graph file (not the working directory) and a missing one is named', async () => {
    write('Review carefully.\n', 'nested/prompts/review.md');
    const file = write(
      [
        'agents:',
        '  reviewer: { harness: gemini, instructions: prompts/review.md }',
        '  writer: { harness: claude, instructions: prompts/missing.md }',
        'tasks:',
        '  review: { agent: reviewer }',
        '  write: { agent: writer, prompt: go }',
      ].join('\n'),
      'nested/graph.yaml',
    );
    expect(await linesOf(file)).to.deep.equal([
      `nested/graph.yaml:3: agents.writer.instructions: instructions file prompts/missing.md (${join(dir, 'nested/prompts/missing.md')}) not found; paths are relative to the graph file's directory`,
    ]);
    write('Write.\n', 'nested/prompts/missing.md');
    const graph = await loadGraphFile(file);
    expect(graph.agents.reviewer!.instructions).to.equal('Review carefully.\n');
    expect(graph.tasks.review!.prompt, 'an agent with instructions may run a task without a prompt').to.equal(undefined);
  });

  it('given a shell agent without a command, when a task supplies one, then it is valid, and a command on an LLM task is refused', async () => {
    const file = write(
      minimal('  a: { agent: sh, command: "make" }\n  b: { agent: llm, prompt: p, command: make }', '  sh: { harness: shell }\n  llm: { harness: claude }'),
    );
    expect((await problemsOf(file)).map((p) => `${p.path}: ${p.message}`)).to.deep.equal([
      'tasks.b.command: "command" is for shell agents; agent llm uses claude, which is given the prompt',
    ]);
  });

  it('given YAML problems (syntax, duplicate keys, several documents), when loaded, then each is reported with its line and never as a stack trace', async () => {
    expect(await linesOf(write('agents:\n  a: [1\ntasks: {}\n', 'syntax.yaml'))).to.satisfy(
      (lines: string[]) => lines.length > 0 && lines.every((l) => /^syntax\.yaml:\d+: YAML syntax at column \d+: /.test(l)),
    );
    expect(await linesOf(write('agents: {}\ntasks:\n  a: { agent: x }\n  a: { agent: y }\n', 'dup.yaml'))).to.deep.equal([
      'dup.yaml:4: duplicate key "a": a key may appear once in a mapping',
    ]);
    expect(await linesOf(write('agents: {}\n---\ntasks: {}\n', 'multi.yaml'))).to.deep.equal([
      'multi.yaml:2: the file holds several YAML documents (separated by ---); put everything in one',
    ]);
  });

  it('given an alias bomb, when loaded, then it fails fast on the alias bound', async () => {
    const bomb = [
      'agents:',
      '  a: &a [x, x, x, x, x, x, x, x, x, x]',
      '  b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]',
      '  c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]',
      '  d: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]',
      'tasks: {}',
    ].join('\n');
    expect(await linesOf(write(bomb, 'bomb.yaml'))).to.deep.equal([
      'bomb.yaml: YAML aliases expand too far (more than 100 uses); write the values out instead',
    ]);
  });

  it('given merge keys, when loaded, then a task can share settings with another', async () => {
    const graph = await loadGraphFile(write(minimal('  a: &defaults { agent: sh, retries: 3, timeout: 2h }\n  b: { <<: *defaults, needs: [a] }')));
    expect(graph.tasks.b).to.include({ agent: 'sh', retries: 3, timeoutMs: 2 * 3_600_000 });
  });

  it('given files that are not graphs (missing, a directory, empty, a list, too big), when loaded, then each gets one clear problem', async () => {
    expect(await linesOf(join(dir, 'nope.yaml'))).to.deep.equal(['nope.yaml: file not found']);
    expect(await linesOf(dir)).to.deep.equal([`${dir}: is a directory, not a file`]);
    expect(await linesOf(write('# nothing yet\n', 'empty.yaml'))).to.deep.equal(['empty.yaml: the file is empty; a graph needs at least agents: and tasks:']);
    expect(await linesOf(write('- a\n- b\n', 'list.yaml'))).to.deep.equal([
      'list.yaml:1: the top level must be a mapping with agents: and tasks: (and optionally base: and hosts:), got a list',
    ]);
    const [big] = await linesOf(write(`# ${'x'.repeat(MAX_GRAPH_FILE_BYTES)}\n`, 'big.yaml'));
    expect(big).to.match(/^big\.yaml: is \d+ bytes; the limit is 1048576 bytes \(1024 KiB\)/);
  });

  it('given missing sections and empty ones, when loaded, then each is required by name', async () => {
    expect((await problemsOf(write('base: main\n'))).map((p) => `${p.path}: ${p.message}`)).to.deep.equal([
      'agents: required: a mapping of agent names to agents (harness, model ...)',
      'tasks: required: a mapping of task names to tasks (agent, prompt, needs ...)',
    ]);
    expect((await problemsOf(write('agents: {}\ntasks:\n'))).map((p) => `${p.path}: ${p.message}`)).to.deep.equal([
      'agents: expected a mapping of agent names to agents (harness, model ...), got an empty mapping',
      'tasks: expected a mapping of task names to tasks (agent, prompt, needs ...), got nothing',
    ]);
  });

  it('given hosts settings with typos, when loaded, then they are refused with a suggestion rather than passed on', async () => {
    const file = write(`hosts: { provisioner: gce, count: 2, slot: 4, zone: europe-west1-b }\nrunners: 3\n${minimal('  only: { agent: sh, on: "~web(" }')}`);
    expect((await problemsOf(file)).map((p) => `${p.path}: ${p.message}`)).to.have.members([
      'hosts.slot: unknown key "slot" (did you mean "slots"?); cloud settings are lowercase-with-dashes names such as region or instance-type',
      'runners: unknown key "runners"; the graph file takes base, hosts, agents, tasks, budget, gateway, notify',
      'tasks.only.on: invalid regular expression in host selector term "~web(": Invalid regular expression: /web(/: Unterminated group',
    ]);
  });

  it('given network settings on agents and tasks, when loaded, then modes and allow-lists are kept and every bad entry is named with its line', async () => {
    const good = await loadGraphFile(
      write(
        [
          'agents:',
          '  sh: { harness: shell, command: "true", network: none }',
          '  fetcher: { harness: shell, command: "true", network: [10.0.0.0/8, "10.1.2.3:443", "[fd00::1]:8443", "Registry.npmjs.org:443"] }',
          'tasks:',
          '  quiet: { agent: sh }',
          '  open: { agent: sh, network: open }',
          '  fetch: { agent: fetcher }',
        ].join('\n'),
        'network.yaml',
      ),
    );
    expect(good.agents.sh!.network).to.equal('none');
    expect(good.tasks.quiet!.network).to.equal(undefined);
    expect(good.tasks.open!.network).to.equal('open');
    expect(good.agents.fetcher!.network).to.deep.equal({
      allow: [{ address: '10.0.0.0/8' }, { address: '10.1.2.3', port: 443 }, { address: 'fd00::1', port: 8443 }, { name: 'registry.npmjs.org', port: 443 }],
    });
    expect(
      await linesOf(
        write(
          [
            'agents:',
            '  sh: { harness: shell, command: "true", network: gatway }',
            'tasks:',
            '  a: { agent: sh, network: [10.0.0.0/33, "host:99999", "not a host", 7] }',
            '  b: { agent: sh, network: [] }',
            '  c: { agent: sh, network: 3 }',
          ].join('\n'),
          'bad-network.yaml',
        ),
      ),
    ).to.have.members([
      'bad-network.yaml:2: agents.sh.network: expected none, gateway, open, or an allow-list such as [10.0.0.0/8, "registry.npmjs.org:443"], got string "gatway" (did you mean "gateway"?)',
      'bad-network.yaml:4: tasks.a.network[0]: expected an address, a network (CIDR) or a host name, each with an optional :port (e.g. 10.0.0.0/8, 10.1.2.3:443, [fd00::1]:443, registry.npmjs.org:443), got "10.0.0.0/33"',
      'bad-network.yaml:4: tasks.a.network[1]: port "99999" is not 1 to 65535 in "host:99999"',
      'bad-network.yaml:4: tasks.a.network[2]: expected an address, a network (CIDR) or a host name, each with an optional :port (e.g. 10.0.0.0/8, 10.1.2.3:443, [fd00::1]:443, registry.npmjs.org:443), got "not a host"',
      'bad-network.yaml:4: tasks.a.network[3]: expected an allow-list entry as a string, got number 7',
      "bad-network.yaml:5: tasks.b.network: an empty allow-list: write network: gateway for graft's own services only, or none for nothing at all",
      'bad-network.yaml:6: tasks.c.network: expected none, gateway, open, or an allow-list such as [10.0.0.0/8, "registry.npmjs.org:443"], got number 3',
    ]);
  });

  it("given limits on agents and tasks, when loaded, then memory is in bytes, a task replaces its agent's key by key, and bad values are named with their line", async () => {
    const good = await loadGraphFile(
      write(
        [
          'agents:',
          '  sh: { harness: shell, command: "true", limits: { cpu: 2, memory: 4G, pids: 512 } }',
          'tasks:',
          '  a: { agent: sh, limits: { memory: 512M } }',
        ].join('\n'),
        'limits.yaml',
      ),
    );
    expect(good.agents.sh!.limits).to.deep.equal({ cpu: 2, memory: 4 * 1024 ** 3, pids: 512 });
    expect(good.tasks.a!.limits).to.deep.equal({ memory: 512 * 1024 ** 2 });
    expect(mergeLimits(good.agents.sh!.limits, good.tasks.a!.limits)).to.deep.equal({ cpu: 2, memory: 512 * 1024 ** 2, pids: 512 });
    expect(
      await linesOf(
        write(
          ['agents:', '  sh: { harness: shell, command: "true", limits: { cpu: 0, memory: lots, pids: 3, disk: 1G } }', 'tasks:', '  a: { agent: sh }'].join(
            '\n',
          ),
          'bad-limits.yaml',
        ),
      ),
    ).to.have.members([
      'bad-limits.yaml:2: agents.sh.limits.cpu: expected at least 0.01 CPU cores, got number 0',
      'bad-limits.yaml:2: agents.sh.limits.memory: expected an amount of memory such as 512M or 4G (K, M, G, T: powers of 1024; at least 4M), got string "lots"',
      'bad-limits.yaml:2: agents.sh.limits.pids: expected a number of processes from 16 to 1000000, got number 3',
      'bad-limits.yaml:2: agents.sh.limits.disk: unknown key "disk"; limits (cpu, memory, pids) takes cpu, memory, pids',
    ]);
  });

  it('given budgets, model lists, upstreams and gateway opt-outs, when loaded, then they are kept in micro-dollars and every bad value is named with its line', async () => {
    const good = await loadGraphFile(
      write(
        [
          'budget: "$20"',
          'gateway: { anthropic: "http://127.0.0.1:9/proxy" }',
          'agents:',
          '  coder: { harness: claude, model: claude-sonnet-5-5, models: [claude-sonnet-5*, claude-haiku-*], budget: 4.5, secrets: [ANTHROPIC_API_KEY] }',
          '  subscriber: { harness: claude, gateway: false, telemetry: true, secrets: [CLAUDE_CODE_OAUTH_TOKEN] }',
          'tasks:',
          '  impl: { agent: coder, prompt: go, budget: "$0.50" }',
          '  sub: { agent: subscriber, prompt: go }',
        ].join('\n'),
        'budgets.yaml',
      ),
    );
    expect(good.budgetMicroUsd).to.equal(20_000_000);
    expect(good.gateway).to.deep.equal({ anthropic: 'http://127.0.0.1:9/proxy' });
    expect(good.agents.coder).to.include({ gateway: true, budgetMicroUsd: 4_500_000, telemetry: false });
    expect(good.agents.coder!.models).to.deep.equal(['claude-sonnet-5*', 'claude-haiku-*']);
    expect(good.agents.subscriber).to.include({ gateway: false, telemetry: true });
    expect(good.tasks.impl!.budgetMicroUsd).to.equal(500_000);
    const problems = await problemsOf(
      write(
        [
          'budget: lots',
          'gateway: { anthropic: ftp://x, mistral: "http://y" }',
          'agents:',
          '  coder: { harness: claude, models: [], budget: "$-1", gateway: "no", secrets: [CLAUDE_CODE_OAUTH_TOKEN] }',
          '  sh: { harness: shell, command: "true", budget: 1 }',
          'tasks:',
          '  impl: { agent: coder, prompt: go, budget: 0 }',
          '  s: { agent: sh }',
        ].join('\n'),
        'bad-budgets.yaml',
      ),
    );
    expect(problems.map((p) => `${p.line}: ${p.path}: ${p.message}`)).to.have.members([
      '1: budget: expected a budget in dollars such as "$2" or "$0.50" (more than zero, at most 6 decimals), got string "lots"',
      '2: gateway.anthropic: expected an http(s) URL such as https://api.anthropic.com, got string "ftp://x"',
      '2: gateway.mistral: unknown key "mistral"; the gateway section (upstream base URLs per vendor) takes anthropic, openai, gemini',
      '4: agents.coder.models: list at least one model, or leave models out for the default',
      '4: agents.coder.budget: expected a budget in dollars such as "$2" or "$0.50" (more than zero, at most 6 decimals), got string "$-1"',
      '4: agents.coder.gateway: expected true (through the model gateway, the default) or false (the vendor key goes to the host), got string "no"',
      '5: agents.sh.budget: "budget" is for the claude, gemini and codex harnesses (the model gateway meters them); a shell agent calls no model through graft',
      '7: tasks.impl.budget: expected a budget in dollars such as "$2" or "$0.50" (more than zero, at most 6 decimals), got number 0',
    ]);
    const oauth = await problemsOf(
      write('agents:\n  coder: { harness: claude, secrets: [CLAUDE_CODE_OAUTH_TOKEN] }\ntasks:\n  impl: { agent: coder, prompt: go }\n', 'oauth.yaml'),
    );
    expect(oauth.map((p) => `${p.line}: ${p.path}: ${p.message}`)).to.deep.equal([
      '2: agents.coder.secrets: agent coder authenticates with CLAUDE_CODE_OAUTH_TOKEN, a subscription token the model gateway cannot forward: grant ANTHROPIC_API_KEY instead, or set gateway: false on it (its tasks are then unmetered)',
    ]);
  });
});
