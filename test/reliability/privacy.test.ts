import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GraftWorld } from '../helpers/cli.js';
import { makeRepo, writeGraph } from './helpers/graph-repo.js';
import { reportFigures } from './summary.js';

/**
 * Process privacy (docs/security.md): two agents on one local host (real sshd, per-agent
 * accounts), one holding a secret on its command line and in its environment, the other looking
 * for it in /proc. Once without privacy (the control: the command line shows), once with the
 * hosts' `privacy: true` (graft remounts /proc with hidepid=2 at the first agent: nothing of the
 * other agent shows). Local hosts are this machine, so the test puts /proc's options back as it
 * found them. Root only.
 */
function procOptions(): string {
  return /^proc \/proc proc (\S+)/m.exec(readFileSync('/proc/mounts', 'utf8'))?.[1] ?? '';
}

/** What the attacker saw of the victim, the host's privacy as `graft hosts` says it, and the secret. */
interface Seen {
  cmdline: string;
  environ: string;
  others: string;
  privacy: string;
  secret: string;
}

const hides = (options: string) => /(^|,)hidepid=(2|invisible)(,|$)/.test(options);

describe("reliability: process privacy (hidepid on /proc, one agent looks for another's secret)", function () {
  this.timeout(300_000);
  let root: string;
  let shared: string;
  let world: GraftWorld;
  let original: string | undefined;

  before(function () {
    if (process.getuid?.() !== 0) throw new Error('this test needs root (it remounts /proc and makes agent accounts): run npm test as root, as .ci/run does');
    original = procOptions();
    // The control needs processes visible: start from hidepid=0, put the original back after.
    if (hides(original!)) execFileSync('mount', ['-o', 'remount,hidepid=0', '/proc']);
    root = mkdtempSync(join(tmpdir(), 'graft-privacy-'));
    world = new GraftWorld();
  });
  after(async () => {
    await world?.dispose();
    if (original === undefined) return;
    const hidepid = /(?:^|,)hidepid=(\w+)/.exec(original)?.[1] ?? '0';
    const gid = /(?:^|,)gid=(\d+)/.exec(original)?.[1] ?? '0';
    execFileSync('mount', ['-o', `remount,hidepid=${hidepid},gid=${gid}`, '/proc']);
    if (root) rmSync(root, { recursive: true, force: true });
  });
  beforeEach(() => {
    // Where the victim leaves its pid for the attacker: both agents may write it.
    shared = mkdtempSync(join(tmpdir(), 'graft-privacy-shared-'));
    chmodSync(shared, 0o1777);
  });
  afterEach(() => rmSync(shared, { recursive: true, force: true }));

  async function attack(privacy: boolean): Promise<Seen> {
    const secret = `s3cret-${Math.random().toString(36).slice(2)}`;
    const repo = makeRepo(mkdtempSync(join(root, 'repo-')));
    const graph = writeGraph(
      root,
      { provisioner: 'local', count: 1, slots: 2, privacy },
      {
        // Waits (at most a minute) until the attacker is done, holding the secret in its argv and environment.
        victim: {
          command: `(umask 022; echo $$ > ${shared}/victim.pid.tmp) && mv ${shared}/victim.pid.tmp ${shared}/victim.pid; GRAFT_TEST_SECRET=env-${secret} exec sh -c 'i=0; while [ ! -e ${shared}/done ] && [ $i -lt 300 ]; do sleep 0.2; i=$((i + 1)); done' argv-${secret}`,
        },
        attacker: {
          command: [
            `i=0; while [ ! -s ${shared}/victim.pid ] && [ $i -lt 300 ]; do sleep 0.2; i=$((i + 1)); done`,
            `pid=$(cat ${shared}/victim.pid); [ -n "$pid" ] || { echo no-victim-pid; exit 1; }`,
            // The victim wrote its pid before exec put the secret in its argv: read until it is there (or 10 s).
            `i=0; while c=$(tr '\\0' ' ' < /proc/$pid/cmdline 2>/dev/null) && [ "\${c#*argv-}" = "$c" ] && [ $i -lt 50 ]; do sleep 0.2; i=$((i + 1)); done`,
            `[ -r /proc/$pid/cmdline ] && echo "cmdline=$c" || echo cmdline=denied`,
            `echo environ=$(tr '\\0' '\\n' < /proc/$pid/environ 2>/dev/null | grep GRAFT_TEST_SECRET || echo denied)`,
            `n=0; for d in /proc/[0-9]*; do [ -O "$d" ] || n=$((n + 1)); done; echo others=$n`,
            `touch ${shared}/done`,
          ].join('\n'),
        },
      },
    );
    const run = await world.run(['run', graph, '--json'], { cwd: repo, timeoutMs: 240_000 });
    expect(run.code, run.stdout + run.stderr).to.equal(0);
    const logs = (await world.run(['logs', 'attacker'], { cwd: repo })).stdout;
    const seen: Record<string, string> = Object.fromEntries([...logs.matchAll(/^(cmdline|environ|others)=(.*)$/gm)].map((m) => [m[1]!, m[2]!]));
    const hosts = await world.run(['hosts', '--json'], { cwd: repo });
    seen.privacy = hosts.json!.result.hosts[0].privacy;
    seen.secret = secret;
    await world.run(['down'], { cwd: repo, timeoutMs: 120_000 });
    return seen as unknown as Seen;
  }

  it("given two agents on a host, then without privacy the other's command line shows, and with privacy: true nothing of it does", async () => {
    const open = await attack(false);
    expect(open.cmdline, JSON.stringify(open)).to.include(`argv-${open.secret}`);
    // Another uid's environment is never readable, with or without hidepid.
    expect(open.environ).to.equal('denied');
    expect(Number(open.others)).to.be.greaterThan(0);
    expect(open.privacy).to.equal('off');

    const hidden = await attack(true);
    expect(hidden, JSON.stringify(hidden)).to.include({ cmdline: 'denied', environ: 'denied', others: '0', privacy: 'hidepid' });
    expect(hides(procOptions()), procOptions()).to.equal(true);

    reportFigures({
      title: 'process privacy (hidepid)',
      columns: ['hosts', "other agent's command line", "other agent's environment", "other accounts' processes seen"],
      rows: [
        ['privacy: false (control)', 'read', open.environ, Number(open.others)],
        ['privacy: true', hidden.cmdline, hidden.environ, Number(hidden.others)],
      ],
    });
  });
});
