import { Args } from '@oclif/core';
import { GraftCommand } from '../../cli/base-command.js';
import { sessionFlag } from '../../cli/flags.js';
import { renderTable } from '../../cli/table.js';
import { requireReadyAgent } from '../../core/agents/find-agent.js';
import { ensureSessionAuthority } from '../../core/agents/session-identity.js';
import { sessionFiles } from '../../core/runtime.js';
import { requireSession } from '../../core/session/resolve-session.js';

export default class IdentityShow extends GraftCommand<typeof IdentityShow> {
  static override summary = "Show an agent's workload identity.";
  static override description =
    "Its SPIFFE id, when its certificate and SSH key expire, the session's trust domain and the issuer of its JWTs. The certificate, its key and the CA certificate are in the agent's ~/.graft/identity, readable by the agent only.";
  static override examples = ['<%= config.bin %> identity show reviewer', '<%= config.bin %> identity show reviewer --json'];

  static override args = { name: Args.string({ description: 'Agent name.', required: true }) };
  static override flags = {
    session: sessionFlag,
  };

  async run(): Promise<{
    agent: string;
    spiffeId: string;
    certificateNotAfter: string;
    keyExpiresAt: string;
    trustDomain: string;
    issuer: string;
    files: string[];
  }> {
    const runtime = this.runtime();
    const session = requireSession(runtime.store, this.flags.session);
    this.joinSession(session, 'viewer', 'identity show');
    const { agent } = requireReadyAgent(runtime.store, session, this.args.name);
    const authority = await ensureSessionAuthority(session, sessionFiles(runtime, session.id).dir);
    const files = ['cert.pem', 'key.pem', 'ca.pem'].map((f) => `${agent.home}/.graft/identity/${f}`);
    const result = {
      agent: agent.name,
      spiffeId: agent.spiffeId,
      certificateNotAfter: agent.certificateNotAfter,
      keyExpiresAt: agent.keyExpiresAt,
      trustDomain: authority.trustDomain,
      issuer: authority.issuer,
      files,
    };
    this.log(
      renderTable(
        ['field', 'value'],
        [
          ['spiffe id', result.spiffeId],
          ['certificate until', result.certificateNotAfter],
          ['ssh key until', result.keyExpiresAt],
          ['trust domain', result.trustDomain],
          ['jwt issuer', result.issuer],
          ['files', files.join(' ')],
        ],
      ),
    );
    return result;
  }
}
