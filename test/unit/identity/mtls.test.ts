import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { expect } from 'chai';
import {
  issueAgentCertificate,
  verifyAgentCertificate,
  type AgentCertificate,
  type AgentIdentity,
  type SessionAuthority,
} from '../../../src/core/identity/index.js';
import { makeAuthority } from './fixtures.js';

/** What the loopback mTLS server saw of one client: the identity it read, or the handshake error. */
type Outcome = { identity: AgentIdentity } | { error: string };

describe('agent certificates over mutual TLS', () => {
  let dir: string;
  let authority: SessionAuthority;
  let other: SessionAuthority;
  let server: tls.Server;
  let outcomes: Outcome[];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'graft-mtls-'));
    [authority, other] = await Promise.all([makeAuthority('sessionm'), makeAuthority('sessiono')]);
    // The controller's own server certificate is not this module's business: a throwaway self-signed one.
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-subj',
        '/CN=localhost',
        '-days',
        '1',
        '-keyout',
        join(dir, 'server.key'),
        '-out',
        join(dir, 'server.pem'),
      ],
      { stdio: 'ignore' },
    );
    outcomes = [];
    server = tls.createServer(
      {
        key: readFileSync(join(dir, 'server.key')),
        cert: readFileSync(join(dir, 'server.pem')),
        ca: authority.caCertPem,
        requestCert: true,
        rejectUnauthorized: true,
      },
      (socket) => {
        const raw = socket.getPeerCertificate().raw;
        const pem = `-----BEGIN CERTIFICATE-----\n${raw.toString('base64')}\n-----END CERTIFICATE-----\n`;
        outcomes.push({ identity: verifyAgentCertificate(authority.caCertPem, pem, { sessionId: 'sessionm' }) });
        socket.end();
      },
    );
    server.on('tlsClientError', (error) => outcomes.push({ error: error.message }));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });
  after(() => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Connects as the holder of `cert` and waits until the server has decided. */
  async function connectAs(cert: AgentCertificate): Promise<Outcome> {
    const seen = outcomes.length;
    const socket = tls.connect({
      host: '127.0.0.1',
      port: (server.address() as AddressInfo).port,
      key: cert.keyPem,
      cert: cert.certPem,
      rejectUnauthorized: false,
    });
    socket.on('error', () => undefined); // the server's refusal surfaces here too; the server's view is what is asserted
    socket.resume();
    while (outcomes.length === seen) await new Promise((resolve) => setTimeout(resolve, 5));
    socket.destroy();
    return outcomes[seen]!;
  }

  it('Given an agent certificate of the session, when it connects to a TLS server trusting the session CA, then OpenSSL accepts it and the server reads the agent from it', async () => {
    const outcome = await connectAs(await issueAgentCertificate(authority, { agentName: 'worker-1' }));
    expect(outcome).to.deep.equal({
      identity: { spiffeId: 'spiffe://graft.local/session/sessionm/agent/worker-1', trustDomain: 'graft.local', sessionId: 'sessionm', agentName: 'worker-1' },
    });
  });

  it('Given an agent certificate of another session, when it connects, then the TLS handshake is refused', async () => {
    const outcome = await connectAs(await issueAgentCertificate(other, { agentName: 'worker-1' }));
    expect(outcome).to.have.property('error');
  });
});
