import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GraftWorld } from '../helpers/cli.js';
import { makeRepo, writeGraph } from './helpers/graph-repo.js';
import { useNetnsHosts } from './helpers/netns-hosts.js';
import { reportFigures } from './summary.js';

/**
 * Egress rules (docs/security.md), enforced by the host's kernel: tasks on a local host (real
 * sshd, per-agent accounts) try to connect to a server in a network namespace of their own (a
 * second host), to a loopback port that is not theirs, and to the cloud metadata address, and
 * report what happened. Root only: nftables and namespaces.
 *
 * The metadata address is never reached even if graft's rule were missing: a table of this
 * test's own drops whatever agents' uids send there, after graft's table has had its say. A
 * connection graft refuses fails at once ("refused"); one only that net drops would hang
 * ("dropped"): the test asserts which, never how long anything took.
 */
const safetyTable = `graft-test-${process.pid}`;
const metadata = ['169.254.169.254', 'fd00:ec2::254'];

/** A task command: one line per target, "NAME=reached|refused|dropped". */
function probeCommand(targets: Record<string, [string, number]>): string {
  const probe = (name: string, [address, port]: [string, number]) =>
    `if timeout 20 bash -c 'exec 3<>/dev/tcp/${address}/${port}' 2>/dev/null; then echo ${name}=reached; elif [ $? = 124 ]; then echo ${name}=dropped; else echo ${name}=refused; fi`;
  return ['echo uid=$(id -u)', ...Object.entries(targets).map(([name, target]) => probe(name, target))].join('; ');
}

function graftTable(): string {
  try {
    return execFileSync('nft', ['list', 'table', 'inet', 'graft'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return '';
  }
}

describe('reliability: egress rules (nftables by uid, a namespace as the outside)', function () {
  this.timeout(300_000);
  const netns = useNetnsHosts(1);
  let root: string;
  let world: GraftWorld;
  let listener: Server;
  let loopbackPort: number;
  const uids: string[] = [];

  before(async function () {
    if (process.getuid?.() !== 0) this.skip();
    execFileSync('nft', ['-f', '-'], {
      input: [
        `add table inet ${safetyTable}`,
        `add chain inet ${safetyTable} output { type filter hook output priority 100; policy accept; }`,
        ...metadata.map((a) => `add rule inet ${safetyTable} output meta skuid >= 70000 ${a.includes(':') ? 'ip6' : 'ip'} daddr ${a} drop`),
      ].join('\n'),
    });
    // A loopback port that is not the agent's: another agent's server, or a host service.
    listener = createServer((socket) => socket.end());
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    loopbackPort = (listener.address() as { port: number }).port;
  });
  after(async () => {
    listener?.close();
    try {
      execFileSync('nft', ['delete', 'table', 'inet', safetyTable], { stdio: 'ignore' });
    } catch {
      // Never made.
    }
    // Rules of this test's agents that a failed revoke left (normally there are none).
    for (const uid of uids.filter((u) => graftTable().includes(`chain agent-${u} `))) {
      execFileSync('nft', ['-f', '-'], {
        input: `delete element inet graft agents { ${uid} }\ndelete chain inet graft agent-${uid}\n`,
        stdio: ['pipe', 'ignore', 'ignore'],
      });
    }
  });
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'graft-egress-'));
    chmodSync(root, 0o755);
    world = new GraftWorld({ GRAFT_RETRY_BACKOFF: '100ms' });
  });
  afterEach(async () => {
    await world.dispose();
    rmSync(root, { recursive: true, force: true });
  });

  it('given agents with network gateway, an allow-list and open, when they try the outside, then only what each may reach answers, the metadata address never, and revoke leaves no rule', async () => {
    const outside = netns.fleet.hosts[0]!;
    const targets = { outside: [outside.address, 22], loopback: ['127.0.0.1', loopbackPort], metadata: [metadata[0]!, 80] } as Record<string, [string, number]>;
    const command = probeCommand(targets);
    const repo = makeRepo(root);
    const graph = writeGraph(
      root,
      { provisioner: 'local', count: 1, slots: 3 },
      {
        // The default; its channel still works (graft-agent status goes through its tunnel).
        fenced: { command: `${command}; graft-agent status probed && echo channel=ok` },
        listed: { command, network: [`${outside.address}:22`, `localhost:${loopbackPort}`] },
        open: { command, network: 'open' },
      },
    );
    const run = await world.run(['run', graph, '--json'], { cwd: repo, timeoutMs: 240_000 });
    expect(run.code, run.stderr + run.stdout).to.equal(0);

    const seen: Record<string, Record<string, string>> = {};
    for (const task of ['fenced', 'listed', 'open']) {
      const logs = await world.run(['logs', task], { cwd: repo });
      seen[task] = Object.fromEntries([...logs.stdout.matchAll(/^(\w+)=(\S+)$/gm)].map((m) => [m[1]!, m[2]!]));
      uids.push(seen[task]!.uid!);
    }
    expect(seen.fenced).to.include({ outside: 'refused', loopback: 'refused', metadata: 'refused', channel: 'ok' });
    expect(seen.listed).to.include({ outside: 'reached', loopback: 'reached', metadata: 'refused' });
    expect(seen.open).to.include({ outside: 'reached', loopback: 'reached', metadata: 'refused' });
    // Each agent was revoked with its task: none of their chains is left.
    const table = graftTable();
    for (const uid of uids) expect(table).not.to.include(`agent-${uid}`);

    reportFigures({
      title: 'egress rules (nftables keyed by uid)',
      columns: ['agent network', 'namespace server', 'another loopback port', 'metadata address', 'rules left after revoke'],
      rows: ['fenced', 'listed', 'open'].map((task) => [
        task === 'fenced' ? 'gateway (default)' : task === 'listed' ? 'allow-list' : 'open',
        seen[task]!.outside!,
        seen[task]!.loopback!,
        seen[task]!.metadata!,
        0,
      ]),
    });
  });
});
