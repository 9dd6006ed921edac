import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launcherScript, taskDir, terminalSocket } from '../../../src/core/controller/task-process.js';

/** The commands the launcher uses, without tmux: a host that has none. */
const withoutTmux = ['sh', 'mkdir', 'mv', 'setsid', 'sleep', 'cat'];

describe('task launcher: in a tmux session where the host has tmux, under setsid where not', () => {
  let root: string;
  beforeEach(() => (root = mkdtempSync(join(tmpdir(), 'graft-launcher-'))));
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  /** Runs the launcher with `sh` in a fresh home, as the SSH exec would; returns its stdout and the home. */
  function launch(path: string, script: string, files: { name: string; content: string }[] = []): { stdout: string; home: string } {
    const home = join(root, `home-${Math.random().toString(36).slice(2)}`);
    mkdirSync(home);
    const launcher = launcherScript({
      invocation: { script, requires: [], files, credentials: [] },
      workdir: root,
      env: { GRAFT_TASK: 't' },
      path: [],
      harness: 'shell',
    });
    const stdout = execFileSync('sh', ['-s'], { input: launcher, env: { HOME: home, PATH: path }, encoding: 'utf8', timeout: 60_000 });
    return { stdout, home };
  }

  /** A PATH directory holding only `withoutTmux`'s commands. */
  function binWithoutTmux(): string {
    const bin = join(root, 'bin');
    mkdirSync(bin);
    for (const command of withoutTmux) symlinkSync(execFileSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' }).trim(), join(bin, command));
    return bin;
  }

  const script = 'echo "out $GRAFT_TASK"; echo err >&2; [ -t 0 ] && echo "stdin is a terminal"; exit 3\n';

  it('given tmux on the PATH, when a task runs, then its bytes reach the log, its status comes back, and its stdin was the terminal', function () {
    if (!existsSync('/usr/bin/tmux')) this.skip();
    const { stdout, home } = launch('/usr/bin:/bin', script);
    expect(stdout).to.match(/^pid \d+\nexit 3\n$/);
    expect(readFileSync(join(home, taskDir, 'output.log'), 'utf8')).to.equal('out t\nerr\nstdin is a terminal\n');
    expect(existsSync(join(home, terminalSocket))).to.equal(true);
  });

  it('given no tmux, when a task runs, then it runs under setsid with no terminal, as before', () => {
    const bin = binWithoutTmux();
    const { stdout, home } = launch(bin, script);
    expect(stdout).to.match(/^pid \d+\nexit 3\n$/);
    expect(readFileSync(join(home, taskDir, 'output.log'), 'utf8')).to.equal('out t\nerr\n');
    expect(existsSync(join(home, terminalSocket))).to.equal(false);
  });

  it("given files whose text the shell would interpret, when the launcher writes them, then each holds exactly the harness's bytes", () => {
    const bin = binWithoutTmux();
    const content = "it's $HOME and $(touch pwned) `id` \\n %s %% \\\n\nlast line, no newline";
    const { stdout, home } = launch(bin, 'cat "$HOME"/.graft/task/prompt.txt\n', [{ name: 'prompt.txt', content }]);
    expect(stdout).to.match(/^pid \d+\nexit 0\n$/);
    expect(readFileSync(join(home, taskDir, 'prompt.txt'), 'utf8')).to.equal(content);
    expect(readFileSync(join(home, taskDir, 'output.log'), 'utf8')).to.equal(content);
    expect(existsSync(join(root, 'pwned'))).to.equal(false);
  });
});
