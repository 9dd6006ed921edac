/**
 * Agents' certificate keys. graft generates ECDSA P-256 keys for agents: about 1 ms each,
 * where an RSA-2048 key costs 100-200 ms of CPU, which dominated issuance once the
 * controller created one agent per task. Agents that generate their own key may also
 * bring RSA of at least {@link rsaModulusBits} bits. The session CA stays RSA either way:
 * the leaf's key type does not depend on the algorithm its issuer signs with.
 */
import { createPublicKey, generateKeyPair, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { UsageError } from '../errors.js';
import { rsaModulusBits } from './x509-support.js';

const generateKeyPairAsync = promisify(generateKeyPair);

/** The curve of the keys graft generates for agents (NIST P-256, OpenSSL's prime256v1). */
export const agentKeyCurve = 'P-256';

/** An agent's key pair, both halves Node KeyObjects (forge cannot hold an EC key). */
export interface AgentKeyPair {
  privateKey: KeyObject;
  publicKey: KeyObject;
}

/** Generates an agent's ECDSA P-256 key pair. */
export async function generateAgentKeyPair(): Promise<AgentKeyPair> {
  return generateKeyPairAsync('ec', { namedCurve: agentKeyCurve });
}

/**
 * Why a public key is not acceptable as an agent's: only EC P-256 and RSA of at least
 * {@link rsaModulusBits} bits (a short key would be a weak identity; other curves and key
 * types are not what graft's verifiers and the hosts' curl are known to handle).
 * Undefined when it is acceptable.
 */
export function agentKeyProblem(key: KeyObject): string | undefined {
  const type = key.asymmetricKeyType ?? 'unknown';
  const details = key.asymmetricKeyDetails ?? {};
  if (type === 'ec') return details.namedCurve === 'prime256v1' ? undefined : `EC on curve ${details.namedCurve ?? 'unknown'}, not ${agentKeyCurve}`;
  if (type === 'rsa')
    return (details.modulusLength ?? 0) >= rsaModulusBits ? undefined : `RSA of ${details.modulusLength ?? 0} bits, not at least ${rsaModulusBits}`;
  return `of type ${type}, not EC ${agentKeyCurve} or RSA`;
}

/** Reads a caller-supplied agent public key (PEM: SPKI, or PKCS#1 for RSA); refuses what {@link agentKeyProblem} refuses. */
export function readAgentPublicKey(pem: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch (error) {
    throw new UsageError(`the agent public key is not a readable PEM public key (${(error as Error).message})`);
  }
  const problem = agentKeyProblem(key);
  if (problem) throw new UsageError(`the agent public key must be EC ${agentKeyCurve} or RSA of at least ${rsaModulusBits} bits; it is ${problem}`);
  return key;
}
