import { Flags } from '@oclif/core';
import { GraftCommand } from '../cli/base-command.js';
import { sessionFlag } from '../cli/flags.js';
import { parseDuration } from '../core/duration.js';
import { renderTable } from '../cli/table.js';
import { UsageError } from '../core/errors.js';
import { fanoutExec, fanoutExitCode, type HostExecRow } from '../core/fanout/fanout-exec.js';
import { selectHosts } from '../core/inventory/selector.js';
import { HostShell } from '../core/hosts/host-shell.js';
import { requireSession } from '../core/session/resolve-session.js';

export default class Exec extends GraftCommand<typeof Exec> {
  static override summary = 'Run a command on many hosts at once.';
  static override description = `Runs the command after -- on every selected host of the session in parallel, over one reused SSH connection per host, and prints a row per host: exit code, duration and the first lines of output. A host that fails or hangs never holds up the others beyond --timeout. Exits 0 when every host succeeded, otherwise with the most severe failure (see README).`;
  static override examples = [
    { description: 'Every host', command: '<%= config.bin %> exec -- uname -a' },
    { description: 'Hosts in group web that also carry the gpu label', command: "<%= config.bin %> exec --on 'web:&gpu' -- nvidia-smi -L" },
    {
      description: 'All but the db group, 10 at a time, 30 s each',
      command: "<%= config.bin %> exec --on 'all:!db' --concurrency 10 --timeout 30s -- df -h /",
    },
  ];

  static override strict = false;
  static override flags = {
    session: sessionFlag,
    on: Flags.string({
      description: 'Host selector: names, groups, labels, globs; a:b union, a:&b intersection, a:!b exclusion.',
      default: 'all',
      env: 'GRAFT_ON',
    }),
    concurrency: Flags.integer({ char: 'c', description: 'Hosts at once.', default: 100, min: 1, env: 'GRAFT_CONCURRENCY' }),
    timeout: Flags.string({ char: 't', description: 'Per-host limit for connecting and running, e.g. 30s, 5m.', default: '5m', env: 'GRAFT_TIMEOUT' }),
    lines: Flags.integer({ description: 'Lines of stdout/stderr shown per host.', default: 3, min: 0, env: 'GRAFT_LINES' }),
  };

  async run(): Promise<{ session: string; command: string; ok: number; failed: number; hosts: HostExecRow[] }> {
    const command = this.rest.join(' ');
    if (!command) throw new UsageError('no command given', ['Put the command after --, e.g.: graft exec -- uname -a']);
    const timeoutMs = parseDuration('timeout', this.flags.timeout);

    const runtime = this.runtime();
    const session = requireSession(runtime.store, this.flags.session);
    this.joinSession(session, 'owner', 'exec');
    this.logToSession(session.id);
    const up = runtime.store.listHosts(session.id).filter((h) => h.state === 'up');
    const names = new Set(selectHosts(this.flags.on, up));
    const hosts = up.filter((h) => names.has(h.name));
    const rows = await fanoutExec(runtime.pool, hosts, command, {
      concurrency: this.flags.concurrency,
      timeoutMs,
      headLines: this.flags.lines,
      sessionId: session.id,
      events: this.events,
      endpointFor: (host) => HostShell.admin(runtime.pool, host, runtime.env).endpoint,
    });
    const failed = rows.filter((r) => !r.ok).length;
    this.log(
      renderTable(
        ['host', 'exit', 'time', 'output'],
        rows.map((r) => [
          r.host,
          r.error ? r.error.code : String(r.exitCode ?? r.signal),
          `${r.durationMs}ms`,
          (r.error?.message ?? [...r.stdout, ...r.stderr].join(' ⏎ ')).slice(0, 160),
        ]),
      ),
    );
    // In full: the table cuts messages short, and a refusal's fingerprints or hints must not be lost.
    for (const row of rows.filter((r) => r.error)) this.log(`\n${row.host}: ${row.error!.message}${row.error!.actions.map((a) => `\n  try: ${a}`).join('')}`);
    this.log(`\n${rows.length - failed} ok, ${failed} failed`);
    this.setExitCode(fanoutExitCode(rows));
    return { session: session.id, command, ok: rows.length - failed, failed, hosts: rows };
  }
}
