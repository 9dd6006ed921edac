import { Args, Flags } from '@oclif/core';
import { GraftCommand } from '../../cli/base-command.js';
import { sessionFlag } from '../../cli/flags.js';
import { requireReadyAgent } from '../../core/agents/find-agent.js';
import { writeAgentToken } from '../../core/agents/agent-token.js';
import { requireSession } from '../../core/session/resolve-session.js';

export default class IdentityToken extends GraftCommand<typeof IdentityToken> {
  static override summary = "Issue a fresh workload JWT into an agent's home.";
  static override description =
    "Signs a short-lived JWT (sub = the agent's SPIFFE id, aud = --audience) with the session's key and writes it to the agent's ~/.graft/identity/token.jwt, readable by the agent only. The token itself is not printed; its claims are.";
  static override examples = [
    '<%= config.bin %> identity token deployer --audience sts.amazonaws.com',
    '<%= config.bin %> identity token deployer --audience //iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/p/providers/graft --ttl 900',
  ];

  static override args = { name: Args.string({ description: 'Agent name.', required: true }) };
  static override flags = {
    session: sessionFlag,
    audience: Flags.string({ description: 'The relying party (the aud claim).', required: true, env: 'GRAFT_JWT_AUDIENCE' }),
    ttl: Flags.integer({ description: 'Lifetime in seconds (1 to 3600).', default: 600, min: 1, max: 3600, env: 'GRAFT_JWT_TTL' }),
  };

  async run(): Promise<{ agent: string; path: string; sub: string; aud: string; iss: string; exp: string }> {
    const runtime = this.runtime();
    const session = requireSession(runtime.store, this.flags.session);
    this.joinSession(session, 'owner', 'identity token');
    this.logToSession(session.id);
    const { agent, host } = requireReadyAgent(runtime.store, session, this.args.name);
    const written = await writeAgentToken(runtime, session, agent, host, this.flags.audience, this.flags.ttl);
    this.log(`wrote ${written.path} on ${host.name}: sub ${written.sub}, aud ${written.aud}, expires ${written.exp}`);
    return { agent: agent.name, ...written };
  }
}
