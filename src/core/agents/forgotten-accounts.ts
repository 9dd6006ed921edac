/**
 * Accounts graft made on this machine (local hosts' admin, agent and pool accounts) for sessions
 * of this home that are over: ended, or past their end. `graft down` deletes them and checks it
 * did; these are what a down that could not finish, or a run nobody took down, left behind.
 */
import { removeSessionAccounts, sessionAccounts } from '../provisioners/local/admin-account.js';
import type { GraftRuntime } from '../runtime.js';

export interface ForgottenAccount {
  session: string;
  account: string;
  /** `pool`: made ahead for agents (`graft-<session>-<uid>`); `agent`: an agent's; `admin`: the session's admin login. */
  kind: 'pool' | 'agent' | 'admin';
  reason: 'session ended' | 'session expired';
}

/** Finds them by looking at this machine's accounts, for every local session of the home that is over. */
export async function findForgottenAccounts(runtime: GraftRuntime, now = Date.now()): Promise<ForgottenAccount[]> {
  const found: ForgottenAccount[] = [];
  for (const session of runtime.store.listSessions()) {
    if (session.provisioner !== 'local') continue;
    const reason = session.status === 'ended' ? 'session ended' : Date.parse(session.expiresAt) < now ? 'session expired' : undefined;
    if (!reason) continue;
    for (const account of await sessionAccounts(session.id)) {
      const rest = account.slice(`graft-${session.id}`.length);
      found.push({ session: session.id, account, kind: rest === '' ? 'admin' : /^-\d+$/.test(rest) ? 'pool' : 'agent', reason });
    }
  }
  return found;
}

/** Deletes them (processes killed, homes and the sessions' system files removed); returns what is still there. */
export async function removeForgottenAccounts(runtime: GraftRuntime, accounts: ForgottenAccount[]): Promise<ForgottenAccount[]> {
  const sessions = new Set(accounts.map((a) => a.session));
  for (const session of sessions) await removeSessionAccounts(session);
  const left = new Set((await Promise.all([...sessions].map((s) => sessionAccounts(s)))).flat());
  return accounts.filter((a) => left.has(a.account));
}
