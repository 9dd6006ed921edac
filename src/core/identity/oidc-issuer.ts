/**
 * The session's OIDC issuer as static files: what AWS IAM OIDC identity
 * providers and GCP workload identity federation fetch to trust workload
 * tokens. Both read `<issuer>/.well-known/openid-configuration`, follow its
 * `jwks_uri`, and check `iss`, `aud`, the signature and the times; both
 * accept ES256. The files can be served by any static HTTPS host at the
 * issuer URL (or, for GCP, the JWKS can be uploaded to the provider instead).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { JSONWebKeySet, JWK } from 'jose';
import { jwtAlgorithm, type SessionAuthority } from './session-authority.js';

/** Where the JWKS is served, relative to the issuer URL. */
export const jwksPath = '/.well-known/jwks.json';
/** Where the discovery document is served, relative to the issuer URL (OpenID Connect Discovery 1.0, section 4). */
export const discoveryPath = '/.well-known/openid-configuration';

/** The OpenID Provider metadata graft publishes: the fields the cloud verifiers use. */
export interface OidcDiscoveryDocument {
  issuer: string;
  jwks_uri: string;
  response_types_supported: string[];
  subject_types_supported: string[];
  id_token_signing_alg_values_supported: string[];
  claims_supported: string[];
}

/** The OpenID discovery document of the session's issuer. */
export function oidcDiscoveryDocument(authority: SessionAuthority): OidcDiscoveryDocument {
  return {
    issuer: authority.issuer,
    jwks_uri: `${authority.issuer}${jwksPath}`,
    response_types_supported: ['id_token'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: [jwtAlgorithm],
    claims_supported: ['iss', 'sub', 'aud', 'iat', 'nbf', 'exp', 'jti'],
  };
}

/**
 * The session's JSON Web Key Set: its one public signing key with `kid`,
 * `use: 'sig'` and `alg: 'ES256'`. Built member by member from the public
 * fields, so no private member (`d`) can slip into what is published.
 */
export function jwks(authority: SessionAuthority): JSONWebKeySet {
  const { kty, crv, x, y, kid } = authority.jwtPublicJwk;
  const key: JWK = { kty, crv, x, y, kid, use: 'sig', alg: jwtAlgorithm };
  return { keys: [key] };
}

/**
 * Writes the issuer's public files under `outDir`, the directory served at the
 * issuer URL: `.well-known/openid-configuration` and `.well-known/jwks.json`
 * (the path `jwks_uri` names). They are public: 0644 in 0755 directories.
 * Returns the paths written.
 */
export async function writeOidcIssuerFiles(outDir: string, authority: SessionAuthority): Promise<{ discoveryFile: string; jwksFile: string }> {
  const discoveryFile = join(outDir, ...discoveryPath.split('/').filter(Boolean));
  const jwksFile = join(outDir, ...jwksPath.split('/').filter(Boolean));
  for (const [file, content] of [
    [discoveryFile, oidcDiscoveryDocument(authority)],
    [jwksFile, jwks(authority)],
  ] as const) {
    await mkdir(dirname(file), { recursive: true, mode: 0o755 });
    await writeFile(file, `${JSON.stringify(content, null, 2)}\n`, { mode: 0o644 });
  }
  return { discoveryFile, jwksFile };
}
