/**
 * Session identities: the per-session authority (X.509 CA + JWT key), agents'
 * X.509 certificates and JWT workload tokens, and the OIDC issuer files.
 */
export {
  defaultTrustDomain,
  trustDomainPattern,
  agentNamePattern,
  validateAgentName,
  validateSessionId,
  validateTrustDomain,
  agentSpiffeId,
  sessionSpiffeId,
  parseAgentSpiffeId,
  parseSessionSpiffeId,
  type AgentIdentity,
} from './spiffe-id.js';
export {
  createSessionAuthority,
  defaultIssuer,
  validateIssuer,
  jwtAlgorithm,
  AuthorityKeys,
  type SessionAuthority,
  type CreateSessionAuthorityOptions,
} from './session-authority.js';
export { saveSessionAuthority, loadSessionAuthority, authorityFileNames } from './authority-files.js';
export {
  issueAgentCertificate,
  verifyAgentCertificate,
  type AgentCertificate,
  type IssueAgentCertificateOptions,
  type VerifyAgentCertificateOptions,
} from './agent-certificate.js';
export {
  issueWorkloadJwt,
  verifyWorkloadJwt,
  defaultWorkloadJwtTtlSeconds,
  maxWorkloadJwtTtlSeconds,
  type IssueWorkloadJwtOptions,
  type VerifyWorkloadJwtOptions,
  type VerifiedWorkloadJwt,
} from './workload-jwt.js';
export { oidcDiscoveryDocument, jwks, writeOidcIssuerFiles, jwksPath, discoveryPath, type OidcDiscoveryDocument } from './oidc-issuer.js';
export { issueServerCertificate, controllerSpiffeId, type ServerCertificate, type IssueServerCertificateOptions } from './server-certificate.js';
export { clockSkewSeconds, rsaModulusBits } from './x509-support.js';
