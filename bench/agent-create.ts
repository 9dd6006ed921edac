/**
 * Benchmark: time to create 1, 10 and 50 isolated agents on one local host (per-run key,
 * Unix account with its key line and files, made in one call on the host; X.509 identity), and where the time goes.
 *
 * (a) through the library, agents created concurrently (as the controller will), and
 * (b) through the CLI, `graft agent create` one after another (as a person would).
 * The peer is the bare cost of the same account work done by hand over OpenSSH:
 * `ssh admin@host sudo useradd ...` per agent, in parallel.
 *
 *   npm run bench:agents          # must run as root (agents get Unix accounts)
 *   BENCH_SIZES=1,10 npm run bench:agents
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pLimit from 'p-limit';
import { createAgent } from '../src/core/agents/create-agent.js';
import { closeRuntime, openRuntime } from '../src/core/runtime.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const graft = join(root, 'bin', 'run.js');
const sizes = (process.env.BENCH_SIZES ?? '1,10,50').split(',').map(Number);
const work = mkdtempSync(join(tmpdir(), 'graft-bench-agents-'));

function cli(home: string, args: string[]): string {
  return execFileSync(process.execPath, [graft, ...args], { env: { ...process.env, GRAFT_HOME: home }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

interface Split {
  sshKey: number;
  identity: number;
  account: number;
}

/** Creates n agents in one fresh session and returns wall time and the mean split from the session log. */
async function viaLibrary(n: number): Promise<{ wallMs: number; split: Split }> {
  const home = join(work, `lib-${n}`);
  const session = JSON.parse(cli(home, ['up', '--hosts', '1', '--slots', String(n), '--quiet', '--json'])).result.session as string;
  const runtime = openRuntime({ env: { ...process.env, GRAFT_HOME: home } });
  try {
    const row = runtime.store.getSession(session)!;
    const limit = pLimit(10);
    const started = performance.now();
    const splits: Split[] = [];
    runtime.events.on((e) => {
      if (e.code === 'agent.created') splits.push((e.data as { timingsMs: Split }).timingsMs);
    });
    await Promise.all(Array.from({ length: n }, (_, i) => limit(() => createAgent(runtime, row, { name: `a${i}`, secrets: [], interactive: false }))));
    const wallMs = performance.now() - started;
    const mean = (k: keyof Split) => splits.reduce((sum, s) => sum + s[k], 0) / splits.length;
    return { wallMs, split: { sshKey: mean('sshKey'), identity: mean('identity'), account: mean('account') } };
  } finally {
    await closeRuntime(runtime);
    cli(home, ['down', '--session', session, '--quiet']);
  }
}

/** n sequential `graft agent create` processes. */
function viaCli(n: number): number {
  const home = join(work, `cli-${n}`);
  const session = JSON.parse(cli(home, ['up', '--hosts', '1', '--slots', String(n), '--quiet', '--json'])).result.session as string;
  try {
    const started = performance.now();
    for (let i = 0; i < n; i++) cli(home, ['agent', 'create', `c${i}`, '--quiet']);
    return performance.now() - started;
  } finally {
    cli(home, ['down', '--session', session, '--quiet']);
  }
}

/** The same accounts made by hand: one OpenSSH process per agent running sudo useradd, 10 at a time. */
function viaOpenSsh(n: number): number {
  const home = join(work, `ssh-${n}`);
  const up = JSON.parse(cli(home, ['up', '--hosts', '1', '--quiet', '--json'])).result;
  const host = up.hosts[0] as { address: string; port: number; user: string; hostKeys: string[] };
  const key = join(home, 'sessions', up.session, 'admin_ed25519');
  const kh = join(home, 'kh');
  execFileSync('sh', ['-c', `printf '[%s]:%s %s\\n' ${host.address} ${host.port} '${host.hostKeys[0]}' > ${kh}`]);
  const names = Array.from({ length: n }, (_, i) => `graft-${up.session}-o${i}`).join('\n');
  const ssh = `ssh -i ${key} -o UserKnownHostsFile=${kh} -o StrictHostKeyChecking=yes -o BatchMode=yes -p ${host.port} ${host.user}@${host.address}`;
  try {
    const started = performance.now();
    execFileSync('sh', [
      '-c',
      `printf '%s\\n' "${names}" | xargs -P 10 -I{} ${ssh} "sudo -n useradd --create-home --shell /bin/sh {} && sudo -n usermod -p '*' {}"`,
    ]);
    return performance.now() - started;
  } finally {
    cli(home, ['down', '--session', up.session, '--quiet']);
  }
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('run as root: agents get Unix accounts');
  const rows: string[] = [];
  for (const n of sizes) {
    const lib = await viaLibrary(n);
    const seq = n <= 10 ? viaCli(n) : NaN;
    const peer = viaOpenSsh(n);
    const s = lib.split;
    rows.push(
      `| ${n} | ${(lib.wallMs / 1000).toFixed(2)} | ${Number.isNaN(seq) ? '-' : (seq / 1000).toFixed(2)} | ${(peer / 1000).toFixed(2)} | ${(lib.wallMs / peer).toFixed(2)}x | ${s.sshKey.toFixed(1)} / ${s.identity.toFixed(0)} / ${s.account.toFixed(0)} |`,
    );
  }
  console.log('\nagent creation on one local host, wall seconds\n');
  console.log(
    '| agents | graft (library, 10 at a time) | graft agent create (CLI, one by one) | ssh + sudo useradd only (10 at a time) | library/ssh | mean split ms: ssh key / identity / account (key line and files included) |',
  );
  console.log('|---|---|---|---|---|---|');
  for (const row of rows) console.log(row);
}

main().finally(() => rmSync(work, { recursive: true, force: true }));
