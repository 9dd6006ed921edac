/**
 * What tasks did, written by the tasks themselves outside graft: every commit an attempt makes
 * (its sha) and every attempt that ran to its end. Hosts in network namespaces share this
 * machine's filesystem, so a world-writable directory is seen by all of them. From it a test
 * counts what graft must never do: complete a task twice, or lose a commit an agent made.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface WorkLedger {
  dir: string;
  /**
   * A task's shell command: `steps` commits, each logged with the address of the host it ran on,
   * then a line saying the task's work is complete. After each commit it waits while the gate is
   * held, so a test decides when attempts may go on (no race between a fault and a task's end).
   */
  command(steps: number): string;
  /** Holds every task after its next commit, or lets them all go on. */
  hold(held: boolean): void;
  /** Commits logged so far: sha, task, step, host address. */
  commits(): { sha: string; task: string; step: number; host: string }[];
  /** How many attempts of each task ran to their end. */
  completions(): Map<string, number>;
  /** Tasks whose work was completed more than once. */
  completedTwice(): string[];
  /** Logged commits the controller's repository cannot reach from any ref: work lost. */
  lostCommits(repo: string): string[];
}

export function makeWorkLedger(root: string): WorkLedger {
  const dir = join(root, 'ledger');
  mkdirSync(dir, { recursive: true });
  // Tasks run as the hosts' own accounts; the files are root's and writable by all.
  chmodSync(root, 0o755);
  chmodSync(dir, 0o1777);
  for (const file of ['commits', 'completed']) {
    writeFileSync(join(dir, file), '');
    chmodSync(join(dir, file), 0o666);
  }
  const lines = (file: string) => (existsSync(join(dir, file)) ? readFileSync(join(dir, file), 'utf8').split('\n').filter(Boolean) : []);
  return {
    dir,
    command(steps) {
      return [
        'where=$(echo "$SSH_CONNECTION" | cut -d" " -f3)',
        `for i in $(seq 1 ${steps}); do`,
        '  echo "$GRAFT_TASK $i" > "$GRAFT_TASK-step-$i" && git add -A && git commit -qm "$GRAFT_TASK step $i on $where"',
        `  echo "$(git rev-parse HEAD) $GRAFT_TASK $i $where" >> ${dir}/commits`,
        `  while [ -f ${dir}/hold ]; do sleep 0.2; done`,
        'done',
        `echo "$GRAFT_TASK $where" >> ${dir}/completed`,
      ].join('\n');
    },
    hold(held) {
      if (held) writeFileSync(join(dir, 'hold'), '');
      else rmSync(join(dir, 'hold'), { force: true });
    },
    commits() {
      return lines('commits').map((line) => {
        const [sha, task, step, host] = line.split(' ');
        return { sha: sha!, task: task!, step: Number(step), host: host! };
      });
    },
    completions() {
      const counts = new Map<string, number>();
      for (const line of lines('completed')) {
        const task = line.split(' ')[0]!;
        counts.set(task, (counts.get(task) ?? 0) + 1);
      }
      return counts;
    },
    completedTwice() {
      return [...this.completions()].filter(([, n]) => n > 1).map(([task]) => task);
    },
    lostCommits(repo) {
      return this.commits()
        .map((c) => c.sha)
        .filter((sha) => {
          try {
            return (
              execFileSync('git', ['for-each-ref', '--contains', sha, '--format=%(refname)'], {
                cwd: repo,
                encoding: 'utf8',
                stdio: ['ignore', 'pipe', 'ignore'],
              }).trim() === ''
            );
          } catch {
            // The object never reached the repository.
            return true;
          }
        });
    },
  };
}
