import { decodeJwt } from 'jose';
import { issueWorkloadJwt } from '../identity/index.js';
import type { HostRecord } from '../model/host.js';
import { sessionFiles, type GraftRuntime } from '../runtime.js';
import type { SessionRow } from '../state/store.js';
import type { AgentRecord } from '../model/agent.js';
import { HostAdmin } from '../hosts/host-admin.js';
import { ensureSessionAuthority } from './session-identity.js';

/** Issues a workload JWT for the agent and writes it, 0600, to its ~/.graft/identity/token.jwt. */
export async function writeAgentToken(runtime: GraftRuntime, session: SessionRow, agent: AgentRecord, host: HostRecord, audience: string, ttlSeconds: number) {
  const authority = await ensureSessionAuthority(session, sessionFiles(runtime, session.id).dir);
  const token = await issueWorkloadJwt(authority, { agentName: agent.name, audience, ttlSeconds });
  const path = '.graft/identity/token.jwt';
  await new HostAdmin(runtime.pool, host, runtime.env).putAgentFile(agent, path, token);
  const claims = decodeJwt(token);
  runtime.events.emit({
    code: 'identity.issued',
    level: 'info',
    message: `workload JWT for agent ${agent.name}, aud ${audience}, expires ${new Date(claims.exp! * 1000).toISOString()}`,
    session: session.id,
    host: host.name,
  });
  return { path: `${agent.home}/${path}`, sub: String(claims.sub), aud: audience, iss: String(claims.iss), exp: new Date(claims.exp! * 1000).toISOString() };
}
