import { expect } from 'chai';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { isSshdRunning } from '../../src/core/provisioners/local/sshd-server.js';
import { StateStore } from '../../src/core/state/store.js';
import { generateEd25519KeyPair, writePrivateKeyFile } from '../../src/core/ssh/index.js';
import { GraftWorld } from '../helpers/cli.js';
import { useSshdFleet } from '../helpers/sshd.js';

async function waitFor(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !condition(); i += 1) await new Promise((resolve) => setTimeout(resolve, 20));
  if (!condition()) throw new Error('condition not met within 10 s');
}

describe('e2e: inventory (static) hosts over real sshd', function () {
  this.timeout(120_000);
  const hosts = useSshdFleet(3);
  let world: GraftWorld;
  let dir: string;
  let keyFile: string;

  /** Writes an inventory for the fleet: web = hosts 0 and 1, db = host 2; pins as given. */
  function inventory(pins: (i: number) => Record<string, unknown>): string {
    const fleet = hosts.fleet;
    const entry = (i: number) => ({
      ansible_host: fleet.endpoints[i]!.host,
      ansible_port: fleet.endpoints[i]!.port,
      ansible_user: fleet.loginUser,
      ...pins(i),
    });
    const file = join(dir, `inventory-${Math.random().toString(36).slice(2)}.yaml`);
    const doc = {
      all: {
        vars: { ansible_ssh_private_key_file: 'admin_key', graft_slots: 2 },
        children: {
          web: { hosts: { web01: entry(0), web02: { ...entry(1), graft_labels: ['gpu'] } } },
          db: { hosts: { db01: entry(2) } },
        },
      },
    };
    writeFileSync(file, stringify(doc));
    return file;
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'graft-inv-'));
    keyFile = join(dir, 'admin_key');
    await writePrivateKeyFile(keyFile, hosts.fleet.clientKey.privateKey);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  beforeEach(() => {
    world = new GraftWorld({ HOME: dir });
  });
  afterEach(async () => world.dispose());

  it('given pinned keys, when up, exec with a selector and down run, then only selected hosts run and the hosts are cleaned but not destroyed', async () => {
    const file = inventory((i) => ({ graft_host_key: hosts.fleet.hosts[i]!.sshd.hostPublicKey }));
    const up = await world.run(['up', '--inventory', file, '--json']);
    expect(up.code, up.stdout + up.stderr).to.equal(0);
    expect(up.json!.result.hosts.map((h: { name: string; state: string }) => `${h.name}:${h.state}`)).to.have.members(['web01:up', 'web02:up', 'db01:up']);

    const exec = await world.run(['exec', '--on', 'web:&gpu', '--json', '--', 'echo', '$USER']);
    expect(exec.code, exec.stderr).to.equal(0);
    expect(exec.json!.result.hosts.map((r: { host: string }) => r.host)).to.deep.equal(['web02']);
    expect(exec.json!.result.hosts[0].stdout).to.deep.equal([hosts.fleet.loginUser]);

    const down = await world.run(['down', '--json']);
    expect(down.code, down.stderr).to.equal(0);
    for (const host of hosts.fleet.hosts) expect(isSshdRunning(host.sshd), 'inventory hosts must never be destroyed').to.equal(true);
  });

  it('given graft_process_privacy on one inventory host, when up runs, then that host (and only it) asks for hidden processes (hidepid, at its first agent)', async () => {
    const file = inventory((i) => ({ graft_host_key: hosts.fleet.hosts[i]!.sshd.hostPublicKey, ...(i === 0 ? { graft_process_privacy: 'yes' } : {}) }));
    const up = await world.run(['up', '--inventory', file, '--json']);
    expect(up.code, up.stdout + up.stderr).to.equal(0);
    const store = StateStore.open(join(world.home, 'state.db'));
    try {
      const asked = Object.fromEntries(store.listHosts(up.json!.result.session).map((h) => [h.name, h.meta.processPrivacy ?? 'off']));
      expect(asked).to.deep.equal({ web01: 'hidepid', web02: 'off', db01: 'off' });
    } finally {
      store.close();
    }
    const down = await world.run(['down', '--json']);
    expect(down.code, down.stderr).to.equal(0);
  });

  it('given a pinned key that does not match, when up runs, then the host is refused with exit code 6 and both fingerprints', async () => {
    const wrong = generateEd25519KeyPair('not-the-host').publicKey;
    const file = inventory((i) => ({ graft_host_key: i === 1 ? wrong : hosts.fleet.hosts[i]!.sshd.hostPublicKey }));
    const up = await world.run(['up', '--inventory', file]);
    expect(up.code).to.equal(6);
    expect(up.stderr).to.match(/web02/);
    expect(up.stderr.match(/SHA256:[A-Za-z0-9+/]{43}/g) ?? []).to.have.length.greaterThanOrEqual(2);
    expect(up.stderr).not.to.match(/\n\s+at /);
    const listed = await world.run(['hosts', '--json']);
    const states = Object.fromEntries(listed.json!.result.hosts.map((h: { name: string; state: string }) => [h.name, h.state]));
    expect(states).to.deep.equal({ web01: 'up', web02: 'failed', db01: 'up' });
  });

  it('given trust-on-first-use, when up runs, then the key the host presents is pinned and a warning says so', async () => {
    const file = inventory(() => ({ graft_host_key_policy: 'tofu' }));
    const up = await world.run(['up', '--inventory', file, '--json']);
    expect(up.code, up.stdout + up.stderr).to.equal(0);
    const web01 = up.json!.result.hosts.find((h: { name: string }) => h.name === 'web01');
    expect(web01.hostKeys[0].split(' ').slice(0, 2).join(' ')).to.equal(hosts.fleet.hosts[0]!.sshd.hostPublicKey.split(' ').slice(0, 2).join(' '));
    expect(up.json!.warnings.join('\n')).to.match(/trusted its host key on first use/);
    expect((await world.run(['down'])).code).to.equal(0);

    // First use happens once: after the host's key changes, the next session refuses it.
    await hosts.fleet.restart(hosts.fleet.hosts[0]!, { newHostKey: true });
    const again = await world.run(['up', '--inventory', file, '--json']);
    expect(again.code).to.equal(6);
    expect(again.json!.error!.details!.failed).to.deep.equal(['web01']);
    expect(again.json!.warnings.join('\n')).not.to.match(/trusted/);
  });

  it('given hosts without pins or tofu, when up runs, then it is a config error naming each host, and no session is created', async () => {
    const file = inventory(() => ({}));
    const up = await world.run(['up', '--inventory', file]);
    expect(up.code).to.equal(3);
    for (const name of ['web01', 'web02', 'db01']) expect(up.stderr).to.include(name);
    expect(up.stderr).to.include(file);
    const sessions = await world.run(['sessions', '--all', '--json']);
    expect(sessions.json!.result.sessions).to.deep.equal([]);
  });

  it('given hosts whose keys are written nowhere, when up runs with --tofu, then each key presented is trusted with a warning and pinned', async () => {
    const file = inventory(() => ({}));
    const up = await world.run(['up', '--inventory', file, '--tofu', '--json']);
    expect(up.code, up.stdout + up.stderr).to.equal(0);
    const pinned = up.json!.result.hosts.map((h: { name: string; hostKeys: string[] }) => `${h.name}:${h.hostKeys.length}`);
    expect(pinned).to.have.members(['web01:1', 'web02:1', 'db01:1']);
    expect(up.json!.warnings.filter((w: string) => /trusted its host key on first use/.test(w))).to.have.length(3);
    expect((await world.run(['up', '--tofu', '--hosts', '1'])).code).to.equal(2);
  });

  it('given no key file and a real ssh-agent holding the admin key, when up and exec run, then the admin login uses the agent; without SSH_AUTH_SOCK it is an SSH_AUTH failure (exit 5)', async () => {
    const socket = join(dir, 'agent.sock');
    const agent = spawn('ssh-agent', ['-D', '-a', socket], { stdio: 'ignore' });
    try {
      await waitFor(() => existsSync(socket));
      execFileSync('ssh-add', ['-q', keyFile], { env: { ...process.env, SSH_AUTH_SOCK: socket }, stdio: 'pipe' });
      const file = inventory((i) => ({ graft_host_key: hosts.fleet.hosts[i]!.sshd.hostPublicKey }));
      const doc = readFileSync(file, 'utf8').replace(/^\s*ansible_ssh_private_key_file: admin_key\n/m, '');
      writeFileSync(file, doc);
      const up = await world.run(['up', '--inventory', file, '--json'], { env: { SSH_AUTH_SOCK: socket } });
      expect(up.code, up.stdout + up.stderr).to.equal(0);
      const listed = await world.run(['inventory', 'check', file, '--json']);
      expect(listed.json!.result.hosts.map((h: { identityFile?: string }) => h.identityFile ?? null)).to.deep.equal([null, null, null]);
      const exec = await world.run(['exec', '--on', 'db01', '--json', '--', 'echo', 'via-agent'], { env: { SSH_AUTH_SOCK: socket } });
      expect(exec.code, exec.stderr).to.equal(0);
      expect(exec.json!.result.hosts[0].stdout).to.deep.equal(['via-agent']);
      expect((await world.run(['down'], { env: { SSH_AUTH_SOCK: socket } })).code).to.equal(0);

      const without = await world.run(['up', '--inventory', file, '--json'], { env: { SSH_AUTH_SOCK: '' } });
      expect(without.code, without.stdout + without.stderr).to.equal(5);
      expect(without.stdout + without.stderr).to.match(/No private key or ssh-agent is configured/);
    } finally {
      agent.kill();
    }
  });

  it('given a malformed inventory, when checked, then every problem is listed as file: path: message with exit code 3', async () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'all:\n  hosts:\n    a:\n      ansible_port: 70000\n      graft_slots: two\n  children:\n    web: [1, 2]\n');
    const check = await world.run(['inventory', 'check', file]);
    expect(check.code).to.equal(3);
    expect(check.stderr).to.include(`${file}: all.hosts.a.ansible_port:`);
    expect(check.stderr).to.include(`${file}: all.hosts.a.graft_slots:`);
    expect(check.stderr).to.include(`${file}: all.children.web:`);
    expect(check.stderr).not.to.match(/\n\s+at /);
  });
});
