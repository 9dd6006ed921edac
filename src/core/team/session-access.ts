import { userInfo } from 'node:os';
import { GraftError, UsageError } from '../errors.js';
import type { GraftRuntime } from '../runtime.js';
import { MemberStore, roleRank, type SessionRole } from '../state/member-store.js';
import type { SessionRow } from '../state/store.js';

/**
 * Refuses `action` on `session` unless this operator's role on it is `needed` or more. Only in
 * team mode (a PostgreSQL store): the SQLite file in a graft home is its user's alone. graft
 * enforces the roles; the database grants that stand behind them are the team's (docs/team-mode.md).
 */
export function authorize(runtime: GraftRuntime, session: SessionRow, needed: SessionRole, action: string): void {
  if (mayAct(runtime, session, needed)) return;
  const role = new MemberStore(runtime.store).role(session.id, runtime.operator);
  const has = role ? `is only ${role === 'approver' ? 'an' : 'a'} ${role} of` : 'has no role in';
  throw new GraftError(`${runtime.operator} ${has} session ${session.id}: ${action} needs the ${needed} role`, {
    code: 'ROLE_REFUSED',
    actions: [
      `Ask its owner${session.owner ? ` (${session.owner})` : ''} to run: graft share ${runtime.operator} --role ${needed} --session ${session.id}`,
      'See who may do what with: graft share --session ' + session.id,
    ],
  });
}

/** Whether this operator's role on `session` is `needed` or more (always, outside team mode). */
export function mayAct(runtime: GraftRuntime, session: SessionRow, needed: SessionRole): boolean {
  if (runtime.store.database.dialect !== 'postgres') return true;
  const role = new MemberStore(runtime.store).role(session.id, runtime.operator);
  return role !== undefined && roleRank[role] >= roleRank[needed];
}

/**
 * Who a human decision or message is recorded as: `by` (or the login name) on a graft home of
 * one's own; in team mode the operator, whose role was checked, and never a name given instead.
 */
export function humanName(runtime: GraftRuntime, by: string | undefined): string {
  if (runtime.store.database.dialect !== 'postgres') return by ?? userInfo().username;
  if (by !== undefined && by !== runtime.operator) {
    throw new UsageError(`--by ${by}: in team mode a decision or message is recorded as the operator who makes it (${runtime.operator})`, [
      'Drop --by (and GRAFT_APPROVER), or run graft as that operator (GRAFT_OPERATOR).',
    ]);
  }
  return runtime.operator;
}
