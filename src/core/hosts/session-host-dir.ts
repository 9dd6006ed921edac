import { GraftError } from '../errors.js';
import type { HostRecord } from '../model/host.js';
import { HostShell } from './host-shell.js';
import type { SshPool } from '../ssh/index.js';
import { HostAdmin } from './host-admin.js';

/**
 * The session's shared directory on a host: owned by the session admin, readable by every
 * agent of the session there, writable by none of them. It holds what agents use but must not
 * change: the git object cache and the `graft-agent` helper. With per-agent accounts it is
 * `/var/lib/graft/<session>` (made through the host tool, as root); agents sharing the login
 * account get `~/.graft/cache/<session>` of that account. Returns its absolute path.
 */
export async function ensureSessionHostDir(pool: SshPool, host: HostRecord, sessionId: string, env: NodeJS.ProcessEnv): Promise<string> {
  if (host.isolation === 'accounts') return new HostAdmin(pool, host, env).run(['cache-dir', sessionId, host.user]);
  const result = await HostShell.admin(pool, host, env).exec(sharedSessionDirCommand(sessionId), { timeoutMs: 60_000 });
  if (result.exitCode !== 0) {
    throw new GraftError(
      `${host.name}: cannot make the session directory .graft/cache/${sessionId}: ${result.stderr.trim() || `exit ${result.exitCode ?? result.signal}`}`,
      { code: 'HOST_ADMIN_FAILED' },
    );
  }
  return result.stdout.trim();
}

/**
 * The shell command that makes the session's directory if needed and prints its path, for callers
 * that go on in the same command over the admin's connection (one round trip, not two).
 */
export async function sessionHostDirCommand(pool: SshPool, host: HostRecord, sessionId: string, env: NodeJS.ProcessEnv): Promise<string> {
  if (host.isolation !== 'accounts') return sharedSessionDirCommand(sessionId);
  const admin = new HostAdmin(pool, host, env);
  await admin.ensureTool();
  return admin.commandLine(['cache-dir', sessionId, host.user]);
}

function sharedSessionDirCommand(sessionId: string): string {
  return `mkdir -p .graft/cache/${sessionId} && cd .graft/cache/${sessionId} && pwd -P`;
}
