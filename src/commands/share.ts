import { Args, Flags } from '@oclif/core';
import { GraftCommand } from '../cli/base-command.js';
import { sessionFlag } from '../cli/flags.js';
import { renderTable } from '../cli/table.js';
import { UsageError } from '../core/errors.js';
import { checkOperatorName } from '../core/team/operator.js';
import { requireSession } from '../core/session/resolve-session.js';
import { MemberStore, type SessionMember, type SessionRole } from '../core/state/member-store.js';

export default class Share extends GraftCommand<typeof Share> {
  static override summary = 'Give another operator a role on a session (team mode), or list who has one.';
  static override description = `In team mode (state in PostgreSQL, GRAFT_DATABASE_URL) every operator sees every session, and may act on one as its role allows: a viewer may follow it (status, logs, cost, diff, hosts, agent ls, dashboard), an approver may also decide gates and send messages (approve, message, inbox), and an owner may do everything (down, resume, extend, exec, ssh, attach, agents, sync, share). Whoever starts a session owns it. Operators are named by GRAFT_OPERATOR (default user@host). Without an operator, lists the session's members.`;
  static override examples = [
    { description: 'Let ana approve gates of the current session', command: '<%= config.bin %> share ana@example.com --role approver' },
    { description: 'Let the on-call follow a session', command: '<%= config.bin %> share oncall --role viewer --session k3f9x2qa' },
    { description: "Take bo's role away", command: '<%= config.bin %> share bo --revoke' },
    { description: 'Who may do what', command: '<%= config.bin %> share --json' },
  ];

  static override args = { operator: Args.string({ description: 'The operator (their GRAFT_OPERATOR name).' }) };
  static override flags = {
    session: sessionFlag,
    role: Flags.string({ description: 'The role to give.', options: ['viewer', 'approver', 'owner'] }),
    revoke: Flags.boolean({ description: "Take the operator's role away.", exclusive: ['role'] }),
  };

  async run(): Promise<{ session: string; members: SessionMember[] }> {
    const runtime = this.runtime();
    if (runtime.store.database.dialect !== 'postgres') {
      throw new UsageError('roles are for team mode: this graft home keeps its state in a SQLite file that is yours alone', [
        "Point graft at the team's PostgreSQL with GRAFT_DATABASE_URL (or --database); see docs/team-mode.md.",
      ]);
    }
    const session = requireSession(runtime.store, this.flags.session);
    const members = new MemberStore(runtime.store);
    const operator = this.args.operator;
    if (operator === undefined) {
      if (this.flags.role || this.flags.revoke)
        throw new UsageError('name the operator to give the role to, or to take it from', ['graft share OPERATOR --role viewer']);
      this.joinSession(session, 'viewer', 'share (list)');
    } else {
      checkOperatorName(operator, 'the operator', 'Name them as their GRAFT_OPERATOR says, e.g. ana@example.com');
      this.joinSession(session, 'owner', 'share');
      if (operator === runtime.operator && (this.flags.revoke || this.flags.role !== 'owner')) {
        throw new UsageError('an owner cannot take their own owner role away: a session would be left with no owner', [
          'Make someone else owner first, and let them do it.',
        ]);
      }
      if (this.flags.revoke) {
        if (!members.revoke(session.id, operator)) throw new UsageError(`${operator} has no role in session ${session.id}`);
      } else {
        if (!this.flags.role) throw new UsageError('say which role to give with --role viewer|approver|owner');
        members.grant(session.id, operator, this.flags.role as SessionRole, runtime.operator);
      }
      this.logToSession(session.id);
      runtime.events.emit({
        code: 'session.shared',
        level: 'info',
        message: this.flags.revoke
          ? `${operator} no longer has a role in session ${session.id}`
          : `${operator} is now ${this.flags.role === 'approver' ? 'an' : 'a'} ${this.flags.role} of session ${session.id}`,
        session: session.id,
        data: { operator, role: this.flags.revoke ? null : this.flags.role, by: runtime.operator },
      });
    }
    const list = members.list(session.id);
    this.log(
      renderTable(
        ['operator', 'role', 'granted by', 'at'],
        list.map((m) => [m.operator, m.role, m.grantedBy, m.grantedAt]),
      ),
    );
    return { session: session.id, members: list };
  }
}
