import { Flags } from '@oclif/core';
import { GraftCommand } from '../cli/base-command.js';
import { sessionFlag } from '../cli/flags.js';
import { parseDuration } from '../core/duration.js';
import { extendSession } from '../core/provisioners/cloud/extend-session.js';
import { defaultProvisioners } from '../core/provisioners/factory.js';
import { requireSession } from '../core/session/resolve-session.js';

export default class Extend extends GraftCommand<typeof Extend> {
  static override summary = "Move a cloud session's end: its VMs' dead-man's switch and expiry tags.";
  static override description = `Every cloud VM of a session powers itself off at the session's end (--ttl of up), even with no graft running. extend moves that end to --ttl from now on every VM (over SSH) and in their expiry tags, so gc does not take them for forgotten.`;
  static override examples = [{ description: 'Four more hours from now', command: '<%= config.bin %> extend --ttl 4h' }];

  static override flags = {
    session: sessionFlag,
    ttl: Flags.string({ description: 'New remaining lifetime, from now.', required: true, env: 'GRAFT_TTL' }),
  };

  async run(): Promise<{ session: string; expiresAt: string }> {
    const runtime = this.runtime();
    const ttlMs = parseDuration('ttl', this.flags.ttl);
    const session = requireSession(runtime.store, this.flags.session);
    this.logToSession(session.id);
    const result = await extendSession(runtime, session, ttlMs, defaultProvisioners(runtime.pool, runtime.layout.knownHosts, { home: runtime.layout.home, env: runtime.env }));
    this.log(`session ${result.session} now ends at ${result.expiresAt}`);
    return result;
  }
}
