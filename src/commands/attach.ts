import { Args, Flags } from '@oclif/core';
import { spawnSync } from 'node:child_process';
import { userInfo } from 'node:os';
import { GraftCommand } from '../cli/base-command.js';
import { sessionFlag } from '../cli/flags.js';
import { requireSession } from '../core/session/resolve-session.js';
import { detachKeys, openTaskTerminal, recordDetach, type TaskTerminal } from '../core/controller/task-terminal.js';

export default class Attach extends GraftCommand<typeof Attach> {
  static override summary = "Join a running task's terminal on its host: watch it, or type into it with --write.";
  static override description = `Each task runs in a tmux session on its host, on a socket only its agent's account can open. attach joins it as the agent, over the agent's own key and the host's pinned key, with OpenSSH's ssh: read-only by default; with --write your keys reach the task (a shell task reads them on stdin; Ctrl-C interrupts it). Leave with ${detachKeys} (tmux's detach): the task keeps running. Each attach and detach is recorded, with who, in the session's audit log. Needs a terminal; the host needs tmux (a task started on a host without it has no terminal).`;
  static override examples = [
    { description: 'Watch a running task', command: '<%= config.bin %> attach implement-api' },
    { description: 'Type into it (leave with Ctrl-b d)', command: '<%= config.bin %> attach implement-api --write' },
  ];

  static override args = { task: Args.string({ description: 'The running task.', required: true }) };
  static override flags = {
    session: sessionFlag,
    write: Flags.boolean({ description: 'Let your keys reach the task (default: watch only).', env: 'GRAFT_ATTACH_WRITE' }),
    by: Flags.string({ description: 'Who attaches, for the audit log (default: your login name).', env: 'GRAFT_ATTACH_BY' }),
  };

  async run(): Promise<Omit<TaskTerminal, 'sshArgv'> & { exitCode: number | null }> {
    const runtime = this.runtime();
    const by = this.flags.by ?? userInfo().username;
    const session = requireSession(runtime.store, this.flags.session);
    this.joinSession(session, 'owner', 'attach');
    this.logToSession(session.id);
    const terminal = await openTaskTerminal(runtime, {
      task: this.args.task,
      write: this.flags.write,
      by,
      session: session.id,
      hasTerminal: Boolean(process.stdin.isTTY && process.stdout.isTTY),
    });
    process.stderr.write(`attached to ${terminal.task} on ${terminal.host} (${terminal.mode}); leave with ${detachKeys}\n`);
    const result = spawnSync('ssh', terminal.sshArgv, { stdio: 'inherit' });
    if (result.error) throw result.error;
    recordDetach(runtime, terminal, by, result.status);
    const { sshArgv: _, ...shown } = terminal;
    return { ...shown, exitCode: result.status };
  }
}
