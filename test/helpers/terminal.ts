/**
 * A local terminal for tests of commands that need one (`graft attach`): a detached tmux session
 * on a private socket runs the command on a real pty; the test types into it and reads its screen.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export class LocalTerminal {
  private readonly dir = mkdtempSync(join(tmpdir(), 'graft-term-'));
  private readonly socket = join(this.dir, 'tmux.sock');

  /** Runs `command` (a shell line) in a new terminal; its exit status is shown as `EXIT=<n>`, and the terminal stays. */
  constructor(command: string, env: NodeJS.ProcessEnv) {
    this.tmux(['new-session', '-d', '-s', 'test', '-x', '160', '-y', '48', `${command}; echo "EXIT=$?"; sleep 3600`], env);
  }

  /** Everything the terminal shows, its scrollback included. */
  screen(): string {
    return this.tmux(['capture-pane', '-p', '-J', '-S', '-', '-t', 'test']);
  }

  /** Types keys (tmux key names: `Enter`, `C-b`, or literal text). */
  keys(...keys: string[]): void {
    this.tmux(['send-keys', '-t', 'test', ...keys]);
  }

  close(): void {
    try {
      this.tmux(['kill-server']);
    } catch {
      // Already gone.
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  private tmux(args: string[], env: NodeJS.ProcessEnv = process.env): string {
    return execFileSync('tmux', ['-f', '/dev/null', '-S', this.socket, ...args], { encoding: 'utf8', env });
  }
}
