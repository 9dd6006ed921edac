import { GraftCommand } from '../cli/base-command.js';
import { humanName } from '../core/team/session-access.js';
import { companionFlags, companionOptions } from '../cli/companion-flags.js';
import { driveController, type DriveSummary } from '../cli/drive-controller.js';
import { sessionFlag } from '../cli/flags.js';
import { requireRun } from '../core/controller/require-run.js';
import { defaultProvisioners } from '../core/provisioners/factory.js';

export default class Resume extends GraftCommand<typeof Resume> {
  static override summary = 'Continue a run whose controller stopped or died.';
  static override description = `Becomes the run's controller again: tasks still running on their hosts are re-attached to (not started again), tasks that finished while no controller watched have their results fetched, tasks caught half-started are started cleanly, and the rest of the graph runs. Refused while another controller of the session is alive.`;
  static override examples = [
    { description: 'The most recent session', command: '<%= config.bin %> resume' },
    { description: 'A named session, passing approval gates automatically from now on', command: '<%= config.bin %> resume --session k3f9x2qa' },
  ];

  static override flags = { session: sessionFlag, ...companionFlags };

  protected override logJson(json: unknown): void {
    process.stdout.write(JSON.stringify(json) + '\n');
  }

  async run(): Promise<DriveSummary> {
    const runtime = this.runtime();
    const { session } = requireRun(runtime.store, this.flags.session);
    this.joinSession(session, 'owner', 'resume');
    this.logToSession(session.id);
    runtime.events.emit({ code: 'run.resumed', level: 'info', message: `resuming the run of session ${session.id}`, session: session.id });
    const drive = driveController(
      this.driveOutput(),
      runtime,
      defaultProvisioners(runtime.pool, runtime.layout.knownHosts),
      companionOptions(this.flags, humanName(runtime, this.flags.by)),
    );
    try {
      return await drive.run(session);
    } finally {
      drive.stop();
    }
  }
}
