import { Args, Flags } from '@oclif/core';
import { GraftCommand } from '../cli/base-command.js';
import { readAttemptLog } from '../core/controller/saved-logs.js';
import { sessionFlag } from '../cli/flags.js';
import { learnAgentSecrets } from '../core/hosts/agent-secrets.js';
import { HostShell } from '../core/hosts/host-shell.js';
import { requireRun } from '../core/controller/require-run.js';
import { LogTail, taskLogCommand } from '../core/controller/task-log.js';
import { NotFoundError } from '../core/errors.js';

export default class Logs extends GraftCommand<typeof Logs> {
  static override summary = "Show a task's output: the current attempt's live, earlier ones from the session.";
  static override description = `While a task runs, its output is read from its host (as its agent); once an attempt ends, graft keeps its output in the session directory. Either way at most the last 8 MiB is shown, after a marker if more was written. With -f, follows the running attempt until its process ends.`;
  static override examples = [
    { description: 'Follow a running task', command: '<%= config.bin %> logs implement-api -f' },
    { description: 'The first attempt of a retried task', command: '<%= config.bin %> logs implement-api --attempt 1' },
  ];

  static override args = { task: Args.string({ description: 'The task.', required: true }) };
  static override flags = {
    session: sessionFlag,
    follow: Flags.boolean({ char: 'f', description: 'Keep printing output as the running attempt writes it.' }),
    attempt: Flags.integer({ description: 'Which attempt (default: the latest).', min: 1 }),
  };

  async run(): Promise<{ task: string; attempt: number; source: 'host' | 'saved'; output?: string }> {
    const runtime = this.runtime();
    const { session, run, runs } = requireRun(runtime.store, this.flags.session);
    this.joinSession(session, 'viewer', 'logs');
    const name = this.args.task;
    if (!Object.hasOwn(run.graph.tasks, name))
      throw new NotFoundError(`session ${session.id} has no task ${name}`, [`Tasks: ${Object.keys(run.graph.tasks).join(', ')}`]);
    const task = runs.getTask(session.id, name)!;
    const attempt = this.flags.attempt ?? task.attempt;
    const live = attempt === task.attempt && (task.state === 'running' || task.state === 'starting');
    if (!live) {
      const output = await readAttemptLog(runtime, session.id, name, attempt);
      if (output === undefined) throw new NotFoundError(`${name} has no output for attempt ${attempt || 1} yet (it is ${task.state})`, ['See: graft status']);
      if (!this.jsonEnabled()) process.stdout.write(output);
      return { task: name, attempt, source: 'saved', output };
    }
    const agent = runtime.store.getAgent(session.id, task.agent!);
    const host = runtime.store.listHosts(session.id).find((h) => h.name === task.host);
    if (!agent || agent.state !== 'ready' || !host)
      throw new NotFoundError(`${name} is ${task.state} but its agent is not ready yet`, ['Try again in a moment.']);
    const shell = HostShell.agent(runtime.pool, session.id, agent, host);
    await learnAgentSecrets(shell, agent, runtime.redactor);
    // A flooding task's log is read from its end: the last 8 MiB, then (with -f) what follows.
    const command = taskLogCommand({ wait: true, followPid: this.flags.follow ? task.pid : undefined });
    const kept = new LogTail();
    await shell.exec(command, {
      onStdout: (chunk) => (this.jsonEnabled() ? kept.push(chunk) : process.stdout.write(this.redact(chunk.toString('utf8')))),
      maxBufferBytes: 0,
    });
    return { task: name, attempt, source: 'host', ...(this.jsonEnabled() ? { output: kept.text() } : {}) };
  }
}
