/**
 * graft must read an inventory exactly as Ansible does. For every fixture under
 * test/fixtures/inventories, run the real `ansible-inventory -i FILE --list` and
 * compare hosts, groups (direct hosts and children), transitive membership, the
 * effective variables of every host, and the connection/graft settings graft derives.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { loadInventory, toStaticHostSpecs, type HostSpecEnvironment, type Inventory } from '../../../src/core/inventory/index.js';

const run = promisify(execFile);
const FIXTURES = resolve(import.meta.dirname, '../../fixtures/inventories');
const EXAMPLES = resolve(import.meta.dirname, '../../../inventories');
const isInventory = (f: string): boolean => f !== 'README.md' && !f.startsWith('known_hosts');
// The fixtures, and the example inventories shipped to users.
const FILES = [
  ...readdirSync(FIXTURES)
    .filter(isInventory)
    .sort()
    .map((f) => join(FIXTURES, f)),
  ...readdirSync(EXAMPLES)
    .filter(isInventory)
    .sort()
    .map((f) => join(EXAMPLES, f)),
];

interface AnsibleList {
  _meta: { hostvars: Record<string, Record<string, unknown>> };
  [group: string]: { hosts?: string[]; children?: string[] } | AnsibleList['_meta'];
}
type GroupShape = Record<string, { hosts: string[]; children: string[] }>;

const testEnv: HostSpecEnvironment = {
  readTextFile: (p) => readFileSync(p, 'utf8'),
  homeDir: '/home/tester',
  currentUser: 'tester',
  globalKnownHostsFiles: [],
};

function ansibleGroups(list: AnsibleList): GroupShape {
  const out: GroupShape = {};
  for (const [name, g] of Object.entries(list)) {
    if (name === '_meta') continue;
    const group = g as { hosts?: string[]; children?: string[] };
    out[name] = { hosts: [...(group.hosts ?? [])].sort(), children: [...(group.children ?? [])].sort() };
  }
  return out;
}

/** Our groups in ansible-inventory's shape: `all` lists no hosts, and groups with neither hosts nor children are left out. */
function graftGroups(inventory: Inventory): GroupShape {
  const out: GroupShape = {};
  for (const [name, g] of Object.entries(inventory.groups)) {
    const hosts = name === 'all' ? [] : [...g.hosts].sort();
    if (hosts.length === 0 && g.children.length === 0) continue;
    out[name] = { hosts, children: [...g.children].sort() };
  }
  return out;
}

function membership(groups: GroupShape, host: string): string[] {
  const parents = new Map<string, string[]>();
  for (const [name, g] of Object.entries(groups)) for (const c of g.children) parents.set(c, [...(parents.get(c) ?? []), name]);
  const out = new Set<string>(['all']);
  const visit = (g: string): void => {
    if (out.has(g) && g !== 'all') return;
    out.add(g);
    for (const p of parents.get(g) ?? []) visit(p);
  };
  for (const [name, g] of Object.entries(groups)) if (g.hosts.includes(host)) visit(name);
  return [...out].sort();
}

describe('inventory parity with ansible-inventory', function () {
  const lists = new Map<string, AnsibleList>();
  let home: string;

  before(async function () {
    this.timeout(120_000);
    home = mkdtempSync(join(tmpdir(), 'graft-ansible-'));
    // Keep Ansible out of the user's home and any ansible.cfg around, and make unparsable fixtures fail loudly.
    const env = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: home,
      ANSIBLE_LOCAL_TEMP: join(home, 'tmp'),
      ANSIBLE_CONFIG: join(home, 'none.cfg'),
      ANSIBLE_LOCALHOST_WARNING: 'False',
      ANSIBLE_INVENTORY_UNPARSED_WARNING: 'False',
      ANSIBLE_INVENTORY_UNPARSED_FAILED: 'True',
      ANSIBLE_NOCOLOR: '1',
    };
    try {
      await run('ansible-inventory', ['--version'], { env, cwd: home });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new Error('ansible-inventory is not installed, and the parity test needs it: apt-get install ansible');
      }
      throw error;
    }
    const outputs = await Promise.all(FILES.map((f) => run('ansible-inventory', ['-i', f, '--list'], { env, cwd: home, maxBuffer: 16 << 20 })));
    FILES.forEach((f, i) => lists.set(f, JSON.parse(outputs[i]!.stdout) as AnsibleList));
  });

  after(() => {
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('has at least 8 fixtures', () => {
    expect(FILES.filter((f) => f.startsWith(FIXTURES)).length).to.be.at.least(8);
  });

  for (const file of FILES) {
    describe(relative(resolve(import.meta.dirname, '../../..'), file), () => {
      const load = (): Inventory => loadInventory(file);

      it('lists the same hosts, groups and children', () => {
        const theirs = ansibleGroups(lists.get(file)!);
        const ours = graftGroups(load());
        expect(ours).to.deep.equal(theirs);
      });

      it('gives every host the same groups, transitively', () => {
        const theirs = ansibleGroups(lists.get(file)!);
        for (const host of load().hosts.values()) expect(host.groups, host.name).to.deep.equal(membership(theirs, host.name));
      });

      it('gives every host the same effective variables', () => {
        const hostvars = lists.get(file)!._meta.hostvars;
        const inventory = load();
        expect([...inventory.hosts.keys()].sort()).to.include.members(Object.keys(hostvars));
        for (const host of inventory.hosts.values()) {
          expect(JSON.parse(JSON.stringify(host.vars)), host.name).to.deep.equal(hostvars[host.name] ?? {});
        }
      });

      it('derives connection and graft settings from the values Ansible reports', () => {
        const hostvars = lists.get(file)!._meta.hostvars;
        for (const spec of toStaticHostSpecs(load(), testEnv)) {
          const hv = hostvars[spec.name] ?? {};
          expect(spec.address, spec.name).to.equal(hv.ansible_host ?? hv.ansible_ssh_host ?? spec.name);
          expect(spec.port, spec.name).to.equal(Number(hv.ansible_port ?? hv.ansible_ssh_port ?? 22));
          expect(spec.user, spec.name).to.equal(hv.ansible_user ?? hv.ansible_ssh_user ?? 'tester');
          expect(spec.slots, spec.name).to.equal(Number(hv.graft_slots ?? 1));
          const labels = hv.graft_labels === undefined ? [] : Array.isArray(hv.graft_labels) ? hv.graft_labels : String(hv.graft_labels).split(',');
          expect(spec.labels, spec.name).to.deep.equal(labels);
          expect(spec.groups, spec.name).to.deep.equal(membership(ansibleGroups(lists.get(file)!), spec.name).filter((g) => g !== 'all'));
        }
      });
    });
  }
});
