import { Flags } from '@oclif/core';
import { GraftCommand } from '../cli/base-command.js';
import { humanName, mayAct } from '../core/team/session-access.js';
import { sessionFlag } from '../cli/flags.js';
import { requireRun } from '../core/controller/require-run.js';
import { liveDashboardUrl, serveDashboard } from '../core/dashboard/serve-dashboard.js';

export default class Dashboard extends GraftCommand<typeof Dashboard> {
  static override summary = "Open a session's web dashboard: the graph live, logs, inbox, approvals.";
  static override description = `While graft run or graft resume drives the run, their process serves the dashboard: this prints a new one-time sign-in URL for it. Otherwise this serves the dashboard itself from the state store until stopped (Ctrl-C); live logs are read from the hosts as graft logs -f does. The URL's token is spent on first use and traded for a cookie. Pages of an ended session are read-only. --listen on any address but loopback serves HTTPS with a certificate from the session's CA.`;
  static override examples = [
    { description: 'Open the dashboard of the most recent session', command: '<%= config.bin %> dashboard' },
    {
      description: 'Serve it to another machine on the LAN (HTTPS; trust the printed CA file there)',
      command: '<%= config.bin %> dashboard --listen 10.0.0.5:8443',
    },
  ];

  static override flags = {
    session: sessionFlag,
    listen: Flags.string({
      description: 'Address[:port] to serve on (default 127.0.0.1 and a free port); not loopback means HTTPS.',
      env: 'GRAFT_DASHBOARD_LISTEN',
    }),
    by: Flags.string({
      description: 'Who approvals and answers made on the page are recorded as (default: your login name; in team mode always your operator name).',
      env: 'GRAFT_APPROVER',
    }),
  };

  async run(): Promise<{ session: string; url: string; served: boolean }> {
    const runtime = this.runtime();
    const { session } = requireRun(runtime.store, this.flags.session);
    this.joinSession(session, 'viewer', 'dashboard');
    // A viewer (team mode) gets a read-only page of their own, never a sign-in to the controller's.
    const mayDecide = mayAct(runtime, session, 'approver');
    const existing = this.flags.listen || !mayDecide ? undefined : liveDashboardUrl(runtime, session.id);
    if (existing) {
      process.stderr.write(`the run's controller serves the dashboard; open:\n  ${existing}\n`);
      return { session: session.id, url: existing, served: false };
    }
    this.logToSession(session.id);
    const server = await serveDashboard(runtime, session, {
      listen: this.flags.listen,
      approver: humanName(runtime, this.flags.by),
      writable: session.status !== 'ended' && mayDecide,
    });
    const url = server.signInUrl();
    process.stderr.write(
      `dashboard of session ${session.id}; open (the link works once):\n  ${url}\n${server.caFile ? `  served over HTTPS: trust the session CA ${server.caFile}\n` : ''}Ctrl-C stops it.\n`,
    );
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    await server.close();
    return { session: session.id, url: server.origin, served: true };
  }
}
