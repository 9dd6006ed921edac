/**
 * Benchmark: graft's git sync vs `rsync -a` over OpenSSH, to the same local host, in the same run.
 *
 * Two generated repositories (bench/generate-repos.ts, seeded, packed with `git gc -q` before
 * anything is measured: DESIGN.md notes a repository with loose objects costs ~4x to push):
 * (a) `small`: ~50 MB worktree, ~5,000 small text files + five 5-10 MB binaries, 50 commits;
 * (b) `history`: 2,000 commits touching ~3,000 text files.
 *
 * Scenarios, each graft vs rsync (`rsync -a --delete` of worktree + .git, `-e ssh` with the
 * session admin key and the host key graft pinned):
 *  1. initial sync: `graft agent create --from main` (reported raw, and net of `agent create`
 *     without --from on the same host) vs rsync into a fresh directory on the host; each run uses
 *     its own copy of the repository (graft's host cache is per repository path), so each is cold.
 *     1b. a second agent from the same repository: its objects are already in the host cache.
 *  2. incremental after a committed one-line change: `graft sync push` vs rsync again.
 *  3. no-op: `graft sync push` with nothing new vs rsync again.
 *  4. pull-back after the agent commits a one-line change on the host: `graft sync pull` vs
 *     `rsync -a` from the host's copy (changed and committed the same way) back into a local copy;
 *     4a. each agent's first pull, 4b. one agent pulled again and again.
 *
 * Whole process to whole process (graft's CLI start-up included, as rsync's and ssh's are), timed
 * in-process with performance.now(); medians of BENCH_RUNS runs, each repeated step on fresh changes.
 *
 *   npm run bench:sync                               # must run as root (agents get Unix accounts)
 *   BENCH_RUNS=3 BENCH_REPOS=history npm run bench:sync
 *   GRAFT_BIN=/tmp/build/bin/run.js npm run bench:sync
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateRepo, type RepoKind } from './generate-repos.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const graft = process.env.GRAFT_BIN ?? join(root, 'bin', 'run.js');
const runs = Math.max(1, Number(process.env.BENCH_RUNS ?? 5));
const kinds = (process.env.BENCH_REPOS ?? 'small,history').split(',').map((k) => k.trim()) as RepoKind[];
const work = mkdtempSync(join(tmpdir(), 'graft-bench-sync-'));

/** The tracked files the scenarios change: one on the controller's side, one on the agent's. */
const touch: Record<RepoKind, { local: string; remote: string }> = {
  small: { local: 'src/mod07/file042.txt', remote: 'src/mod31/file007.txt' },
  history: { local: 'lib/pkg07/mod042.ts', remote: 'lib/pkg21/mod007.ts' },
};

interface HostJson {
  address: string;
  port: number;
  user: string;
  hostKeys: string[];
}
interface Transfer {
  objects: number;
  bytes: number;
}
interface RsyncStats {
  sent: number;
  received: number;
}

function run(file: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): string {
  return execFileSync(file, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

function timed<T>(fn: () => T): { ms: number; value: T } {
  const started = performance.now();
  const value = fn();
  return { ms: performance.now() - started, value };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Flushes dirty pages so one step's writeback does not land in the next step's timing. */
function settle(): void {
  execFileSync('sync');
}

function rsyncStats(out: string): RsyncStats {
  const num = (label: string) => Number((new RegExp(`Total bytes ${label}: ([\\d,.]+)`).exec(out)?.[1] ?? 'NaN').replace(/[,.]/g, ''));
  return { sent: num('sent'), received: num('received') };
}

const sec = (ms: number) => (ms / 1000).toFixed(3);
const int = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '-');
const mib = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);

class Session {
  readonly home: string;
  readonly id: string;
  readonly host: HostJson;
  readonly sshCommand: string;
  readonly sshArgs: string[];

  constructor(dir: string, slots: number) {
    this.home = join(dir, 'graft-home');
    const up = JSON.parse(this.graft(['up', '--hosts', '1', '--slots', String(slots), '--quiet', '--json'])).result;
    this.id = up.session as string;
    this.host = up.hosts[0] as HostJson;
    const key = join(this.home, 'sessions', this.id, 'admin_ed25519');
    const knownHosts = join(dir, 'known_hosts');
    // The host key graft pinned, so OpenSSH verifies exactly what graft verifies.
    writeFileSync(knownHosts, this.host.hostKeys.map((k) => `[${this.host.address}]:${this.host.port} ${k}`).join('\n') + '\n');
    this.sshArgs = [
      '-i',
      key,
      '-o',
      `UserKnownHostsFile=${knownHosts}`,
      '-o',
      'StrictHostKeyChecking=yes',
      '-o',
      'BatchMode=yes',
      '-o',
      'IdentitiesOnly=yes',
      '-o',
      'ControlMaster=no',
      '-o',
      'ControlPath=none',
      '-p',
      String(this.host.port),
    ];
    this.sshCommand = ['ssh', ...this.sshArgs].join(' ');
  }

  get login(): string {
    return `${this.host.user}@${this.host.address}`;
  }

  graft(args: string[]): string {
    return run(process.execPath, [graft, ...args], { env: { ...process.env, GRAFT_HOME: this.home } });
  }

  /** `graft ... --json`'s result; `command` goes after `--` (agent exec). */
  json<T>(args: string[], command?: string): T {
    return JSON.parse(this.graft([...args, '--session', this.id, '--quiet', '--json', ...(command ? ['--', command] : [])])).result as T;
  }

  /** A command on the host as the session admin, over OpenSSH (setting up the rsync side, untimed). */
  ssh(command: string): string {
    return run('ssh', [...this.sshArgs, this.login, command]);
  }

  rsync(from: string, to: string): RsyncStats {
    return rsyncStats(run('rsync', ['-a', '--delete', '--stats', '-e', this.sshCommand, from, to]));
  }

  down(): void {
    this.graft(['down', '--session', this.id, '--quiet']);
  }
}

interface Row {
  scenario: string;
  graft: number;
  rsync: number;
  graftBytes: string;
  rsyncBytes: string;
}

function describe(repo: string): string {
  const files = Number(run('git', ['ls-files', '-z'], { cwd: repo }).split('\0').filter(Boolean).length);
  const worktree = Number(run('sh', ['-c', "git ls-files -z | xargs -0 stat -c %s | awk '{s+=$1} END {print s}'"], { cwd: repo }).trim());
  const commits = Number(run('git', ['rev-list', '--count', 'HEAD'], { cwd: repo }).trim());
  const count = Object.fromEntries(
    run('git', ['count-objects', '-v'], { cwd: repo })
      .trim()
      .split('\n')
      .map((l) => l.split(': ') as [string, string]),
  );
  return `${int(files)} files, ${mib(worktree)} MiB worktree, ${int(commits)} commits; .git packed with \`git gc -q\` before measuring: ${count.packs} pack(s) of ${mib(Number(count['size-pack']) * 1024)} MiB, ${count.count} loose object(s)`;
}

function benchRepo(kind: RepoKind): { header: string; rows: Row[] } {
  const dir = join(work, kind);
  const repo0 = join(dir, 'repo-0');
  process.stderr.write(`[${kind}] generating ... `);
  const gen = timed(() => generateRepo(kind, repo0));
  process.stderr.write(`${sec(gen.ms)} s\n`);
  const header = describe(repo0);
  // One copy of the repository per initial-sync run: graft's host cache is per repository path,
  // so every run's `agent create --from` starts from an empty cache, as rsync starts from an empty dir.
  const repos = [repo0];
  for (let i = 1; i < runs; i++) {
    repos.push(join(dir, `repo-${i}`));
    run('cp', ['-a', repo0, repos[i]!]);
  }
  // A copied index has stale stat data (new inodes): refresh it so no run pays for that.
  for (const r of repos) run('git', ['update-index', '-q', '--refresh'], { cwd: r });

  const session = new Session(dir, 3 * runs + 2);
  // Warm-up, untimed: the first login to a fresh host and the first agent account are slower.
  session.ssh('true');
  session.json(['agent', 'create', 'warmup']);
  const rows: Row[] = [];
  try {
    const { local, remote } = touch[kind];
    const dest = (i: number) => `rsync-${kind}-${i}`;

    // 1. initial sync.
    const baseline: number[] = [];
    const initial: { ms: number; t: Transfer }[] = [];
    const initialRsync: { ms: number; s: RsyncStats }[] = [];
    for (let i = 0; i < runs; i++) {
      settle();
      baseline.push(timed(() => session.json(['agent', 'create', `plain-${i}`])).ms);
      settle();
      const g = timed(() => session.json<{ transfer: Transfer }>(['agent', 'create', `init-${i}`, '--from', 'main', '--repo', repos[i]!]));
      initial.push({ ms: g.ms, t: g.value.transfer });
      settle();
      const r = timed(() => session.rsync(`${repos[i]}/`, `${session.login}:${dest(i)}/`));
      initialRsync.push({ ms: r.ms, s: r.value });
      process.stderr.write(`[${kind}] initial ${i + 1}/${runs}: agent create ${sec(baseline[i]!)} s, with --from ${sec(g.ms)} s, rsync ${sec(r.ms)} s\n`);
    }
    // Sanity: the agent's worktree is the base, checked out in full and clean.
    const check = session
      .json<{ stdout: string }>(['agent', 'exec', 'init-0'], 'git rev-parse HEAD && git ls-files | wc -l && git status --porcelain | wc -l')
      .stdout.trim()
      .split('\n');
    const expected = [run('git', ['rev-parse', 'main'], { cwd: repo0 }).trim(), run('sh', ['-c', 'git ls-files | wc -l'], { cwd: repo0 }).trim(), '0'];
    if (check.join(' ') !== expected.join(' '))
      throw new Error(`init-0's worktree is not main checked out clean: ${check.join(' ')} (expected ${expected.join(' ')})`);
    const warm: { ms: number; t: Transfer }[] = [];
    for (let i = 0; i < runs; i++) {
      settle();
      const g = timed(() => session.json<{ transfer: Transfer }>(['agent', 'create', `warm-${i}`, '--from', 'main', '--repo', repo0]));
      warm.push({ ms: g.ms, t: g.value.transfer });
    }
    const base = median(baseline);
    const rsyncInitial = median(initialRsync.map((r) => r.ms));
    const rsyncInitialBytes = `${int(median(initialRsync.map((r) => r.s.sent)))} / ${int(median(initialRsync.map((r) => r.s.received)))}`;
    const graftInitial = median(initial.map((g) => g.ms));
    const graftBytes = (ts: Transfer[]) => `${int(median(ts.map((t) => t.bytes)))} (${int(median(ts.map((t) => t.objects)))} objects)`;
    rows.push({
      scenario: '1. initial: `agent create --from main` (raw)',
      graft: graftInitial,
      rsync: rsyncInitial,
      graftBytes: graftBytes(initial.map((g) => g.t)),
      rsyncBytes: rsyncInitialBytes,
    });
    rows.push({
      scenario: `1. initial, net of \`agent create\` without --from (${sec(base)} s)`,
      graft: graftInitial - base,
      rsync: rsyncInitial,
      graftBytes: '',
      rsyncBytes: '',
    });
    rows.push({
      scenario: '1b. 2nd agent, objects already in the host cache (raw; rsync = 1.)',
      graft: median(warm.map((g) => g.ms)),
      rsync: rsyncInitial,
      graftBytes: graftBytes(warm.map((g) => g.t)),
      rsyncBytes: rsyncInitialBytes,
    });

    // 2. incremental and 3. no-op, on the first run's repository, agent and rsync copy.
    const agent = 'init-0';
    const inc: { ms: number; t: Transfer }[] = [];
    const incRsync: { ms: number; s: RsyncStats }[] = [];
    const noop: { ms: number; t: Transfer }[] = [];
    const noopRsync: { ms: number; s: RsyncStats }[] = [];
    for (let i = 0; i < runs; i++) {
      run('sh', ['-c', `printf '%s\\n' "local change ${i}" >> '${local}' && git commit -qam "local change ${i}"`], { cwd: repo0 });
      const commit = run('git', ['rev-parse', 'HEAD'], { cwd: repo0 }).trim();
      settle();
      const g = timed(() => session.json<Transfer & { fastForwarded: boolean; base: string }>(['sync', 'push', agent]));
      if (!g.value.fastForwarded || g.value.base !== commit)
        throw new Error(`sync push did not fast-forward ${agent} to ${commit}: ${JSON.stringify(g.value)}`);
      inc.push({ ms: g.ms, t: g.value });
      settle();
      const r = timed(() => session.rsync(`${repo0}/`, `${session.login}:${dest(0)}/`));
      incRsync.push({ ms: r.ms, s: r.value });
      settle();
      const gn = timed(() => session.json<Transfer>(['sync', 'push', agent]));
      noop.push({ ms: gn.ms, t: gn.value });
      settle();
      const rn = timed(() => session.rsync(`${repo0}/`, `${session.login}:${dest(0)}/`));
      noopRsync.push({ ms: rn.ms, s: rn.value });
      process.stderr.write(
        `[${kind}] push ${i + 1}/${runs}: incremental graft ${sec(g.ms)} s (${g.value.objects} objects, ${g.value.bytes} B), rsync ${sec(r.ms)} s; no-op graft ${sec(gn.ms)} s, rsync ${sec(rn.ms)} s\n`,
      );
    }
    const rsyncBytes = (ss: RsyncStats[]) => `${int(median(ss.map((s) => s.sent)))} / ${int(median(ss.map((s) => s.received)))}`;
    rows.push({
      scenario: '2. incremental, one committed one-line change: `sync push`',
      graft: median(inc.map((g) => g.ms)),
      rsync: median(incRsync.map((r) => r.ms)),
      graftBytes: graftBytes(inc.map((g) => g.t)),
      rsyncBytes: rsyncBytes(incRsync.map((r) => r.s)),
    });
    rows.push({
      scenario: '3. no-op: `sync push`',
      graft: median(noop.map((g) => g.ms)),
      rsync: median(noopRsync.map((r) => r.ms)),
      graftBytes: graftBytes(noop.map((g) => g.t)),
      rsyncBytes: rsyncBytes(noopRsync.map((r) => r.s)),
    });

    // 4. pull-back: the agent (and, for rsync, the host's copy) commits a one-line change.
    // 4a is each initial agent's first pull (what a task graph does once per task: its first
    // pull snapshots a worktree it has never snapshotted); 4b the same agent pulled again and again.
    const back = join(dir, 'pulled');
    run('cp', ['-a', repo0, back]);
    session.rsync(`${session.login}:${dest(0)}/`, `${back}/`); // untimed: align ownership and metadata once
    let changes = 0;
    const pullOnce = (name: string) => {
      const n = changes++;
      const change = `printf '%s\\n' 'agent change ${n}' >> '${remote}' && git -c user.name=bench -c user.email=bench@graft.invalid commit -qam 'agent change ${n}'`;
      const head = session.json<{ stdout: string }>(['agent', 'exec', name], `${change} && git rev-parse HEAD`).stdout.trim();
      session.ssh(`cd ${dest(0)} && ${change}`);
      settle();
      const g = timed(() => session.json<Transfer & { tip: string; snapshot: boolean }>(['sync', 'pull', name]));
      if (g.value.snapshot || g.value.tip !== head) throw new Error(`sync pull brought ${JSON.stringify(g.value)}, the agent's HEAD is ${head}`);
      settle();
      const r = timed(() => session.rsync(`${session.login}:${dest(0)}/`, `${back}/`));
      process.stderr.write(`[${kind}] pull ${name}: graft ${sec(g.ms)} s (${g.value.objects} objects, ${g.value.bytes} B), rsync ${sec(r.ms)} s\n`);
      return { graft: { ms: g.ms, t: g.value as Transfer }, rsync: { ms: r.ms, s: r.value } };
    };
    const first = Array.from({ length: runs }, (_, i) => pullOnce(`init-${i}`));
    const again = Array.from({ length: runs }, () => pullOnce(agent));
    for (const [scenario, samples] of [
      ["4a. pull-back, one agent commit, the agent's first `sync pull`", first],
      ['4b. pull-back, one agent commit, later `sync pull`s', again],
    ] as const) {
      rows.push({
        scenario,
        graft: median(samples.map((x) => x.graft.ms)),
        rsync: median(samples.map((x) => x.rsync.ms)),
        graftBytes: graftBytes(samples.map((x) => x.graft.t)),
        rsyncBytes: rsyncBytes(samples.map((x) => x.rsync.s)),
      });
    }
  } finally {
    session.down();
  }
  return { header, rows };
}

function main(): void {
  if (process.getuid?.() !== 0) throw new Error('run as root: agents get Unix accounts');
  const started = performance.now();
  const startup = median(Array.from({ length: 5 }, () => timed(() => run(process.execPath, [graft, '--version'])).ms));
  const results = kinds.map((kind) => ({ kind, ...benchRepo(kind) }));
  for (const { kind, header, rows } of results) {
    console.log(`\nsync to one local host, repository "${kind}": ${header}. Median wall seconds of ${runs} runs, whole process to whole process.\n`);
    console.log('| scenario | graft | rsync -a | graft/rsync | graft bytes (pack) | rsync bytes sent / received |');
    console.log('|---|---|---|---|---|---|');
    for (const r of rows)
      console.log(`| ${r.scenario} | ${sec(r.graft)} | ${sec(r.rsync)} | ${(r.graft / r.rsync).toFixed(2)}x | ${r.graftBytes} | ${r.rsyncBytes} |`);
  }
  console.log(
    `\ngraft bytes are the git pack graft reports in --json (its commands and ref checks are not counted); rsync's are its --stats totals (file list and checksums included). graft's start-up (\`graft --version\`) is ${sec(startup)} s of every graft figure. Whole benchmark: ${((performance.now() - started) / 1000).toFixed(0)} s.`,
  );
}

try {
  main();
} finally {
  rmSync(work, { recursive: true, force: true });
}
