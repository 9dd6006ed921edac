import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { GraftWorld } from '../helpers/cli.js';
import { accountExists } from '../helpers/sshd.js';

describe('e2e: session lifecycle with local hosts', function () {
  this.timeout(120_000);
  let world: GraftWorld;

  beforeEach(() => {
    world = new GraftWorld();
  });
  afterEach(async () => {
    await world.dispose();
  });

  it('given a fresh home, when up, hosts, exec and down run, then each returns its JSON result and nothing is left running', async () => {
    const up = await world.run(['up', '--hosts', '3', '--label', 'gpu', '--json']);
    expect(up.code, up.stderr).to.equal(0);
    const session = up.json!.result.session as string;
    expect(up.json!.result.hosts).to.have.length(3);
    for (const host of up.json!.result.hosts) {
      expect(host.state).to.equal('up');
      expect(host.address).to.match(/^127\.\d+\.\d+\.\d+$/);
      expect(host.hostKeyFingerprints[0]).to.match(/^SHA256:/);
      expect(host.labels).to.deep.equal(['gpu']);
    }
    expect(world.sshdPids()).to.have.length(3);

    const hosts = await world.run(['hosts', '--json']);
    expect(hosts.json!.result.session).to.equal(session);
    expect(hosts.json!.result.hosts.map((h: { name: string }) => h.name)).to.deep.equal(['local-01', 'local-02', 'local-03']);

    const exec = await world.run(['exec', '--on', 'local-01:local-02', '--json', '--', 'echo', 'hi-$(id -un)']);
    expect(exec.code, exec.stderr).to.equal(0);
    expect(exec.json!.result.hosts).to.have.length(2);
    for (const row of exec.json!.result.hosts) {
      expect(row.exitCode).to.equal(0);
      expect(row.stdout[0]).to.match(/^hi-/);
    }

    const down = await world.run(['down', '--json']);
    expect(down.code, down.stderr).to.equal(0);
    expect(down.json!.result.destroyed).to.have.length(3);
    expect(world.sshdPids()).to.deep.equal([]);
    expect(accountExists(`graft-${session}`)).to.equal(false);

    const again = await world.run(['down', '--session', session, '--json']);
    expect(again.code).to.equal(0);
    expect(again.json!.result.alreadyEnded).to.equal(true);

    const audit = readFileSync(join(world.home, 'sessions', session, 'audit.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(audit.map((e) => e.code)).to.include.members(['session.created', 'host.up', 'host.destroyed', 'session.ended']);
    for (const entry of audit) expect(entry.time).to.match(/^\d{4}-\d\d-\d\dT/);
    const log = readFileSync(join(world.home, 'sessions', session, 'graft.log'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(log.map((e) => e.code)).to.include.members(['exec.started', 'exec.host.done', 'session.ended']);
  });

  it('given two open sessions, when down --all runs, then both are torn down, and down says "is down" once (on stdout)', async () => {
    const sessions: string[] = [];
    for (let i = 0; i < 2; i += 1) {
      const up = await world.run(['up', '--hosts', '1', '--json']);
      expect(up.code, up.stderr).to.equal(0);
      sessions.push(up.json!.result.session);
    }
    const down = await world.run(['down', '--all']);
    expect(down.code, down.stderr).to.equal(0);
    for (const id of sessions) {
      expect(down.stdout.match(new RegExp(`session ${id} is down`, 'g')) ?? [], down.stdout).to.have.length(1);
      expect(down.stderr).not.to.contain(`session ${id} is down`);
    }
    expect(world.sshdPids()).to.deep.equal([]);
    const audit = readFileSync(join(world.home, 'sessions', sessions[0]!, 'audit.jsonl'), 'utf8');
    expect(audit).to.contain('"session.ended"');
    const again = await world.run(['down', '--all', '--json']);
    expect(again.code).to.equal(0);
    expect(again.json!.result.sessions).to.deep.equal([]);
  });

  it('given one host whose command hangs, when exec runs with a timeout, then the others finish and only that host times out', async () => {
    expect((await world.run(['up', '--hosts', '3'])).code).to.equal(0);
    // The host on 127.x.y.1 sleeps far past the timeout; the others answer at once.
    const script = 'case "$(echo $SSH_CONNECTION | cut -d" " -f3)" in *.1) sleep 60;; esac; echo done';
    const exec = await world.run(['exec', '--timeout', '2s', '--json', '--', script]);
    expect(exec.code).to.equal(5);
    const rows = Object.fromEntries(exec.json!.result.hosts.map((r: { host: string }) => [r.host, r]));
    expect(rows['local-01'].error.code).to.equal('SSH_TIMEOUT');
    expect(rows['local-02'].stdout).to.deep.equal(['done']);
    expect(rows['local-03'].stdout).to.deep.equal(['done']);
  });

  it('given a command that outlives --timeout, when exec gives up on it, then the remote process is killed, not left running', async () => {
    expect((await world.run(['up', '--hosts', '2'])).code).to.equal(0);
    const marker = `graft-e2e-timeout-${process.pid}-${Date.now()}`;
    // perl is the sleeper and carries the marker; the shell waits on it, so both are in the command's process group.
    const exec = world.run(['exec', '--timeout', '2s', '--json', '--', `perl -e 'sleep 31' ${marker}; echo done`]);
    expect(await eventually(() => markedProcesses(`^perl .*${marker}`).length === 2, 2000), 'the marked command never started on both hosts').to.equal(true);
    const result = await exec;
    expect(result.code).to.equal(5);
    expect(result.json!.result.hosts.map((r: { error: { code: string } }) => r.error.code)).to.deep.equal(['SSH_TIMEOUT', 'SSH_TIMEOUT']);
    expect(await eventually(() => markedProcesses(marker).length === 0, 3000), `still running: ${markedProcesses(marker).join(', ')}`).to.equal(true);
  });

  it('given a host whose sshd is frozen (SIGSTOP), when exec runs with --timeout 2s, then only that host times out and graft exits soon after the timeout', async () => {
    const up = await world.run(['up', '--hosts', '3', '--json']);
    expect(up.code, up.stderr).to.equal(0);
    const pidFile = join(world.home, 'sessions', up.json!.result.session, 'hosts', 'local-02', 'sshd.pid');
    const frozen = Number(readFileSync(pidFile, 'utf8').trim());
    process.kill(frozen, 'SIGSTOP');
    try {
      const started = Date.now();
      const exec = await world.run(['exec', '--timeout', '2s', '--json', '--', 'echo ok']);
      const elapsed = Date.now() - started;
      expect(exec.code).to.equal(5);
      const rows = Object.fromEntries(exec.json!.result.hosts.map((r: { host: string }) => [r.host, r]));
      expect(rows['local-02'].error.code).to.equal('SSH_TIMEOUT');
      expect(rows['local-01'].stdout).to.deep.equal(['ok']);
      expect(rows['local-03'].stdout).to.deep.equal(['ok']);
      // The timeout plus start-up and a generous margin: a stall on the frozen host's connect timeout (10 s) fails this.
      expect(elapsed).to.be.lessThan(6000);
    } finally {
      process.kill(frozen, 'SIGCONT');
    }
  });

  it('given a command that fails on some hosts, when exec runs, then every host still reports and the exit code is 1', async () => {
    expect((await world.run(['up', '--hosts', '2'])).code).to.equal(0);
    const exec = await world.run(['exec', '--json', '--', 'exit $(( $(echo $SSH_CONNECTION | cut -d" " -f3 | cut -d. -f4) % 2 ))']);
    expect(exec.code).to.equal(1);
    expect(exec.json!.status).to.equal(1);
    const codes = exec.json!.result.hosts.map((r: { exitCode: number }) => r.exitCode).sort();
    expect(codes).to.deep.equal([0, 1]);
  });

  it('given an up killed halfway, when down runs, then no sshd, account or host directory of the session is left', async () => {
    const child = world.spawn(['up', '--hosts', '6']);
    const sessionsDir = join(world.home, 'sessions');
    // Kill as soon as the first sshd has written its pid file: some hosts are up, others not yet.
    await new Promise<void>((resolve, reject) => {
      const deadline = Date.now() + 20_000;
      const poll = setInterval(() => {
        const pidFiles = existsSync(sessionsDir)
          ? readdirSync(sessionsDir).flatMap((s) =>
              existsSync(join(sessionsDir, s, 'hosts'))
                ? readdirSync(join(sessionsDir, s, 'hosts')).filter((h) => existsSync(join(sessionsDir, s, 'hosts', h, 'sshd.pid')))
                : [],
            )
          : [];
        if (pidFiles.length > 0) {
          clearInterval(poll);
          child.kill('SIGKILL');
          resolve();
        } else if (Date.now() > deadline) {
          clearInterval(poll);
          reject(new Error('up never started an sshd'));
        }
      }, 5);
    });
    await new Promise((r) => child.once('exit', r));
    // sshd processes started before the kill outlive it (they are detached by design).
    await new Promise((r) => setTimeout(r, 1000));
    const sessions = (await world.run(['sessions', '--json'])).json!.result.sessions;
    expect(sessions).to.have.length(1);

    const down = await world.run(['down', '--json']);
    expect(down.code, down.stdout + down.stderr).to.equal(0);
    expect(world.sshdPids()).to.deep.equal([]);
    expect(accountExists(`graft-${sessions[0].id}`)).to.equal(false);
    expect(existsSync(join(sessionsDir, sessions[0].id, 'hosts')) ? readdirSync(join(sessionsDir, sessions[0].id, 'hosts')) : []).to.deep.equal([]);
  });

  it('given no live session, when hosts runs, then it fails with the not-found exit code and a hint, no stack trace', async () => {
    const hosts = await world.run(['hosts']);
    expect(hosts.code).to.equal(4);
    expect(hosts.stderr).to.match(/no live session/);
    expect(hosts.stderr).to.match(/try: Start one with: graft up/);
    expect(hosts.stderr).not.to.match(/\n\s+at /);
  });

  it('given a bad flag value, when up runs with --json, then the envelope carries the usage error and exit code 2', async () => {
    const up = await world.run(['up', '--hosts', 'zero', '--json']);
    expect(up.code).to.equal(2);
    expect(up.json!.status).to.equal(2);
    expect(up.json!.error!.code).to.equal('USAGE');
  });
});

/** Pids of processes whose command line matches the pattern (pgrep never lists itself). */
function markedProcesses(pattern: string): string[] {
  try {
    return execFileSync('pgrep', ['-f', pattern], { encoding: 'utf8' }).trim().split('\n').filter(Boolean);
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}

/** Polls `check` until it is true or `withinMs` passed; the last answer. */
async function eventually(check: () => boolean, withinMs: number): Promise<boolean> {
  const deadline = Date.now() + withinMs;
  while (Date.now() < deadline) {
    if (check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return check();
}
