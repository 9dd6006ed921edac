import { expect } from 'chai';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { maxLogBytes } from '../../src/core/controller/task-log.js';
import { stopSshd } from '../../src/core/provisioners/local/sshd-server.js';
import { fingerprintSha256, generateEd25519KeyPair, writePrivateKeyFile } from '../../src/core/ssh/index.js';
import { GraftWorld } from '../helpers/cli.js';
import { useSshdFleet, type FakeServer, type SshdFleet } from '../helpers/sshd.js';
import { runBounded, until, type BoundedRun } from './helpers/bounded-run.js';
import { recordFault } from './helpers/fault-summary.js';
import { makeRepo, writeGraph } from './helpers/graph-repo.js';
import { startHostileListener, type HostileKind } from './helpers/hostile-listeners.js';

/**
 * Hosts that hang, drip, change their key or flood, on loopback. Every command is run with a
 * short connect timeout and a hard bound on its wall time well below graft's other limits (the
 * 15 s reach check of `up`, the 5 min of `exec`), so only the connect timeout can end it in time.
 */

const connectTimeout = { GRAFT_CONNECT_TIMEOUT: '2s' };
/** Startup of the CLI plus the 2 s connect timeout, with room for a loaded machine; far below 15 s. */
const connectBoundMs = 10_000;
/** A generous bound on the resident memory of any graft process facing a flood. */
const memoryBoundMb = 400;
const floodBytes = 200 * 1024 * 1024;

function inventoryOf(dir: string, keyFile: string, hosts: Record<string, { address: string; port: number; user: string; hostKey: string }>): string {
  const file = join(dir, `inventory-${Math.random().toString(36).slice(2)}.yaml`);
  const entries = Object.fromEntries(
    Object.entries(hosts).map(([name, h]) => [name, { ansible_host: h.address, ansible_port: h.port, ansible_user: h.user, graft_host_key: h.hostKey }]),
  );
  writeFileSync(file, stringify({ all: { vars: { ansible_ssh_private_key_file: keyFile }, hosts: entries } }));
  return file;
}

function fleetInventory(dir: string, keyFile: string, fleet: SshdFleet): string {
  return inventoryOf(
    dir,
    keyFile,
    Object.fromEntries(
      fleet.hosts.map((h, i) => [`h${i}`, { address: h.endpoint.host, port: h.endpoint.port, user: fleet.loginUser, hostKey: h.sshd.hostPublicKey }]),
    ),
  );
}

const noStackTrace = (run: BoundedRun) => expect(run.stderr, 'no stack trace').to.not.match(/\n\s+at /);

describe('reliability: slow and hostile hosts (loopback)', function () {
  this.timeout(120_000);
  let dir: string;
  let keyFile: string;
  let world: GraftWorld;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'graft-hostile-'));
    keyFile = join(dir, 'admin_key');
    await writePrivateKeyFile(keyFile, generateEd25519KeyPair('hostile').privateKey);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  beforeEach(() => {
    world = new GraftWorld(connectTimeout);
  });
  afterEach(() => world.dispose());

  describe('an inventory host that accepts TCP and never completes a login', () => {
    const listeners: FakeServer[] = [];
    after(() => Promise.all(listeners.map((l) => l.close())));

    const kinds: [HostileKind, string][] = [
      ['silent', 'accepts and never speaks SSH'],
      ['drip-banner', 'drips its banner a byte at a time'],
      ['drip-handshake', 'sends a banner, then drips its key exchange'],
    ];
    for (const [kind, what] of kinds) {
      it(`given a host that ${what}, when graft up --inventory runs, then it returns within the connect timeout with exit code 5 naming the host`, async () => {
        const listener = await startHostileListener(kind);
        listeners.push(listener);
        const file = inventoryOf(dir, keyFile, {
          [kind]: { address: listener.host, port: listener.port, user: 'nobody', hostKey: generateEd25519KeyPair().publicKey },
        });
        const up = await runBounded(world, ['up', '--inventory', file], { boundMs: connectBoundMs });
        recordFault({
          area: 'hostile hosts',
          fault: `up: host ${what}`,
          injected: 1,
          survived: !up.hung && up.code === 5 ? 1 : 0,
          lost: 0,
          note: `${(up.wallMs / 1000).toFixed(1)} s`,
        });
        expect(up.hung, 'graft up waited past the connect timeout').to.equal(false);
        expect(up.code, up.stderr).to.equal(5);
        expect(up.stderr).to.include(`Timed out after 2000 ms connecting to ${kind} (nobody@${listener.host}:${listener.port})`);
        expect(listener.connections).to.be.greaterThan(0);
        noStackTrace(up);
      });
    }
  });

  describe('a host that was up, whose sshd is then replaced by a listener that drips bytes', () => {
    const hosts = useSshdFleet(1);
    let listener: FakeServer | undefined;
    after(() => listener?.close());

    it('given such a session, when graft exec runs, then it returns within the connect timeout with exit code 5 and says why', async () => {
      await writePrivateKeyFile(keyFile, hosts.fleet.clientKey.privateKey);
      const up = await world.run(['up', '--inventory', fleetInventory(dir, keyFile, hosts.fleet)]);
      expect(up.code, up.stderr).to.equal(0);
      const { endpoint, sshd } = hosts.fleet.hosts[0]!;
      await stopSshd(sshd);
      listener = await startHostileListener('drip-handshake', { host: endpoint.host, port: endpoint.port });
      const exec = await runBounded(world, ['exec', '--json', '--', 'true'], { boundMs: connectBoundMs });
      recordFault({
        area: 'hostile hosts',
        fault: 'exec: known host now drips bytes',
        injected: 1,
        survived: !exec.hung && exec.code === 5 ? 1 : 0,
        lost: 0,
        note: `${(exec.wallMs / 1000).toFixed(1)} s`,
      });
      expect(exec.hung, 'graft exec waited past the connect timeout').to.equal(false);
      expect(exec.code, exec.stdout + exec.stderr).to.equal(5);
      expect(exec.json.result.hosts[0].error).to.include({ code: 'SSH_TIMEOUT', exitCode: 5 });
      expect(exec.json.result.hosts[0].error.message).to.match(/Timed out after 2000 ms connecting to h0 .*did not complete the SSH handshake/);
    });
  });

  describe('a host whose key changes between up and a later command', () => {
    const hosts = useSshdFleet(2);

    it('given a session, when the host comes back with another key, then exec and agent create refuse it with exit code 6 and both fingerprints', async () => {
      await writePrivateKeyFile(keyFile, hosts.fleet.clientKey.privateKey);
      const up = await world.run(['up', '--inventory', fleetInventory(dir, keyFile, hosts.fleet)]);
      expect(up.code, up.stderr).to.equal(0);
      const changed = hosts.fleet.hosts[1]!;
      const pinned = fingerprintSha256(changed.sshd.hostPublicKey);
      await hosts.fleet.restart(changed, { newHostKey: true });
      const presented = fingerprintSha256(changed.sshd.hostPublicKey);
      const exec = await runBounded(world, ['exec', '--', 'echo', 'ran-here'], { boundMs: connectBoundMs });
      const create = await runBounded(world, ['agent', 'create', 'probe', '--on', 'h1'], { boundMs: connectBoundMs });
      const refused = [exec, create].filter((r) => !r.hung && r.code === 6).length;
      recordFault({ area: 'hostile hosts', fault: 'host key changed after up (exec, agent create)', injected: 2, survived: refused, lost: 0 });

      expect(exec.code, exec.stdout + exec.stderr).to.equal(6);
      // The other host still ran the command; the changed one did not.
      expect(exec.stdout.match(/ran-here/g) ?? []).to.have.length(1);
      for (const run of [exec, create]) {
        const text = run.stdout + run.stderr;
        expect(text).to.include('Host key mismatch for h1').and.to.include(pinned).and.to.include(presented);
        expect(text).to.match(/try: .*re-pin/);
        noStackTrace(run);
      }
      expect(create.code, create.stdout + create.stderr).to.equal(6);
    });
  });

  describe('output floods', () => {
    let root: string;
    beforeEach(() => {
      root = mkdtempSync(join(tmpdir(), 'graft-flood-'));
      chmodSync(root, 0o755);
    });
    afterEach(() => rmSync(root, { recursive: true, force: true }));

    it('given a task that prints 200 MiB, when it runs, then the controller stays under 400 MB, the saved log is capped with a marker, and graft logs (live, saved, --json) stay bounded', async () => {
      const repo = makeRepo(root);
      // The task (its own account) floods, says so, then waits until the test has read its live log.
      const shared = join(root, 'shared');
      mkdirSync(shared, { mode: 0o1777 });
      chmodSync(shared, 0o1777);
      const flooded = join(shared, 'flooded');
      const hold = join(shared, 'hold');
      writeFileSync(hold, '', { mode: 0o644 });
      const graph = writeGraph(
        root,
        { provisioner: 'local', count: 1, slots: 1 },
        { flood: { command: `yes | head -c ${floodBytes}; touch ${flooded}; while [ -f ${hold} ]; do sleep 0.2; done; echo flood-done` } },
      );
      const running = runBounded(world, ['run', graph, '--json'], { cwd: repo, boundMs: 120_000, sampleMemory: true, keepStdoutBytes: 1 << 20 });
      await until(() => {
        try {
          return statSync(flooded).isFile();
        } catch {
          return false;
        }
      }, 90_000);
      const live = await runBounded(world, ['logs', 'flood'], { cwd: repo, boundMs: 60_000, sampleMemory: true, keepStdoutBytes: 4096 });
      const liveJson = await runBounded(world, ['logs', 'flood', '--json'], {
        cwd: repo,
        boundMs: 60_000,
        sampleMemory: true,
        keepStdoutBytes: maxLogBytes * 2,
      });
      rmSync(hold);
      const run = await running;
      const session = run.json?.result?.session as string;
      const saved = join(world.home, 'sessions', session, 'tasks', 'flood', 'attempt-1.log');
      const savedRead = await runBounded(world, ['logs', 'flood', '--json'], {
        cwd: repo,
        boundMs: 60_000,
        sampleMemory: true,
        keepStdoutBytes: maxLogBytes * 2,
      });
      const peaks = [run, live, liveJson, savedRead].map((r) => r.peakMb ?? 0);
      const survived = [run, live, liveJson, savedRead].filter((r) => !r.hung && r.code === 0 && (r.peakMb ?? 0) < memoryBoundMb).length;
      recordFault({
        area: 'hostile hosts',
        fault: 'task floods 200 MiB (run, logs live/--json/saved)',
        injected: 4,
        survived,
        lost: 0,
        note: `peak ${Math.max(...peaks)} MB`,
      });

      expect(run.code, run.stderr).to.equal(0);
      expect(run.peakMb, "the controller's peak memory").to.be.below(memoryBoundMb);
      const marker = `[graft: output was ${floodBytes + 'flood-done\n'.length} bytes; only the last ${maxLogBytes} are kept]\n`;
      const log = readFileSync(saved, 'utf8');
      expect(log.startsWith(marker), log.slice(0, 200)).to.equal(true);
      expect(log.length).to.equal(marker.length + maxLogBytes);
      expect(log.endsWith('y\nflood-done\n')).to.equal(true);

      for (const read of [live, liveJson, savedRead]) {
        expect(read.code, read.stderr).to.equal(0);
        expect(read.peakMb).to.be.below(memoryBoundMb);
        noStackTrace(read);
      }
      // While it ran: its end, after the marker (the flood and nothing more yet).
      expect(live.stdoutBytes).to.equal(`[graft: output was ${floodBytes} bytes; only the last ${maxLogBytes} are kept]\n`.length + maxLogBytes);
      expect(liveJson.json.result).to.include({ source: 'host' });
      expect(liveJson.json.result.output.length).to.be.at.most(marker.length + maxLogBytes);
      expect(savedRead.json.result).to.include({ source: 'saved', output: log });
    });

    it('given a command that prints 200 MiB, when graft exec runs it, then its output and memory stay bounded and the cut is said', async () => {
      const up = await world.run(['up', '--hosts', '1']);
      expect(up.code, up.stderr).to.equal(0);
      const json = await runBounded(world, ['exec', '--json', '--', `yes | head -c ${floodBytes}`], { boundMs: 60_000, sampleMemory: true });
      const text = await runBounded(world, ['exec', '--', `yes | head -c ${floodBytes}`], { boundMs: 60_000, sampleMemory: true });
      const survived = [json, text].filter((r) => !r.hung && r.code === 0 && (r.peakMb ?? 0) < memoryBoundMb).length;
      recordFault({
        area: 'hostile hosts',
        fault: 'exec floods 200 MiB (--json, table)',
        injected: 2,
        survived,
        lost: 0,
        note: `peak ${Math.max(json.peakMb ?? 0, text.peakMb ?? 0)} MB`,
      });

      for (const run of [json, text]) {
        expect(run.code, run.stderr).to.equal(0);
        expect(run.peakMb).to.be.below(memoryBoundMb);
        expect(run.stdoutBytes).to.be.below(4096);
      }
      const row = json.json.result.hosts[0];
      expect(row.truncated).to.equal(true);
      expect(row.stdout.slice(0, 3)).to.deep.equal(['y', 'y', 'y']);
      expect(row.stdout[3]).to.match(/^… at least \d+ more line\(s\) \(output cut short/);
      expect(text.stdout).to.match(/y ⏎ y ⏎ y ⏎ … at least \d+ more line\(s\)/);
    });
  });
});
