import { UsageError } from '../../errors.js';
import type { GraftRuntime } from '../../runtime.js';
import { sessionContext } from '../provisioner.js';
import type { ProvisionerFactory } from '../provisioner.js';
import type { SessionRow } from '../../state/store.js';
import { extendsExpiry } from '../provisioner.js';

/**
 * Moves a live session's end to `ttlMs` from now: every VM's dead-man's switch is re-armed over
 * SSH and its expiry tag rewritten, then the session's own end is recorded. Agent keys already
 * issued keep the end they were issued with; agents created later get the new one.
 */
export async function extendSession(
  runtime: GraftRuntime,
  session: SessionRow,
  ttlMs: number,
  factory: ProvisionerFactory,
): Promise<{ session: string; expiresAt: string }> {
  if (session.status !== 'live') throw new UsageError(`session ${session.id} is ${session.status}: only a live session can be extended`);
  const { provisioner } = await factory(session.provisioner, { id: session.id, dir: runtime.layout.sessionDir(session.id), spec: session.spec });
  if (!extendsExpiry(provisioner)) {
    throw new UsageError(`session ${session.id} uses the ${session.provisioner} provisioner, whose hosts do not stop by themselves: nothing to extend`);
  }
  const expiresAt = new Date(Date.now() + ttlMs);
  const context = { ...sessionContext(runtime, session.id), expiresAt: expiresAt.toISOString() };
  await provisioner.extendExpiry(context, runtime.store.listHosts(session.id), expiresAt);
  runtime.store.setSessionExpiry(session.id, expiresAt.toISOString());
  runtime.events.emit({
    code: 'session.extended',
    level: 'info',
    message: `session ${session.id} now ends at ${expiresAt.toISOString()}`,
    session: session.id,
    data: { expiresAt: expiresAt.toISOString() },
  });
  return { session: session.id, expiresAt: expiresAt.toISOString() };
}
