import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HarnessInvocation } from '../../../src/core/harnesses/index.js';

/** What a stub agent CLI saw when the harness script started it. */
export interface StubCall {
  argv: string[];
  stdin: string;
  cwd: string;
  env: Record<string, string>;
}

/** A stub CLI: records argv, stdin, cwd and environment, then exits with $STUB_EXIT. */
const stubCli = `#!/bin/sh
rec="$STUB_RECORD/$(basename "$0")"
mkdir -p "$rec"
printf '%s\\0' "$@" > "$rec/argv"
cat > "$rec/stdin"
pwd > "$rec/cwd"
env -0 > "$rec/env"
exit "\${STUB_EXIT:-0}"
`;

/**
 * A stand-in for an agent's host, in a temp dir: a home whose ~/.graft/task/ receives the
 * invocation's files, a worktree to run in, and stub `claude`, `gemini` and `codex` first on PATH.
 * The script runs as the controller runs it: `/bin/sh -c SCRIPT` in the worktree.
 */
export class StubHost {
  readonly root = mkdtempSync(join(tmpdir(), 'graft-harness-'));
  readonly home = join(this.root, 'home');
  readonly worktree = join(this.root, 'work');
  private readonly bin = join(this.root, 'bin');
  private readonly record = join(this.root, 'record');

  constructor() {
    for (const dir of [this.home, this.worktree, this.bin, this.record]) mkdirSync(dir);
    for (const cli of ['claude', 'gemini', 'codex']) {
      writeFileSync(join(this.bin, cli), stubCli);
      chmodSync(join(this.bin, cli), 0o755);
    }
  }

  /** Writes the files, runs the script with `env` (the granted secrets) and then the invocation's own env over it, as the launcher's env file does; returns its exit status and output. */
  run(invocation: HarnessInvocation, env: Record<string, string> = {}): { status: number | null; stdout: string; stderr: string } {
    const taskDir = join(this.home, '.graft', 'task');
    mkdirSync(taskDir, { recursive: true, mode: 0o700 });
    for (const file of invocation.files) writeFileSync(join(taskDir, file.name), file.content, { mode: 0o600 });
    const result = spawnSync('/bin/sh', ['-c', invocation.script], {
      cwd: this.worktree,
      env: { PATH: `${this.bin}:/usr/bin:/bin`, HOME: this.home, STUB_RECORD: this.record, ...env, ...invocation.env },
      encoding: 'utf8',
    });
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
  }

  /** What the stub named `cli` recorded, or undefined if it never ran. */
  call(cli: string): StubCall | undefined {
    const rec = join(this.record, cli);
    if (!existsSync(rec)) return undefined;
    const nulList = (file: string) => readFileSync(join(rec, file), 'utf8').split('\0').slice(0, -1);
    const env = Object.fromEntries(nulList('env').map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]));
    return { argv: nulList('argv'), stdin: readFileSync(join(rec, 'stdin'), 'utf8'), cwd: readFileSync(join(rec, 'cwd'), 'utf8').trim(), env };
  }

  path(...parts: string[]): string {
    return join(this.root, ...parts);
  }

  remove(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}
