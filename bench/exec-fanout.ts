/**
 * Benchmark: `graft exec -- true` on 10, 25 and 50 local hosts, whole process to whole
 * process, side by side in one run with (a) OpenSSH's client in parallel
 * (`xargs -P N ssh ... true`, fresh connections, same key and pinned known_hosts) and
 * (b) `ansible all -m command -a true -f N` over the same hosts. Also graft's start-up
 * (`graft --version`). Timing by hyperfine; prints medians and ratios.
 *
 *   npm run bench            # all sizes
 *   BENCH_SIZES=10 BENCH_RUNS=3 npm run bench
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const graft = join(root, 'bin', 'run.js');
const sizes = (process.env.BENCH_SIZES ?? '10,25,50').split(',').map(Number);
const runs = Number(process.env.BENCH_RUNS ?? 7);
const work = mkdtempSync(join(tmpdir(), 'graft-bench-'));
const env = {
  ...process.env,
  GRAFT_HOME: join(work, 'home'),
  ANSIBLE_HOST_KEY_CHECKING: 'True',
  ANSIBLE_LOCAL_TEMP: join(work, 'ansible-tmp'),
  ANSIBLE_PYTHON_INTERPRETER: '/usr/bin/python3',
  ANSIBLE_NOCOLOR: '1',
};

interface HostJson {
  address: string;
  port: number;
  user: string;
  hostKeys: string[];
}

function sh(file: string, args: string[]): string {
  return execFileSync(file, args, { env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, stdio: ['ignore', 'pipe', 'inherit'] });
}

function quote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

/** Median seconds of each command, measured by hyperfine in one interleaved-free series each. */
function hyperfine(commands: Record<string, string>, label: string): Record<string, number> {
  const out = join(work, `${label}.json`);
  const args = ['--style', 'basic', '--runs', String(runs), '--warmup', '1', '--export-json', out];
  for (const [name, command] of Object.entries(commands)) args.push('--command-name', name, command);
  execFileSync('hyperfine', args, { env, stdio: ['ignore', 'inherit', 'inherit'] });
  const results = JSON.parse(readFileSync(out, 'utf8')).results as { command: string; median: number }[];
  return Object.fromEntries(results.map((r) => [r.command, r.median]));
}

function benchSize(n: number): Record<string, number> {
  const up = JSON.parse(sh(process.execPath, [graft, 'up', '--hosts', String(n), '--quiet', '--json']));
  const session = up.result.session as string;
  const hostsFull = up.result.hosts as HostJson[];
  const key = join(env.GRAFT_HOME, 'sessions', session, 'admin_ed25519');
  const dir = join(work, `n${n}`);
  mkdirSync(dir);
  // known_hosts from the keys graft pinned, so OpenSSH and Ansible verify the same keys graft does.
  writeFileSync(join(dir, 'known_hosts'), hostsFull.map((h) => `[${h.address}]:${h.port} ${h.hostKeys[0]}`).join('\n') + '\n');
  const sshOpts = `-i ${key} -o UserKnownHostsFile=${join(dir, 'known_hosts')} -o StrictHostKeyChecking=yes -o BatchMode=yes -o IdentitiesOnly=yes -o ControlMaster=no -o ControlPath=none`;
  writeFileSync(join(dir, 'targets'), hostsFull.map((h) => `-p ${h.port} ${h.user}@${h.address} true`).join('\n') + '\n');
  writeFileSync(
    join(dir, 'inventory.ini'),
    '[all]\n' +
      hostsFull.map((h, i) => `h${i} ansible_host=${h.address} ansible_port=${h.port} ansible_user=${h.user} ansible_ssh_private_key_file=${key}`).join('\n') +
      `\n[all:vars]\nansible_ssh_common_args='-o UserKnownHostsFile=${join(dir, 'known_hosts')} -o StrictHostKeyChecking=yes -o ControlMaster=no -o ControlPath=none'\n`,
  );
  try {
    return hyperfine(
      {
        graft: `${quote(process.execPath)} ${quote(graft)} exec --session ${session} --quiet --lines 0 -- true >/dev/null`,
        openssh: `xargs -P ${n} -L 1 ssh ${sshOpts} < ${join(dir, 'targets')}`,
        ansible: `ansible all -i ${join(dir, 'inventory.ini')} -m command -a true -f ${n} >/dev/null`,
      },
      `n${n}`,
    );
  } finally {
    sh(process.execPath, [graft, 'down', '--session', session, '--quiet']);
  }
}

function main(): void {
  const rows: string[] = [];
  const startup = hyperfine({ 'graft --version': `${quote(process.execPath)} ${quote(graft)} --version >/dev/null` }, 'startup');
  for (const n of sizes) {
    const m = benchSize(n);
    rows.push(
      `| ${n} | ${m.graft!.toFixed(3)} | ${m.openssh!.toFixed(3)} | ${m.ansible!.toFixed(3)} | ${(m.graft! / m.openssh!).toFixed(2)}x | ${(m.graft! / m.ansible!).toFixed(2)}x |`,
    );
  }
  console.log(`\nexec fan-out, median wall seconds of ${runs} runs (whole process to whole process)\n`);
  console.log('| hosts | graft exec | xargs -P ssh | ansible -f N | graft/openssh | graft/ansible |');
  console.log('|---|---|---|---|---|---|');
  for (const row of rows) console.log(row);
  console.log(`\ngraft --version start-up: ${(startup['graft --version']! * 1000).toFixed(0)} ms median`);
}

try {
  main();
} finally {
  rmSync(work, { recursive: true, force: true });
}
