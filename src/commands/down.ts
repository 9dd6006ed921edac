import { GraftCommand } from '../cli/base-command.js';
import { sessionFlag } from '../cli/flags.js';
import { defaultProvisioners } from '../core/provisioners/factory.js';
import { stopRun } from '../core/controller/stop-run.js';
import { findSession } from '../core/session/resolve-session.js';
import { tearDown, type DownResult } from '../core/session/tear-down.js';

export default class Down extends GraftCommand<typeof Down> {
  static override summary = 'Tear a session down and verify nothing of it is left.';
  static override description = `Destroys the session's ephemeral hosts (inventory hosts are only cleaned), then looks again to prove nothing remains. Repeating it is harmless, and it finishes an interrupted up.`;
  static override examples = [
    { description: 'The most recent live session', command: '<%= config.bin %> down' },
    { description: 'A named session', command: '<%= config.bin %> down --session k3f9x2qa' },
  ];

  static override flags = {
    session: sessionFlag,
  };

  async run(): Promise<DownResult | { session: null; alreadyEnded: true; destroyed: [] }> {
    const runtime = this.runtime();
    const session = findSession(runtime.store, this.flags.session);
    if (!session) {
      this.log('no live session: nothing to tear down');
      return { session: null, alreadyEnded: true, destroyed: [] };
    }
    this.logToSession(session.id);
    await stopRun(runtime, session);
    const result = await tearDown(runtime, session, defaultProvisioners(runtime.pool, runtime.layout.knownHosts));
    this.log(result.alreadyEnded ? `session ${session.id} was already down` : `session ${session.id} is down (${result.destroyed.length} host(s) removed)`);
    return result;
  }
}
