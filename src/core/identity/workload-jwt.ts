/**
 * Agents' JWT workload identities: short-lived ES256 tokens whose `sub` is the
 * agent's SPIFFE id, signed by the session authority. Clouds that trust the
 * session's OIDC issuer (AWS IAM OIDC providers, GCP workload identity
 * federation) exchange them for cloud credentials; the controller and other
 * services verify them against the session's JWKS.
 */
import { randomUUID } from 'node:crypto';
import { createLocalJWKSet, errors, jwtVerify, SignJWT, type JSONWebKeySet, type JWTPayload } from 'jose';
import { SecurityError, UsageError } from '../errors.js';
import { jwtAlgorithm, type SessionAuthority } from './session-authority.js';
import { agentSpiffeId, parseAgentSpiffeId, validateAgentName, type AgentIdentity } from './spiffe-id.js';

export { jwks, oidcDiscoveryDocument, writeOidcIssuerFiles, type OidcDiscoveryDocument } from './oidc-issuer.js';

/** Token lifetime when the caller does not choose one. */
export const defaultWorkloadJwtTtlSeconds = 600;
/** The longest lifetime a token may have: a leaked token is useful for an hour at most. */
export const maxWorkloadJwtTtlSeconds = 3600;

/** Options of {@link issueWorkloadJwt}. */
export interface IssueWorkloadJwtOptions {
  agentName: string;
  /** Who the token is for, e.g. `sts.amazonaws.com` or a GCP workload identity provider's resource name. */
  audience: string;
  /** 1 to 3600; defaults to 600. Cut short if the session ends sooner. */
  ttlSeconds?: number;
  /** The current time; tests pass a fixed clock. */
  now?: Date;
}

/** Options of {@link verifyWorkloadJwt}. */
export interface VerifyWorkloadJwtOptions {
  /** The exact expected `iss`. */
  issuer: string;
  /** The expected `aud`. */
  audience: string;
  /** Refuse tokens of any other session. */
  sessionId?: string;
  /** The current time; tests pass a fixed clock. */
  now?: Date;
  /** Clock skew tolerated on `exp`/`nbf`/`iat`, in seconds; defaults to 0. */
  clockToleranceSeconds?: number;
}

/** A verified token: who it identifies, and all its claims. */
export interface VerifiedWorkloadJwt extends AgentIdentity {
  claims: JWTPayload;
}

/**
 * Issues a compact JWS for an agent: header `alg: ES256`, `typ: JWT`, `kid`;
 * claims `iss` (the authority's issuer), `sub` (the agent's SPIFFE id), `aud`,
 * `iat`, `nbf`, `exp` and a random `jti`. Refuses (SecurityError KEY_EXPIRED)
 * once the session has ended; never outlives it.
 */
export async function issueWorkloadJwt(authority: SessionAuthority, options: IssueWorkloadJwtOptions): Promise<string> {
  const agentName = validateAgentName(options.agentName);
  const ttl = options.ttlSeconds ?? defaultWorkloadJwtTtlSeconds;
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > maxWorkloadJwtTtlSeconds) {
    throw new UsageError(`invalid token lifetime ${String(ttl)}: use a whole number of seconds from 1 to ${maxWorkloadJwtTtlSeconds}`);
  }
  // Control characters or an empty audience could never match a relying party's configuration.
  if (typeof options.audience !== 'string' || !/^[\x21-\x7e]{1,512}$/.test(options.audience)) {
    throw new UsageError(`invalid token audience ${JSON.stringify(options.audience)}: use 1 to 512 printable ASCII characters without spaces`);
  }
  const now = Math.floor((options.now ?? new Date()).getTime() / 1000);
  const sessionEnd = Math.floor(authority.validUntil.getTime() / 1000);
  if (now >= sessionEnd) {
    throw new SecurityError(
      `session ${authority.sessionId} ended at ${authority.validUntil.toISOString()}; its authority issues no more identities`,
      'KEY_EXPIRED',
    );
  }
  return new SignJWT({})
    .setProtectedHeader({ alg: jwtAlgorithm, typ: 'JWT', kid: authority.kid })
    .setIssuer(authority.issuer)
    .setSubject(agentSpiffeId(authority.trustDomain, authority.sessionId, agentName))
    .setAudience(options.audience)
    .setIssuedAt(now)
    .setNotBefore(now)
    .setExpirationTime(Math.min(now + ttl, sessionEnd))
    .setJti(randomUUID())
    .sign(authority.keys.jwtSigningKey);
}

function refused(why: string): SecurityError {
  return new SecurityError(`workload token refused: ${why}`, 'IDENTITY_MISMATCH');
}

/** Says why jose refused a token, by error class (never by message text). */
function explainJoseError(error: unknown): SecurityError {
  if (error instanceof errors.JWTExpired) return refused(`it has expired (${error.claim} check failed)`);
  if (error instanceof errors.JWTClaimValidationFailed) return refused(`its ${error.claim} claim is not acceptable (${error.reason})`);
  if (error instanceof errors.JWKSNoMatchingKey) return refused('no key of the trusted JWKS matches it; it was signed by another authority');
  if (error instanceof errors.JWSSignatureVerificationFailed) return refused('its signature does not verify');
  if (error instanceof errors.JOSEAlgNotAllowed) return refused(`its algorithm is not ${jwtAlgorithm}`);
  if (error instanceof errors.JOSEError) return refused(`it is not a valid token (${error.code})`);
  return refused(`it could not be verified (${error instanceof Error ? error.message : String(error)})`);
}

/**
 * Verifies a workload token against a JWKS (as published by `jwks()`), requiring
 * ES256, `typ: JWT`, the exact issuer and audience, `sub`/`iat`/`nbf`/`exp`/`jti`,
 * an age under an hour, and a `sub` that is a graft agent SPIFFE id.
 * Throws SecurityError IDENTITY_MISMATCH saying why it refused.
 */
export async function verifyWorkloadJwt(token: string, trustedJwks: JSONWebKeySet, options: VerifyWorkloadJwtOptions): Promise<VerifiedWorkloadJwt> {
  let claims: JWTPayload;
  try {
    const result = await jwtVerify(token, createLocalJWKSet(trustedJwks), {
      algorithms: [jwtAlgorithm],
      typ: 'JWT',
      issuer: options.issuer,
      audience: options.audience,
      requiredClaims: ['sub', 'iat', 'nbf', 'exp', 'jti'],
      maxTokenAge: maxWorkloadJwtTtlSeconds,
      clockTolerance: options.clockToleranceSeconds ?? 0,
      ...(options.now ? { currentDate: options.now } : {}),
    });
    claims = result.payload;
  } catch (error) {
    throw explainJoseError(error);
  }
  const identity = parseAgentSpiffeId(String(claims.sub));
  if (!identity) throw refused(`its subject ${JSON.stringify(claims.sub)} is not a graft agent SPIFFE id`);
  if (options.sessionId !== undefined && identity.sessionId !== options.sessionId)
    throw refused(`it belongs to session ${identity.sessionId}, not ${options.sessionId}`);
  return { ...identity, claims };
}
