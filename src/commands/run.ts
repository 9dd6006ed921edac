import { Args, Flags } from '@oclif/core';
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { GraftCommand } from '../cli/base-command.js';
import { humanName } from '../core/team/session-access.js';
import { companionFlags, companionOptions } from '../cli/companion-flags.js';
import { driveController, type DriveSummary } from '../cli/drive-controller.js';
import { parseDuration } from '../core/duration.js';
import { GraftError } from '../core/errors.js';
import { loadGraphFile } from '../core/graph/graph-file.js';
import { startRun } from '../core/controller/start-run.js';
import { defaultProvisioners } from '../core/provisioners/factory.js';

export default class Run extends GraftCommand<typeof Run> {
  static override summary = 'Run a task graph: bring hosts up and drive every task to its end.';
  static override description = `Loads GRAPH (a YAML file of agents and tasks), starts a session with the hosts its hosts: section asks for, and runs the tasks: each on a fresh isolated agent with its own branch graft/<session>/<task>, upstream results merged in, retries, timeouts and approval gates as the graph says. Every step is recorded: if this process dies, graft resume continues. Ctrl-C stops the controller only; tasks keep running on their hosts. The session stays up when the run ends: inspect, then graft down.

Run it inside the git repository the agents work on; the branches come back there.`;
  static override examples = [
    {
      description: 'Run the demo graph with live progress, passing approval gates automatically',
      command: '<%= config.bin %> run examples/demo.yaml --auto-approve',
    },
    { description: 'Run in the background; watch with graft status', command: '<%= config.bin %> run examples/feature.yaml --detach' },
    { description: 'Machine-readable: one JSON event per line, then the result', command: '<%= config.bin %> run graph.yaml --json' },
  ];

  static override args = {
    graph: Args.string({ description: 'The graph file (YAML).', required: true }),
  };

  static override flags = {
    detach: Flags.boolean({ char: 'd', description: 'Run the controller in the background and return once the session exists.' }),
    'auto-approve': Flags.boolean({
      description: 'Pass every approval gate without a human (recorded as approved by auto-approve).',
      env: 'GRAFT_AUTO_APPROVE',
    }),
    ttl: Flags.string({ description: 'How long the session lives: agent keys and certificates expire then.', default: '12h', env: 'GRAFT_TTL' }),
    ...companionFlags,
  };

  /** One line per event and one for the result, so the stream can be read line by line. */
  protected override logJson(json: unknown): void {
    process.stdout.write(JSON.stringify(json) + '\n');
  }

  async run(): Promise<DriveSummary | { session: string; detached: true }> {
    const file = resolve(this.args.graph);
    const ttlMs = parseDuration('ttl', this.flags.ttl);
    if (this.flags.detach) {
      // Mistakes in the file are shown here, not lost in the background.
      await loadGraphFile(file);
      return this.detach();
    }
    const runtime = this.runtime();
    const provisioners = defaultProvisioners(runtime.pool, runtime.layout.knownHosts);
    const drive = driveController(this.driveOutput(), runtime, provisioners, companionOptions(this.flags, humanName(runtime, this.flags.by)));
    try {
      const { session } = await startRun(
        runtime,
        { graphFile: file, repoDir: process.cwd(), autoApprove: this.flags['auto-approve'], ttlMs },
        provisioners,
        (id) => {
          this.logToSession(id);
          process.send?.({ session: id });
        },
      );
      if (process.connected) process.disconnect();
      return await drive.run(session);
    } finally {
      drive.stop();
    }
  }

  /** Starts this same command in the background and returns once it reports its session. */
  private detach(): Promise<{ session: string; detached: true }> {
    const argv = process.argv.slice(1).filter((a) => a !== '--detach' && a !== '-d' && a !== '--json');
    // Its own output (errors included) goes to a file: there is no terminal to show it on.
    const logDir = join(this.runtime().layout.home, 'controllers');
    mkdirSync(logDir, { recursive: true, mode: 0o700 });
    const logFile = join(logDir, `${new Date().toISOString().replace(/[:.]/g, '-')}-${process.pid}.log`);
    const out = openSync(logFile, 'a', 0o600);
    const child = spawn(process.execPath, [...process.execArgv, ...argv], {
      detached: true,
      stdio: ['ignore', out, out, 'ipc'],
      env: { ...process.env, GRAFT_QUIET: '1' },
    });
    closeSync(out);
    return new Promise((done, fail) => {
      child.once('message', (message: { session?: string }) => {
        child.unref();
        child.disconnect();
        this.log(
          `session ${message.session} started; the controller runs in the background (pid ${child.pid}, output in ${logFile}).\n  watch: graft status --session ${message.session}\n  logs:  graft logs TASK --session ${message.session} -f`,
        );
        done({ session: message.session!, detached: true });
      });
      child.once('exit', (code) =>
        fail(
          new GraftError(`the background controller stopped before its session started (exit ${code})`, {
            code: 'DETACH_FAILED',
            actions: [`See its output: ${logFile}`],
          }),
        ),
      );
    });
  }
}
