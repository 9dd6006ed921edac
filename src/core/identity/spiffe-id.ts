/**
 * Names in graft's workload identities: trust domains, agent names and the
 * SPIFFE ids built from them. Every identity graft issues is
 * `spiffe://<trust domain>/session/<session id>/agent/<agent name>`; the
 * session authority itself is `spiffe://<trust domain>/session/<session id>`.
 *
 * The rules are deliberately narrower than SPIFFE's: these strings end up in
 * Unix account names, shell command lines, URLs and certificate fields, so
 * only characters that are inert in all of them are allowed.
 */
import { UsageError } from '../errors.js';
import { sessionIdPattern } from '../model/session-id.js';

/**
 * Agent names: a lowercase letter, then up to 30 lowercase letters, digits or
 * dashes. The same rule graft uses for the agents' Unix accounts, so a name
 * that passes here is safe as an account name, a path segment and a shell word.
 */
export const agentNamePattern = /^[a-z][a-z0-9-]{0,30}$/;

/**
 * Trust domains: DNS-style labels of lowercase letters, digits and inner
 * dashes. A DNS name (not SPIFFE's wider set, which allows `_`) because the
 * session CA's name constraint is matched by verifiers as a URI host name.
 */
export const trustDomainPattern = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/;

/** The trust domain used when a session does not name one. */
export const defaultTrustDomain = 'graft.local';

/** Who an agent identity says it is, as read back from a certificate or token. */
export interface AgentIdentity {
  /** `spiffe://<trust domain>/session/<session id>/agent/<agent name>` */
  spiffeId: string;
  trustDomain: string;
  sessionId: string;
  agentName: string;
}

/** Shows a hostile string without letting it break the message it sits in. */
function quoted(value: string): string {
  return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
}

/** Throws a UsageError unless `name` matches {@link agentNamePattern}. */
export function validateAgentName(name: string): string {
  if (typeof name !== 'string' || !agentNamePattern.test(name)) {
    throw new UsageError(
      `invalid agent name ${quoted(String(name))}: an agent name is 1 to 31 characters, a lowercase letter followed by lowercase letters, digits or dashes`,
      ['Rename the agent, e.g. "reviewer" or "test-runner-2".'],
    );
  }
  return name;
}

/** Throws a UsageError unless `sessionId` is a graft session id. */
export function validateSessionId(sessionId: string): string {
  if (typeof sessionId !== 'string' || !sessionIdPattern.test(sessionId)) {
    throw new UsageError(
      `invalid session id ${quoted(String(sessionId))}: a session id is 8 characters, a lowercase letter followed by lowercase letters or digits`,
    );
  }
  return sessionId;
}

/** Throws a UsageError unless `trustDomain` matches {@link trustDomainPattern}. */
export function validateTrustDomain(trustDomain: string): string {
  if (typeof trustDomain !== 'string' || !trustDomainPattern.test(trustDomain)) {
    throw new UsageError(`invalid trust domain ${quoted(String(trustDomain))}: use a lowercase DNS name such as "graft.local" or "ci.example.com"`);
  }
  return trustDomain;
}

/** The SPIFFE id of a session's authority: `spiffe://<trust domain>/session/<id>`. */
export function sessionSpiffeId(trustDomain: string, sessionId: string): string {
  return `spiffe://${validateTrustDomain(trustDomain)}/session/${validateSessionId(sessionId)}`;
}

/** The SPIFFE id of an agent: `spiffe://<trust domain>/session/<id>/agent/<name>`. */
export function agentSpiffeId(trustDomain: string, sessionId: string, agentName: string): string {
  return `${sessionSpiffeId(trustDomain, sessionId)}/agent/${validateAgentName(agentName)}`;
}

/**
 * Reads a session authority's SPIFFE id back, or returns undefined if it is not
 * exactly of graft's form. Parsing is by whole-string match: no normalisation,
 * so `..`, `%2f`, upper case or trailing slashes never alias another identity.
 */
export function parseSessionSpiffeId(value: string): { trustDomain: string; sessionId: string } | undefined {
  const match = /^spiffe:\/\/([^/]+)\/session\/([^/]+)$/.exec(value);
  if (!match || !trustDomainPattern.test(match[1]!) || !sessionIdPattern.test(match[2]!)) return undefined;
  return { trustDomain: match[1]!, sessionId: match[2]! };
}

/** Reads an agent's SPIFFE id back, or returns undefined if it is not exactly of graft's form. */
export function parseAgentSpiffeId(value: string): AgentIdentity | undefined {
  const match = /^(spiffe:\/\/[^/]+\/session\/[^/]+)\/agent\/([^/]+)$/.exec(value);
  if (!match || !agentNamePattern.test(match[2]!)) return undefined;
  const session = parseSessionSpiffeId(match[1]!);
  if (!session) return undefined;
  return { spiffeId: value, ...session, agentName: match[2]! };
}
