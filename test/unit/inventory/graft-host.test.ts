import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { expect } from 'chai';
import { ConfigError } from '../../../src/core/errors.js';
import { checkHostKeyPins, toStaticHostSpecs, type HostSpecEnvironment } from '../../../src/core/inventory/graft-host.js';
import { hostFieldMatches, knownHostKeys } from '../../../src/core/inventory/known-hosts.js';
import { readInventoryText } from '../../../src/core/inventory/load.js';
import type { Inventory } from '../../../src/core/inventory/model.js';

const FIXTURES = resolve(import.meta.dirname, '../../fixtures/inventories');
const K1 = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHakXb7nD3pKyewdUiNhuyRe67FeIrupCvyVYtmopvqe';
const K2 = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJSINYO0D1LdsXi+tBu6atOqrJ4abWkdrkLNlV0QnIoZ';
const K3 =
  'ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBCWpoS8EMrdXPSz0YAq+JDSa98vkWfU/Qa3nYFFvE0myLFE20JTMApZg7Y4gQ4cyWTamY1gWbCUsOx+KbYqEF0A=';

const env: HostSpecEnvironment = { readTextFile: (p) => readFileSync(p, 'utf8'), homeDir: '/home/tester', currentUser: 'tester', globalKnownHostsFiles: [] };
const inventoryOf = (text: string, file: string): Inventory => {
  const { inventory, problems } = readInventoryText(text, resolve(FIXTURES, file));
  expect(problems).to.deep.equal([]);
  return inventory;
};
const specProblems = (inventory: Inventory): string[] => {
  try {
    toStaticHostSpecs(inventory, env);
  } catch (error) {
    expect(error).to.be.instanceOf(ConfigError);
    return (error as ConfigError).message.split('\n');
  }
  throw new Error('expected a ConfigError');
};

describe('static host specs', () => {
  it('given connection vars, when read, then address, port, user and key file are resolved', () => {
    const inv = inventoryOf(
      [
        '[web]',
        `w1 ansible_host=10.0.0.11 ansible_port=2202 ansible_user=deploy ansible_ssh_private_key_file=keys/admin graft_host_key="${K1}"`,
        'w2 ansible_ssh_host=10.0.0.12 ansible_ssh_port=2022 ansible_ssh_user=old ansible_ssh_private_key_file=~/.ssh/id_ed25519',
        'w3:2200 graft_process_privacy=yes',
      ].join('\n'),
      'x.ini',
    );
    const [w1, w2, w3] = toStaticHostSpecs(inv, env);
    expect(w1).to.deep.equal({
      name: 'w1',
      address: '10.0.0.11',
      port: 2202,
      user: 'deploy',
      identityFile: resolve(FIXTURES, 'keys/admin'),
      slots: 1,
      labels: [],
      groups: ['web'],
      privacy: false,
      isolation: 'shared-account',
      hostKeys: [K1],
      hostKeyPolicy: 'pinned',
      knownHostsSearched: [],
    });
    expect([w2!.address, w2!.port, w2!.user, w2!.identityFile]).to.deep.equal(['10.0.0.12', 2022, 'old', '/home/tester/.ssh/id_ed25519']);
    expect([w3!.address, w3!.port, w3!.user, w3!.identityFile]).to.deep.equal(['w3', 2200, 'tester', undefined]);
    expect([w2!.privacy, w3!.privacy]).to.deep.equal([false, true]);
  });

  it('given graft vars in INI and YAML spellings, when read, then slots, labels and keys are typed', () => {
    const ini = inventoryOf(`[g]\nh graft_slots=3 graft_labels=gpu,large graft_host_key="${K1}"\n`, 'x.ini');
    const yaml = inventoryOf(
      `all:\n  hosts:\n    h:\n      graft_slots: "3"\n      graft_labels: [gpu, large]\n      graft_host_key: |\n        ${K1} comment\n        ${K3}\n`,
      'x.yaml',
    );
    expect(toStaticHostSpecs(ini, env)[0]).to.include({ slots: 3 }).and.to.have.deep.property('labels', ['gpu', 'large']);
    const y = toStaticHostSpecs(yaml, env)[0]!;
    expect([y.slots, y.labels, y.hostKeys]).to.deep.equal([3, ['gpu', 'large'], [K1, K3]]);
  });

  it('given root or become, when isolation is not set, then agents get their own accounts; otherwise they share', () => {
    const inv = inventoryOf(
      ['a ansible_user=root', 'b ansible_become=yes', 'c ansible_become=False', 'd', 'e ansible_user=root graft_isolation=shared-account'].join('\n'),
      'x.ini',
    );
    expect(toStaticHostSpecs(inv, env).map((s) => s.isolation)).to.deep.equal(['accounts', 'accounts', 'shared-account', 'shared-account', 'shared-account']);
  });

  it('given a known_hosts file, when read, then plain, [host]:port, hashed and wildcard entries pin keys', () => {
    const inv = inventoryOf(
      [
        '[web]',
        'web1.example.com',
        'h11 ansible_host=10.0.0.11',
        'h12 ansible_host=10.0.0.12 ansible_port=2202',
        'db ansible_host=db.example.com ansible_port=2222',
        'x.lab',
        '[all:vars]',
        'graft_known_hosts=known_hosts',
      ].join('\n'),
      'kh.ini',
    );
    expect(toStaticHostSpecs(inv, env).map((s) => s.hostKeys)).to.deep.equal([[K3], [K1], [K2], [K2], [K1]]);
  });

  it('given a host missing from known_hosts, when read, then the problem says how to add it', () => {
    const inv = inventoryOf('[web]\nsecret.lab graft_known_hosts=known_hosts\nnofile graft_known_hosts=/nonexistent/kh\n', 'kh.ini');
    expect(specProblems(inv)).to.deep.equal([
      `${resolve(FIXTURES, 'kh.ini')}: line 2: [web] secret.lab: graft_known_hosts: known_hosts file ${resolve(FIXTURES, 'known_hosts')} has no key for secret.lab (looked for secret.lab); add one with \`ssh-keyscan -H -p 22 secret.lab >> ${resolve(FIXTURES, 'known_hosts')}\``,
      `${resolve(FIXTURES, 'kh.ini')}: line 3: [web] nofile: graft_known_hosts: cannot read known_hosts file /nonexistent/kh: ENOENT: no such file or directory, open '/nonexistent/kh'`,
    ]);
  });

  it('given bad values everywhere, when read, then every problem is reported once, where it was written', () => {
    const yaml = [
      'all:',
      '  vars:',
      '    graft_slots: two',
      '  children:',
      '    web:',
      '      hosts:',
      '        web01:',
      '          ansible_port: 70000',
      '          graft_labels: "gpu, bad label"',
      '          graft_host_key: ssh-ed25519 notbase64',
      '          graft_host_key_policy: sometimes',
      '          graft_isolation: vm',
      '          graft_slot: 2',
      '          ansible_become: maybe',
      '        web02:',
    ].join('\n');
    const inv = readInventoryText(yaml, 'fleet.yaml').inventory;
    expect(specProblems(inv)).to.deep.equal([
      'fleet.yaml: all.children.web.hosts.web01.ansible_port: expected a port number from 1 to 65535, got 70000',
      'fleet.yaml: all.children.web.hosts.web01.ansible_become: expected a boolean (true/false, yes/no), got "maybe"',
      'fleet.yaml: all.vars.graft_slots: expected a whole number ≥ 1, got "two"',
      'fleet.yaml: all.children.web.hosts.web01.graft_labels: expected labels of letters, digits and _ . - / = (no spaces, ":", ",", "&", "!" or "*"), got "bad label"',
      'fleet.yaml: all.children.web.hosts.web01.graft_host_key: the base64 part of the ssh-ed25519 key is damaged: it does not encode a ssh-ed25519 key',
      'fleet.yaml: all.children.web.hosts.web01.graft_host_key_policy: expected "pinned" or "tofu", got "sometimes"',
      'fleet.yaml: all.children.web.hosts.web01.graft_isolation: expected "accounts" or "shared-account", got "vm"',
      'fleet.yaml: all.children.web.hosts.web01.graft_slot: unknown graft variable graft_slot: graft knows graft_slots, graft_labels, graft_host_key, graft_known_hosts, graft_jump, graft_host_key_policy, graft_isolation, graft_process_privacy',
    ]);
  });

  it('given INI group vars, when invalid, then the path names the line of the [group:vars] entry', () => {
    const inv = readInventoryText('[web]\nweb01\nweb02\n[web:vars]\ngraft_slots=two\n', 'fleet.ini').inventory;
    expect(specProblems(inv)).to.deep.equal(['fleet.ini: line 5: [web:vars] graft_slots: expected a whole number ≥ 1, got "two"']);
  });

  it('given hosts without pinned keys, when pins are checked, then each unpinned host not on tofu is a problem', () => {
    const inv = readInventoryText(`[web]\npinned graft_host_key="${K1}"\ntofu graft_host_key_policy=tofu\nbare\n`, 'pins.ini').inventory;
    expect(checkHostKeyPins(inv, toStaticHostSpecs(inv, env))).to.deep.equal([
      {
        file: 'pins.ini',
        path: 'line 4: [web] bare',
        message:
          'host bare has no pinned host key and none of /home/tester/.ssh/known_hosts, /home/tester/.ssh/known_hosts2 lists it: add the line "bare <type> <key>" to /home/tester/.ssh/known_hosts (`ssh-keyscan bare` prints it; check its fingerprint out of band first), or set graft_host_key, graft_known_hosts, or graft_host_key_policy: tofu (or `graft up --tofu`) to trust on first use',
      },
    ]);
  });
});

describe('known_hosts matching', () => {
  it('given a hashed entry written by ssh-keygen -H, when matched, then HMAC-SHA1 of the name decides', () => {
    const text = readFileSync(resolve(FIXTURES, 'known_hosts'), 'utf8');
    expect(knownHostKeys(text, ['10.0.0.11'])).to.deep.equal([K1]);
    expect(knownHostKeys(text, ['[db.example.com]:2222'])).to.deep.equal([K2]);
    expect(knownHostKeys(text, ['db.example.com'])).to.deep.equal([]);
  });

  it('given a key marked @revoked elsewhere in the file, when matched, then it is never returned', () => {
    const text = `web01 ${K1}\nweb01 ${K2}\n@revoked * ${K1}\n@cert-authority *.example.com ${K2}\n`;
    expect(knownHostKeys(text, ['web01'])).to.deep.equal([K2]);
  });

  it('given name lists, wildcards and negations, when matched, then they follow OpenSSH', () => {
    expect(hostFieldMatches('web1.example.com,198.51.100.1', '198.51.100.1')).to.equal(true);
    expect(hostFieldMatches('*.lab,!secret.lab', 'a.lab')).to.equal(true);
    expect(hostFieldMatches('*.lab,!secret.lab', 'secret.lab')).to.equal(false);
    expect(hostFieldMatches('[10.0.0.12]:2202', '10.0.0.12')).to.equal(false);
  });
});
