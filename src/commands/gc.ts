import { Flags } from '@oclif/core';
import { GraftCommand } from '../cli/base-command.js';
import { cloudFlags, cloudSettings } from '../cli/cloud-flags.js';
import { renderTable } from '../cli/table.js';
import { parseDuration } from '../core/duration.js';
import { cloudTiming } from '../core/provisioners/cloud/cloud-factory.js';
import { cloudScopes } from '../core/provisioners/cloud/cloud-scopes.js';
import { collectOrphans, findOrphans, orphansLeftError, type OrphanVm } from '../core/provisioners/cloud/orphan-collection.js';
import { ownerId } from '../core/provisioners/cloud/owner-id.js';

export interface GcResult {
  orphans: OrphanVm[];
  /** Whether they were deleted (--yes). */
  deleted: boolean;
}

export default class Gc extends GraftCommand<typeof Gc> {
  static override summary = 'Find cloud VMs graft forgot, and with --yes delete them.';
  static override description = `Lists the VMs tagged by graft in the regions and zones of this home's cloud sessions (and those named by flags) whose session this home does not know, has ended, or whose up was killed, and any graft VM past its end. With --yes they are terminated and the cloud is listed again until none is left.`;
  static override examples = [
    { description: 'What would be deleted, in the places this home has used', command: '<%= config.bin %> gc' },
    { description: 'Delete them', command: '<%= config.bin %> gc --yes' },
    { description: 'Look in a region this home never used', command: '<%= config.bin %> gc --provisioner ec2 --region us-east-1' },
  ];

  static override flags = {
    yes: Flags.boolean({ char: 'y', description: 'Delete the orphans (default: only list them).', env: 'GRAFT_YES' }),
    provisioner: Flags.string({ char: 'p', description: 'Also look in this cloud, where the flags below say.', options: ['ec2', 'gce'], env: 'GRAFT_PROVISIONER' }),
    grace: Flags.string({ description: 'How long past its end a VM may still be powering itself off before it counts as forgotten.', default: '15m', env: 'GRAFT_GC_GRACE' }),
    ...cloudFlags,
  };

  async run(): Promise<GcResult> {
    const { flags } = this;
    const runtime = this.runtime();
    const extra = flags.provisioner ? [{ provider: flags.provisioner as 'ec2' | 'gce', settings: cloudSettings(flags.provisioner, flags) }] : [];
    const scopes = await cloudScopes(runtime, extra);
    const { orphans, apiOf } = await findOrphans(runtime, scopes, { owner: ownerId(runtime.layout.home), graceMs: parseDuration('grace', flags.grace) });
    for (const orphan of orphans) runtime.events.emit({ code: 'gc.found', level: 'debug', message: `${orphan.id}: ${orphan.reason} (session ${orphan.session})`, session: orphan.session, data: { ...orphan } });
    this.log(orphans.length === 0 ? 'no forgotten VMs' : renderTable(['cloud', 'instance', 'where', 'state', 'session', 'host', 'why'], orphans.map((o) => [o.provider, o.id, o.placement, o.state, o.session, o.host ?? '-', o.reason])));
    if (!flags.yes || orphans.length === 0) {
      if (orphans.length > 0) this.log('\nDelete them with: graft gc --yes');
      return { orphans, deleted: false };
    }
    const { left } = await collectOrphans(orphans, apiOf, cloudTiming(runtime.env).poll, 600_000);
    for (const orphan of orphans.filter((o) => !left.includes(o))) runtime.events.emit({ code: 'gc.deleted', level: 'info', message: `${orphan.id} deleted (session ${orphan.session}, ${orphan.reason})`, session: orphan.session });
    if (left.length > 0) throw orphansLeftError(left);
    this.log(`\n${orphans.length} VM(s) deleted; the cloud lists none of them any more`);
    return { orphans, deleted: true };
  }
}
