import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../../src/core/errors.js';
import { MAX_INVENTORY_GROUPS, MAX_INVENTORY_HOSTS } from '../../../src/core/inventory/inventory-builder.js';
import { loadStaticHostSpecs, MAX_INVENTORY_FILE_BYTES, readInventoryText } from '../../../src/core/inventory/index.js';
import { pythonLiteralOrText } from '../../../src/core/inventory/python-literal.js';
import { hermeticHostSpecEnvironment } from '../../helpers/ssh-home.js';

/** Regressions found by the fuzzer (test/reliability/hostile-input.test.ts) in the inventory readers. */
const env = hermeticHostSpecEnvironment();

describe('inventories: hostile input', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'graft-hostile-inventory-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const messages = (text: string, file: string) => readInventoryText(text, file).problems.map((p) => `${p.path}: ${p.message}`);
  function refusal(run: () => unknown): ConfigError {
    try {
      run();
    } catch (error) {
      if (error instanceof ConfigError) return error;
      throw error;
    }
    throw new Error('expected a ConfigError');
  }

  it('given a device or an oversized file as the inventory or its known_hosts, when loaded, then it is refused without being read (reading /dev/zero never ends)', () => {
    expect(refusal(() => loadStaticHostSpecs('/dev/zero', { env })).message).to.equal(
      '/dev/zero: is not a regular file (a device, pipe or socket cannot be read as configuration)',
    );
    const big = join(dir, 'big.ini');
    writeFileSync(big, `# ${'x'.repeat(MAX_INVENTORY_FILE_BYTES)}\n`);
    expect(refusal(() => loadStaticHostSpecs(big, { env })).message).to.match(/big\.ini: is \d+ bytes; the limit is 4194304 bytes/);
    const inventory = join(dir, 'hosts.ini');
    writeFileSync(inventory, '[web]\nweb01 graft_known_hosts=/dev/zero\n');
    expect(refusal(() => loadStaticHostSpecs(inventory, { env })).message).to.include('cannot read known_hosts file /dev/zero: is not a regular file');
  });

  it('given a chain of 30,000 :children groups, in either order, when read, then it neither overflows the stack nor takes the whole chain per group, and the group bound is said once', () => {
    const sections = Array.from({ length: 30_000 }, (_, i) => `[g${i}:children]\ng${i + 1}\n`);
    for (const order of [sections, [...sections].reverse()]) {
      const problems = messages(`${order.join('')}[g30000]\nleaf\n`, 'chain.ini');
      expect(problems.filter((p) => p.includes(`more than ${MAX_INVENTORY_GROUPS} groups`))).to.have.length(1);
      expect(problems.every((p) => !p.includes('own ancestor'))).to.equal(true);
    }
    const { inventory, problems } = readInventoryText(
      Array.from({ length: 2_000 }, (_, i) => `[g${i}:children]\ng${i + 1}\n`)
        .reverse()
        .join('') + '[g2000]\nleaf\n',
      'chain.ini',
    );
    expect(problems).to.deep.equal([]);
    expect(inventory.hosts.get('leaf')!.groups).to.have.length(2_002); // g0 … g2000 and all
  });

  it('given host ranges naming millions of hosts, when read, then reading stops at the host bound with one problem', () => {
    const lines = Array.from({ length: 300 }, (_, i) => `h${i}-[0:9999]`).join('\n');
    const { inventory, problems } = readInventoryText(`[many]\n${lines}\n`, 'many.ini');
    expect(problems.map((p) => p.message)).to.deep.equal([
      `the inventory names more than ${MAX_INVENTORY_HOSTS} hosts; graft reads at most ${MAX_INVENTORY_HOSTS} (check host ranges such as web[1:100000])`,
    ]);
    expect(inventory.hosts.size).to.equal(MAX_INVENTORY_HOSTS);
  });

  it('given variables named like JavaScript’s own members, when checked, then constructor is an ordinary variable and __proto__ is refused by name', () => {
    const file = join(dir, 'proto.ini');
    writeFileSync(file, 'web01 graft_host_key_policy=tofu constructor=1 toString=2\n');
    expect(loadStaticHostSpecs(file, { env }).specs.map((s) => s.name)).to.deep.equal(['web01']);
    expect(messages('web01 __proto__=x\n[all:vars]\n__proto__=1\n', 'proto.ini')).to.deep.equal([
      'line 1: [ungrouped] web01: __proto__: variable name __proto__ is reserved; graft cannot keep a variable of that name',
      'line 3: [all:vars] __proto__: variable name __proto__ is reserved; graft cannot keep a variable of that name',
    ]);
    expect(messages('all:\n  vars:\n    __proto__: {graft_slots: 7}\n', 'proto.yaml')).to.deep.equal([
      'all.vars.__proto__: variable name __proto__ is reserved; graft cannot keep a variable of that name',
    ]);
  });

  it('given Python literals nested 100,000 deep or with a __proto__ key, when read, then the deep one stays text and the key stays a key', () => {
    const deep = `[${'['.repeat(100_000)}${']'.repeat(100_000)}]`;
    expect(pythonLiteralOrText(deep)).to.equal(deep);
    const dict = pythonLiteralOrText("{'__proto__': {'polluted': 1}}") as Record<string, unknown>;
    expect(Object.keys(dict)).to.deep.equal(['__proto__']);
    expect(Object.getPrototypeOf(dict)).to.equal(Object.prototype);
  });

  it('given a YAML inventory with an error on every line, when read, then the first thousand are problems and one more counts the rest', () => {
    const { problems } = readInventoryText(Array.from({ length: 3_000 }, (_, i) => `k${i}: 1\n- x`).join('\n'), 'broken.yaml');
    expect(problems).to.have.length(1_001);
    expect(problems.at(-1)!.message).to.match(/^… and \d+ more YAML errors \(\d+ in all\); the first ones usually cause the rest$/);
  });

  it('given a YAML inventory whose alias names a group containing it, when read, then it is one problem at the alias', () => {
    expect(messages('all:\n  children:\n    a: &a\n      children:\n        b: *a\n', 'loop.yaml')).to.deep.equal([
      'line 5, column 12: this alias names a value that contains it, which would nest without end',
    ]);
  });

  it('given hosts sharing one anchored set of variables, when read, then every alias resolves to it', () => {
    const hosts = Array.from({ length: 90 }, (_, i) => `    web${i}: *pinned`).join('\n');
    const { inventory, problems } = readInventoryText(`all:\n  vars:\n    shared: &pinned {graft_host_key_policy: tofu}\n  hosts:\n${hosts}\n`, 'many.yaml');
    expect(problems).to.deep.equal([]);
    expect(inventory.hosts.get('web89')!.vars.graft_host_key_policy).to.equal('tofu');
  });
});
