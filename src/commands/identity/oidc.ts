import { Flags } from '@oclif/core';
import { GraftCommand } from '../../cli/base-command.js';
import { sessionFlag } from '../../cli/flags.js';
import { ensureSessionAuthority } from '../../core/agents/session-identity.js';
import { oidcDiscoveryDocument, writeOidcIssuerFiles } from '../../core/identity/index.js';
import { sessionFiles } from '../../core/runtime.js';
import { requireSession } from '../../core/session/resolve-session.js';

export default class IdentityOidc extends GraftCommand<typeof IdentityOidc> {
  static override summary = "Export the session's OIDC discovery document and JWKS.";
  static override description =
    "Writes .well-known/openid-configuration and the JWKS (public keys only) under --out. Serve that directory at the session's issuer URL so AWS (an IAM OIDC provider, then AssumeRoleWithWebIdentity) or GCP workload identity federation can verify the agents' JWTs.";
  static override examples = ['<%= config.bin %> identity oidc --out ./issuer', '<%= config.bin %> identity oidc --out ./issuer --json'];

  static override flags = {
    session: sessionFlag,
    out: Flags.string({ char: 'o', description: 'Directory to write the issuer files into.', required: true, env: 'GRAFT_OIDC_OUT' }),
  };

  async run(): Promise<{ issuer: string; discoveryFile: string; jwksFile: string }> {
    const runtime = this.runtime();
    const session = requireSession(runtime.store, this.flags.session);
    this.joinSession(session, 'viewer', 'identity oidc');
    const authority = await ensureSessionAuthority(session, sessionFiles(runtime, session.id).dir);
    const written = await writeOidcIssuerFiles(this.flags.out, authority);
    this.log(`wrote ${written.discoveryFile} and ${written.jwksFile}\nserve ${this.flags.out} at ${oidcDiscoveryDocument(authority).issuer}`);
    return { issuer: authority.issuer, ...written };
  }
}
