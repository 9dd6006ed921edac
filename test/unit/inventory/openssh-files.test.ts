import { createHmac, randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { ConfigError } from '../../../src/core/errors.js';
import { checkHostKeyPins, toStaticHostSpecs, type HostSpecEnvironment, type StaticHostSpec } from '../../../src/core/inventory/graft-host.js';
import { parseProxyJump, proxyJumpFromSshArgs } from '../../../src/core/inventory/jump-spec.js';
import { readInventoryText } from '../../../src/core/inventory/load.js';
import type { Inventory } from '../../../src/core/inventory/model.js';

const K1 = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHakXb7nD3pKyewdUiNhuyRe67FeIrupCvyVYtmopvqe';
const K2 = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJSINYO0D1LdsXi+tBu6atOqrJ4abWkdrkLNlV0QnIoZ';
const HOME = '/home/tester';

/** A machine of files in memory: the test's own ~/.ssh, never the real one. */
function machine(files: Record<string, string>): HostSpecEnvironment {
  return {
    homeDir: HOME,
    currentUser: 'tester',
    globalKnownHostsFiles: ['/etc/ssh/ssh_known_hosts'],
    readTextFile(path) {
      if (!(path in files)) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
      return files[path]!;
    },
  };
}

function inventory(yaml: Record<string, unknown>): Inventory {
  const { inventory: inv, problems } = readInventoryText(JSON.stringify({ all: { hosts: yaml } }), '/inv/hosts.yaml');
  expect(problems).to.deep.equal([]);
  return inv;
}

function specs(hosts: Record<string, unknown>, files: Record<string, string>): StaticHostSpec[] {
  return toStaticHostSpecs(inventory(hosts), machine(files));
}

function problems(hosts: Record<string, unknown>, files: Record<string, string>): string {
  try {
    const inv = inventory(hosts);
    const found = checkHostKeyPins(inv, toStaticHostSpecs(inv, machine(files)));
    return found.map((p) => `${p.path}: ${p.message}`).join('\n');
  } catch (error) {
    expect(error).to.be.instanceOf(ConfigError);
    return (error as ConfigError).message;
  }
}

function hashed(name: string): string {
  const salt = randomBytes(20);
  return `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update(name).digest('base64')}`;
}

describe('OpenSSH files: known_hosts', () => {
  it("given no pin in the inventory, when the user's known_hosts lists the host hashed and by [host]:port, then those keys are pinned", () => {
    const [a, b] = specs(
      { a: { ansible_host: '10.0.0.1' }, b: { ansible_host: '10.0.0.2', ansible_port: 2222 } },
      {
        [`${HOME}/.ssh/known_hosts`]: `${hashed('10.0.0.1')} ${K1}\n[10.0.0.2]:2222 ${K2}\n10.0.0.2 ${K1}\n`,
      },
    );
    expect(a!.hostKeys).to.deep.equal([K1]);
    expect(b!.hostKeys).to.deep.equal([K2]);
  });

  it("given a key in the global file and the same key @revoked in the user's, when read, then it is not trusted and the host is refused with the line to add", () => {
    const files = { [`${HOME}/.ssh/known_hosts`]: `@revoked * ${K1}\n`, '/etc/ssh/ssh_known_hosts': `10.0.0.1 ${K1}\n` };
    expect(specs({ a: { ansible_host: '10.0.0.1' } }, files)[0]!.hostKeys).to.deep.equal([]);
    expect(problems({ a: { ansible_host: '10.0.0.1' } }, files)).to.contain(
      `host a has no pinned host key and none of ${HOME}/.ssh/known_hosts, ${HOME}/.ssh/known_hosts2, /etc/ssh/ssh_known_hosts lists it: add the line "10.0.0.1 <type> <key>" to ${HOME}/.ssh/known_hosts (\`ssh-keyscan 10.0.0.1\` prints it`,
    );
  });

  it('given only a @cert-authority line for the host, when read, then graft says it cannot verify host certificates', () => {
    const text = problems({ a: { ansible_host: 'a.example.com' } }, { [`${HOME}/.ssh/known_hosts`]: `@cert-authority *.example.com ${K1}\n` });
    expect(text).to.contain(`@cert-authority lines (${HOME}/.ssh/known_hosts:1)`).and.to.contain('cannot verify host certificates');
  });

  it('given graft_host_key, when known_hosts lists another key, then the inventory wins', () => {
    expect(specs({ a: { ansible_host: '10.0.0.1', graft_host_key: K2 } }, { [`${HOME}/.ssh/known_hosts`]: `10.0.0.1 ${K1}\n` })[0]!.hostKeys).to.deep.equal([
      K2,
    ]);
  });
});

describe('OpenSSH files: ~/.ssh/config', () => {
  const config = [
    'Host web1',
    '  HostName 10.1.0.1',
    'Host web2',
    '  HostName 10.1.0.2',
    'Host web*',
    '  User deploy',
    '  IdentityFile ~/.ssh/missing',
    '  IdentityFile ~/.ssh/deploy_key',
    'Match host 10.1.0.2',
    '  Port 2202',
    '  UserKnownHostsFile ~/.ssh/fleet_hosts',
    'Match exec "false"',
    '  User never',
    'Host *',
    '  User fallback',
    '',
  ].join('\n');
  const files = {
    [`${HOME}/.ssh/config`]: config,
    [`${HOME}/.ssh/deploy_key`]: 'key',
    [`${HOME}/.ssh/known_hosts`]: `10.1.0.1 ${K1}\nother ${K1}\n`,
    [`${HOME}/.ssh/fleet_hosts`]: `[10.1.0.2]:2202 ${K2}\n`,
  };

  it('given Host and Match host blocks, when hosts are read, then HostName, User, Port, IdentityFile and UserKnownHostsFile apply, first value winning', () => {
    const [web1, web2, other] = specs({ web1: {}, web2: {}, other: {} }, files);
    expect(web1).to.deep.include({ address: '10.1.0.1', user: 'deploy', port: 22, identityFile: `${HOME}/.ssh/deploy_key`, hostKeys: [K1] });
    expect(web2).to.deep.include({ address: '10.1.0.2', user: 'deploy', port: 2202, hostKeys: [K2] });
    expect(other).to.deep.include({ address: 'other', user: 'fallback', identityFile: undefined });
  });

  it("given inventory vars, when the config says otherwise, then the inventory wins (Ansible's order)", () => {
    const [web1] = specs({ web1: { ansible_user: 'ops', ansible_port: 2022, ansible_ssh_private_key_file: '/keys/ops', graft_host_key: K2 } }, files);
    expect(web1).to.deep.include({ address: '10.1.0.1', user: 'ops', port: 2022, identityFile: '/keys/ops', hostKeys: [K2] });
  });

  it("given IdentitiesOnly without an existing IdentityFile, when read, then OpenSSH's default identity is used, and a problem when there is none", () => {
    const only = `Host *\n  IdentitiesOnly yes\n`;
    expect(specs({ a: { graft_host_key: K1 } }, { [`${HOME}/.ssh/config`]: only, [`${HOME}/.ssh/id_ecdsa`]: 'key' })[0]!.identityFile).to.equal(
      `${HOME}/.ssh/id_ecdsa`,
    );
    expect(problems({ a: { graft_host_key: K1 } }, { [`${HOME}/.ssh/config`]: only })).to.contain('IdentitiesOnly yes');
  });
});

describe('jump hosts', () => {
  it('reads ProxyJump values and ssh options as OpenSSH writes them', () => {
    expect(parseProxyJump('ops@b1:2222,ssh://b2,[fe80::1]:22')).to.deep.equal([
      { user: 'ops', host: 'b1', port: 2222 },
      { user: undefined, host: 'b2', port: undefined },
      { user: undefined, host: 'fe80::1', port: 22 },
    ]);
    expect(parseProxyJump('none')).to.deep.equal([]);
    expect(parseProxyJump('a b')).to.have.property('error');
    expect(proxyJumpFromSshArgs("-o StrictHostKeyChecking=no -o 'ProxyJump=ops@b1'")).to.deep.equal({ jump: 'ops@b1' });
    expect(proxyJumpFromSshArgs('-J b1,b2 -C')).to.deep.equal({ jump: 'b1,b2' });
    expect(proxyJumpFromSshArgs('-oProxyJump=b1')).to.deep.equal({ jump: 'b1' });
    expect(proxyJumpFromSshArgs('-o "ProxyJump b1"')).to.deep.equal({ jump: 'b1' });
    expect(proxyJumpFromSshArgs('-o ProxyCommand="ssh -W %h:%p b1"')).to.have.property('error').that.contains('ProxyCommand is not supported');
    expect(proxyJumpFromSshArgs('-C')).to.deep.equal({ jump: undefined });
  });

  it('given graft_jump naming inventory hosts, when read, then the chain uses their logins and pinned keys, first hop first', () => {
    const [, , inner] = specs(
      {
        outer: { ansible_host: '192.0.2.1', ansible_user: 'gate', ansible_ssh_private_key_file: '/k/gate', graft_host_key: K1 },
        middle: { ansible_host: '10.0.0.1', graft_host_key: K2, graft_jump: 'outer' },
        inner: { ansible_host: '10.0.1.1', graft_host_key: K2, graft_jump: 'middle', ansible_ssh_private_key_file: '/k/inner' },
      },
      {},
    );
    expect(inner!.jump).to.deep.equal({
      name: 'middle',
      address: '10.0.0.1',
      port: 22,
      user: 'tester',
      hostKeys: [K2],
      identityFile: undefined,
      jump: { name: 'outer', address: '192.0.2.1', port: 22, user: 'gate', hostKeys: [K1], identityFile: '/k/gate' },
    });
  });

  it("given ProxyJump in ~/.ssh/config and a jump host known from known_hosts, when read, then the jump uses the config's login and the target's key by default", () => {
    const files = {
      [`${HOME}/.ssh/config`]: 'Host inner\n  ProxyJump gate\nHost gate\n  HostName 192.0.2.7\n  User ops\n  Port 2200\n',
      [`${HOME}/.ssh/known_hosts`]: `[192.0.2.7]:2200 ${K1}\n`,
    };
    const [inner] = specs({ inner: { ansible_ssh_private_key_file: '/k/admin', graft_host_key: K2 } }, files);
    expect(inner!.jump).to.deep.equal({ name: 'gate', address: '192.0.2.7', port: 2200, user: 'ops', hostKeys: [K1], identityFile: '/k/admin' });
    // graft_jump wins over the config; `none` turns the jump off.
    expect(specs({ inner: { graft_host_key: K2, graft_jump: 'none' } }, files)[0]!.jump).to.equal(undefined);
  });

  it('given jump hosts graft cannot trust or use, when read, then each is a problem naming the variable and the fix', () => {
    const text = problems(
      {
        a: { graft_host_key: K1, graft_jump: 'unknown.example.com' },
        b: { graft_host_key: K1, graft_jump: 'c' },
        c: { graft_host_key: K1, graft_jump: 'b' },
        d: { graft_host_key: K1, graft_jump: 'e' },
        e: { graft_host_key_policy: 'tofu' },
        f: { graft_host_key_policy: 'tofu', graft_jump: 'a' },
        g: { graft_host_key: K1, ansible_ssh_common_args: '-o ProxyCommand="nc %h %p"' },
      },
      {},
    );
    expect(text).to.contain('all.hosts.a.graft_jump: jump host unknown.example.com (unknown.example.com:22) has no known host key');
    expect(text).to.contain('add the line "unknown.example.com <type> <key>"');
    expect(text).to.match(/all\.hosts\.[bc]\.graft_jump: jump host [bc] leads back to itself/);
    expect(text).to.contain('all.hosts.d.graft_jump: jump host e has no pinned host key');
    expect(text).to.contain(
      'all.hosts.f.graft_jump: host f is behind a jump host, where trust on first use (graft_host_key_policy: tofu, --tofu) cannot read its key',
    );
    expect(text).to.contain('all.hosts.g.ansible_ssh_common_args: ProxyCommand is not supported');
    const fromConfig = problems({ h: { graft_host_key: K1, ansible_ssh_extra_args: '-C' } }, { [`${HOME}/.ssh/config`]: 'Host h\n  ProxyJump nowhere\n' });
    expect(fromConfig).to.contain(`all.hosts.h: ProxyJump of ${HOME}/.ssh/config: jump host nowhere (nowhere:22) has no known host key`);
  });
});
