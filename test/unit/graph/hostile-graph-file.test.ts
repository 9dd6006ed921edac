import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadGraphFile } from '../../../src/core/graph/graph-file.js';
import { ConfigError, maxProblemsInMessage, type ConfigProblem } from '../../../src/core/errors.js';

/** Regressions found by the fuzzer (test/reliability/hostile-input.test.ts) in the graph loader. */
describe('graph file: hostile input', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'graft-hostile-graph-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  let count = 0;
  const write = (text: string) => {
    const file = join(dir, `graph-${++count}.yaml`);
    writeFileSync(file, text);
    return file;
  };
  async function refusal(file: string): Promise<ConfigError> {
    try {
      await loadGraphFile(file);
    } catch (error) {
      if (error instanceof ConfigError) return error;
      throw error;
    }
    throw new Error(`expected ${file} to be refused`);
  }
  const lines = (problems: ConfigProblem[]) => problems.map((p) => `${p.path}: ${p.message}`);

  it('given names of JavaScript’s own object members (constructor, toString), when used as agents and needs that do not exist, then they are unknown like any other name', async () => {
    // It used to crash in the cycle search (TypeError), and `agent: constructor` passed.
    const error = await refusal(
      write('agents:\n  sh: { harness: shell, command: "true" }\ntasks:\n  a: { agent: constructor }\n  b: { agent: sh, needs: [toString, hasOwnProperty] }\n'),
    );
    expect(lines(error.problems)).to.deep.equal([
      'tasks.a.agent: unknown agent "constructor"; the agents are sh',
      'tasks.b.needs[0]: unknown task "toString"',
      'tasks.b.needs[1]: unknown task "hasOwnProperty"',
    ]);
  });

  it('given a task and an agent really named constructor, when loaded, then they are ordinary names', async () => {
    const graph = await loadGraphFile(
      write(
        'agents:\n  constructor: { harness: shell, command: "true" }\ntasks:\n  constructor: { agent: constructor }\n  b: { agent: constructor, needs: [constructor] }\n',
      ),
    );
    const name: string = 'constructor';
    expect(graph.tasks.b!.needs).to.deep.equal([name]);
    expect(graph.agents[name]!.harness).to.equal('shell');
  });

  it('given __proto__ as a task or agent name, when loaded, then it is refused as a name instead of silently dropped', async () => {
    const error = await refusal(
      write(
        'agents:\n  __proto__: { harness: shell, command: "true" }\n  sh: { harness: shell, command: "true" }\ntasks:\n  __proto__: { agent: sh }\n  a: { agent: sh }\n',
      ),
    );
    expect(lines(error.problems)).to.have.length(2);
    expect(lines(error.problems)[0]).to.match(/^agents\.__proto__: agent name "__proto__" is not allowed/);
    expect(lines(error.problems)[1]).to.match(/^tasks\.__proto__: task name "__proto__" is not allowed/);
  });

  it('given an empty timeout, when loaded, then it is a problem like any other non-duration, not a crash in the duration parser', async () => {
    const error = await refusal(write('agents:\n  sh: { harness: shell, command: "true" }\ntasks:\n  a: { agent: sh, timeout: "" }\n'));
    expect(lines(error.problems)).to.deep.equal(['tasks.a.timeout: expected a duration such as 90s, 30m or 2h (a bare number is seconds), got string ""']);
  });

  it('given a merge key whose source is not a mapping, when loaded, then it is a problem of the file, not a crash', async () => {
    const error = await refusal(write('agents:\n  sh: { harness: shell, command: "true" }\ntasks:\n  a: &d [1]\n  b: { <<: *d, agent: sh }\n'));
    expect(error.message).to.match(/graph-\d+\.yaml: the YAML values cannot be built: Merge sources must be maps or map aliases$/);
  });

  it('given thousands of problems, when refused, then the message lists the first ones and counts the rest, and every one is kept', async () => {
    const tasks = Array.from({ length: 1_000 }, (_, i) => `  t${i}: { agent: nobody }`).join('\n');
    const error = await refusal(write(`agents:\n  sh: { harness: shell, command: "true" }\ntasks:\n${tasks}\n`));
    expect(error.problems).to.have.length(1_000);
    const shown = error.message.split('\n');
    expect(shown).to.have.length(maxProblemsInMessage + 1);
    expect(shown.at(-1)).to.equal(`… and ${1_000 - maxProblemsInMessage} more problems (1000 in all; --json lists every one)`);
  });

  it('given a /proc file, which says it is empty and holds megabytes, when loaded as a graph, then the size bound holds while reading', async () => {
    const error = await refusal('/proc/kallsyms');
    expect(error.message).to.equal('/proc/kallsyms: is more than 1048576 bytes; the limit is 1048576 bytes (1024 KiB). Is this the right file?');
  });

  it('given instructions files that are a device or a /proc file, when loaded, then each is a problem of its agent, read no further than the bound', async () => {
    const error = await refusal(
      write(
        'agents:\n  a: { harness: claude, instructions: /dev/zero }\n  b: { harness: claude, instructions: /proc/kallsyms }\ntasks:\n  t: { agent: a, prompt: x }\n  u: { agent: b, prompt: x }\n',
      ),
    );
    expect(lines(error.problems)).to.deep.equal([
      'agents.a.instructions: instructions file /dev/zero is not a regular file (a device, pipe or socket cannot be read as configuration)',
      'agents.b.instructions: instructions file /proc/kallsyms is more than 1048576 bytes; the limit is 1048576 bytes (1024 KiB). Is this the right file?',
    ]);
  });

  it('given a graph of more YAML tokens than a graph needs, when loaded, then it is refused at once with its line', async () => {
    const error = await refusal(write(`agents: {${Array.from({ length: 30_000 }, (_, i) => `k${i}: ${i}`).join(', ')}}\ntasks: {}\n`));
    expect(error.message).to.match(/graph-\d+\.yaml:1: the file is too large to be read as configuration: more than 100000 YAML tokens/);
  });
});
