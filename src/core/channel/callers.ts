/**
 * Who is speaking on the agent channel: read from the client certificate the TLS handshake
 * verified, and nothing else. The certificate's SPIFFE id names the session and the agent;
 * the controller says whether that agent is live and which task it runs.
 */
import type { TLSSocket } from 'node:tls';
import { SecurityError } from '../errors.js';
import { verifyAgentCertificate, type AgentIdentity } from '../identity/index.js';
import { ChannelRefusal } from './http-exchange.js';

/** The verified speaker of one request. */
export interface Caller {
  agent: string;
  task: string;
  spiffeId: string;
}

/** Certificates seen: a busy agent presents the same one on every call, and parsing it with forge costs milliseconds. */
const cacheLimit = 4096;

export class Callers {
  private readonly verified = new Map<string, AgentIdentity | SecurityError>();

  constructor(
    private readonly caCertPem: string,
    private readonly sessionId: string,
    private readonly identify: (agentName: string) => { task: string } | undefined,
  ) {}

  /**
   * The caller of a request on `socket`. Refuses (403) a connection whose certificate OpenSSL
   * did not verify against the session CA (or that presented none), a
   * certificate that is not one of this session's agents, and an agent the controller does not
   * know as live (removed, finished, never created).
   */
  of(socket: TLSSocket): Caller {
    const peer = socket.getPeerCertificate();
    if (!peer?.raw)
      throw new ChannelRefusal(403, 'NO_CERTIFICATE', "no client certificate was presented: present the agent's ~/.graft/identity/cert.pem and key.pem");
    if (!socket.authorized) {
      throw new ChannelRefusal(
        403,
        'CERTIFICATE_UNTRUSTED',
        `the client certificate was not issued by the CA of session ${this.sessionId} (${String(socket.authorizationError)})`,
      );
    }
    let identity = this.verified.get(peer.fingerprint256);
    if (!identity) {
      const pem = `-----BEGIN CERTIFICATE-----\n${peer.raw.toString('base64')}\n-----END CERTIFICATE-----\n`;
      try {
        identity = verifyAgentCertificate(this.caCertPem, pem, { sessionId: this.sessionId });
      } catch (error) {
        if (!(error instanceof SecurityError)) throw error;
        identity = error;
      }
      if (this.verified.size >= cacheLimit) this.verified.clear();
      this.verified.set(peer.fingerprint256, identity);
    }
    if (identity instanceof SecurityError) throw new ChannelRefusal(403, identity.code, identity.message);
    const live = this.identify(identity.agentName);
    if (!live) throw new ChannelRefusal(403, 'AGENT_NOT_LIVE', `agent ${identity.agentName} is not a live agent of session ${this.sessionId}`);
    return { agent: identity.agentName, task: live.task, spiffeId: identity.spiffeId };
  }
}

/**
 * Refuses (403) a body whose `from` or `sender` names anyone but the caller's own task or
 * agent: the certificate decides who speaks, and a request that claims otherwise is forged.
 */
export function checkClaimedSender(caller: Caller, body: { from?: string; sender?: string }): void {
  for (const claimed of [body.from, body.sender]) {
    if (claimed === undefined || claimed === caller.task || claimed === caller.agent) continue;
    throw new ChannelRefusal(
      403,
      'SENDER_FORGED',
      `this request says it is from ${JSON.stringify(claimed.slice(0, 64))}, but its certificate is agent ${caller.agent}'s (task ${caller.task})`,
    );
  }
}
