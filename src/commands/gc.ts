import { Flags } from '@oclif/core';
import { GraftCommand } from '../cli/base-command.js';
import { cloudFlags, cloudSettings } from '../cli/cloud-flags.js';
import { renderTable } from '../cli/table.js';
import { parseDuration } from '../core/duration.js';
import { cloudTiming } from '../core/provisioners/cloud-factory.js';
import { cloudScopes } from '../core/provisioners/cloud/cloud-scopes.js';
import { collectOrphans, findOrphans, orphansLeftError, type OrphanVm } from '../core/provisioners/cloud/orphan-collection.js';
import { ownerId } from '../core/provisioners/cloud/owner-id.js';
import { findForgottenAccounts, removeForgottenAccounts, type ForgottenAccount } from '../core/agents/forgotten-accounts.js';
import { ProviderError } from '../core/errors.js';

export interface GcResult {
  orphans: OrphanVm[];
  /** Accounts on this machine (local hosts' pool, agent and admin accounts) of sessions that are over. */
  accounts: ForgottenAccount[];
  /** Whether they were deleted (--yes). */
  deleted: boolean;
}

export default class Gc extends GraftCommand<typeof Gc> {
  static override summary = 'Find cloud VMs and local accounts graft forgot, and with --yes delete them.';
  static override description = `Lists the accounts on this machine (local hosts' admin, agent and pool accounts) of this home's sessions that ended or are past their end, and the VMs tagged by graft in the regions and zones of this home's cloud sessions (and those named by flags) whose session this home does not know, has ended, or whose up was killed, and any graft VM past its end. With --yes they are terminated and the cloud is listed again until none is left.`;
  static override examples = [
    { description: 'What would be deleted, in the places this home has used', command: '<%= config.bin %> gc' },
    { description: 'Delete them', command: '<%= config.bin %> gc --yes' },
    { description: 'Look in a region this home never used', command: '<%= config.bin %> gc --provisioner ec2 --region us-east-1' },
  ];

  static override flags = {
    yes: Flags.boolean({ char: 'y', description: 'Delete the orphans (default: only list them).', env: 'GRAFT_YES' }),
    provisioner: Flags.string({
      char: 'p',
      description: 'Also look in this cloud, where the flags below say.',
      options: ['ec2', 'gce'],
      env: 'GRAFT_PROVISIONER',
    }),
    grace: Flags.string({
      description: 'How long past its end a VM may still be powering itself off before it counts as forgotten.',
      default: '15m',
      env: 'GRAFT_GC_GRACE',
    }),
    ...cloudFlags,
  };

  async run(): Promise<GcResult> {
    const { flags } = this;
    const runtime = this.runtime();
    const extra = flags.provisioner ? [{ provider: flags.provisioner as 'ec2' | 'gce', settings: cloudSettings(flags.provisioner, flags) }] : [];
    // A home with only local sessions has no cloud to look in: only its accounts are looked at.
    const sessions = runtime.store.listSessions();
    const onlyLocal =
      extra.length === 0 && sessions.some((x) => x.provisioner === 'local') && !sessions.some((x) => x.provisioner === 'ec2' || x.provisioner === 'gce');
    const scopes = onlyLocal ? [] : await cloudScopes(runtime, extra);
    const { orphans, apiOf } = await findOrphans(runtime, scopes, {
      owner: ownerId(runtime.layout.home),
      shared: runtime.store.database.dialect === 'postgres',
      graceMs: parseDuration('grace', flags.grace),
    });
    const accounts = process.getuid?.() === 0 ? await findForgottenAccounts(runtime) : [];
    for (const orphan of orphans)
      runtime.events.emit({
        code: 'gc.found',
        level: 'debug',
        message: `${orphan.id}: ${orphan.reason} (session ${orphan.session})`,
        session: orphan.session,
        data: { ...orphan },
      });
    for (const a of accounts)
      runtime.events.emit({ code: 'gc.found', level: 'debug', message: `account ${a.account}: ${a.reason}`, session: a.session, data: { ...a } });
    if (!onlyLocal || orphans.length > 0)
      this.log(
        orphans.length === 0
          ? 'no forgotten VMs'
          : renderTable(
              ['cloud', 'instance', 'where', 'state', 'session', 'host', 'why'],
              orphans.map((o) => [o.provider, o.id, o.placement, o.state, o.session, o.host ?? '-', o.reason]),
            ),
      );
    if (onlyLocal && accounts.length === 0) this.log('no forgotten accounts');
    if (accounts.length > 0)
      this.log(
        `\n${renderTable(
          ['account', 'kind', 'session', 'why'],
          accounts.map((a) => [a.account, a.kind, a.session, a.reason]),
        )}`,
      );
    if (!flags.yes || (orphans.length === 0 && accounts.length === 0)) {
      if (orphans.length + accounts.length > 0) this.log('\nDelete them with: graft gc --yes');
      return { orphans, accounts, deleted: false };
    }
    const leftAccounts = await removeForgottenAccounts(runtime, accounts);
    for (const a of accounts.filter((x) => !leftAccounts.includes(x)))
      runtime.events.emit({
        code: 'gc.deleted',
        level: 'info',
        message: `account ${a.account} deleted (session ${a.session}, ${a.reason})`,
        session: a.session,
      });
    if (leftAccounts.length > 0)
      throw new ProviderError(`${leftAccounts.length} account(s) could not be deleted: ${leftAccounts.map((a) => a.account).join(', ')}`, {
        code: 'GC_INCOMPLETE',
        actions: ['Run again: graft gc --yes'],
      });
    const { left } = await collectOrphans(orphans, apiOf, cloudTiming(runtime.env).poll, 600_000);
    for (const orphan of orphans.filter((o) => !left.includes(o)))
      runtime.events.emit({
        code: 'gc.deleted',
        level: 'info',
        message: `${orphan.id} deleted (session ${orphan.session}, ${orphan.reason})`,
        session: orphan.session,
      });
    if (left.length > 0) throw orphansLeftError(left);
    this.log(`\n${orphans.length} VM(s) and ${accounts.length} account(s) deleted; none of them is listed any more`);
    return { orphans, accounts, deleted: true };
  }
}
