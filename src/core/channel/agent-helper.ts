/**
 * Putting the agent side of the channel on hosts: the `graft-agent` helper (once per host and
 * session, content-addressed) and each agent's `~/.graft/channel.url`.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { HostAdmin } from '../hosts/host-admin.js';
import type { AgentRecord } from '../model/agent.js';
import { ensureSessionHostDir } from '../hosts/session-host-dir.js';
import { GraftError, UsageError } from '../errors.js';
import { assetPath } from '../package-assets.js';
import type { HostRecord } from '../model/host.js';
import { HostShell } from '../hosts/host-shell.js';
import { shellQuote } from '../shell-quote.js';
import type { SshPool } from '../ssh/index.js';

const timeoutMs = 60_000;

/** Where each agent's controller URL lives, relative to its home (its directory, for shared-account agents). */
export const channelUrlFile = '.graft/channel.url';

let helper: { content: Buffer; digest: string } | undefined;
function helperBytes(): { content: Buffer; digest: string } {
  if (!helper) {
    const content = readFileSync(assetPath('provisioners', 'host', 'graft-agent'));
    helper = { content, digest: createHash('sha256').update(content).digest('hex').slice(0, 12) };
  }
  return helper;
}

/** Installs in flight or done, per pool, host and session, so concurrent callers upload once. */
const installs = new WeakMap<SshPool, Map<string, Promise<string>>>();

/**
 * Puts `graft-agent` on a host for a session and returns its absolute path (put its directory
 * on agents' PATH). It lives in the session's shared directory (see `ensureSessionHostDir`),
 * mode 0755 under 0755 directories owned by the session admin: every agent can run it, none can
 * change it. The path holds a digest of the content, so a newer graft never runs an older copy
 * and a copy is never rewritten in place (uploaded under a temporary name, then renamed).
 * The directory goes with the session (`down` removes it).
 */
export function installAgentHelper(pool: SshPool, host: HostRecord, sessionId: string, env: NodeJS.ProcessEnv): Promise<string> {
  let perPool = installs.get(pool);
  if (!perPool) installs.set(pool, (perPool = new Map()));
  const key = `${sessionId} ${host.user}@${host.address}:${host.port}`;
  let install = perPool.get(key);
  if (!install) {
    install = upload(pool, host, sessionId, env);
    install.catch(() => perPool.delete(key));
    perPool.set(key, install);
  }
  return install;
}

async function upload(pool: SshPool, host: HostRecord, sessionId: string, env: NodeJS.ProcessEnv): Promise<string> {
  const { content, digest } = helperBytes();
  const dir = await ensureSessionHostDir(pool, host, sessionId, env);
  const binDir = `${dir}/bin/${digest}`;
  const path = `${binDir}/graft-agent`;
  const connection = await HostShell.admin(pool, host, env).connection();
  const run = async (command: string) => {
    const result = await connection.exec(command, { timeoutMs });
    if (result.exitCode !== 0) {
      throw new GraftError(`${host.name}: installing graft-agent failed: ${result.stderr.trim() || `exit ${result.exitCode ?? result.signal}`}`, {
        code: 'HOST_ADMIN_FAILED',
      });
    }
  };
  const present = await connection.exec(`test -f ${shellQuote(path)} && test -x ${shellQuote(path)}`, { timeoutMs });
  if (present.exitCode === 0) return path;
  await run(`mkdir -p ${shellQuote(binDir)} && chmod 0755 ${shellQuote(`${dir}/bin`)} ${shellQuote(binDir)}`);
  const temporary = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  await connection.putFile(content, temporary, 0o755);
  await run(`mv -f ${shellQuote(temporary)} ${shellQuote(path)}`);
  return path;
}

/**
 * Writes the controller's URL into an agent's `~/.graft/channel.url` (0600, as the agent), where
 * `graft-agent` reads it on every call. Write it again whenever the tunnel's port changes.
 */
export async function writeChannelUrl(pool: SshPool, host: HostRecord, env: NodeJS.ProcessEnv, agent: AgentRecord, url: string): Promise<void> {
  if (!/^https:\/\/127\.0\.0\.1:[1-9][0-9]{0,4}$/.test(url))
    throw new UsageError(`invalid channel URL ${JSON.stringify(url)}: expected https://127.0.0.1:<port>, the host end of the tunnel`);
  await new HostAdmin(pool, host, env).putAgentFile(agent, channelUrlFile, `${url}\n`);
}
