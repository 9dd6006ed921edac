import { Flags } from '@oclif/core';
import { GraftCommand } from '../cli/base-command.js';
import { sessionFlag } from '../cli/flags.js';
import { defaultProvisioners } from '../core/provisioners/factory.js';
import { findSession } from '../core/session/resolve-session.js';
import type { DownResult } from '../core/session/tear-down.js';
import { stopAndTearDown, tearDownAll } from '../core/controller/tear-down-all.js';

export default class Down extends GraftCommand<typeof Down> {
  static override summary = 'Tear a session down and verify nothing of it is left.';
  static override description = `Destroys the session's ephemeral hosts (inventory hosts are only cleaned), then looks again to prove nothing remains. Repeating it is harmless, and it finishes an interrupted up. With --all, every session that has not ended.`;
  static override examples = [
    { description: 'The most recent live session', command: '<%= config.bin %> down' },
    { description: 'A named session', command: '<%= config.bin %> down --session k3f9x2qa' },
    { description: 'Every open session', command: '<%= config.bin %> down --all' },
  ];

  static override flags = {
    session: sessionFlag,
    all: Flags.boolean({ description: 'Tear down every session that has not ended.', default: false, env: 'GRAFT_DOWN_ALL', exclusive: ['session'] }),
  };

  // The result line on stdout says it; the event stays in the session's logs and audit.
  static override resultEvents: ReadonlySet<string> = new Set(['session.ended']);

  async run(): Promise<DownResult | { session: null; alreadyEnded: true; destroyed: [] } | { sessions: DownResult[] }> {
    const runtime = this.runtime();
    const factory = defaultProvisioners(runtime.pool, runtime.layout.knownHosts);
    if (this.flags.all) {
      const sessions = await tearDownAll(runtime, factory);
      for (const result of sessions) this.log(describe(result));
      if (sessions.length === 0) this.log('no live session: nothing to tear down');
      return { sessions };
    }
    const session = findSession(runtime.store, this.flags.session);
    if (!session) {
      this.log('no live session: nothing to tear down');
      return { session: null, alreadyEnded: true, destroyed: [] };
    }
    this.joinSession(session, 'owner', 'down');
    this.logToSession(session.id);
    const result = await stopAndTearDown(runtime, session, factory);
    this.log(describe(result));
    return result;
  }
}

function describe(result: DownResult): string {
  return result.alreadyEnded ? `session ${result.session} was already down` : `session ${result.session} is down (${result.destroyed.length} host(s) removed)`;
}
