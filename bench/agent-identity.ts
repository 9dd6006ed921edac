/**
 * Benchmark: issuing agents' X.509 identities from one session CA, as the task-graph
 * controller does (all at once) and one after another. Wall time and the process's CPU
 * time (which counts libuv's key-generation threads too).
 *
 * graft: `issueAgentCertificate` generating the agent's key itself (ECDSA P-256).
 * Peer: the RSA-2048 leaf graft used to make, i.e. an RSA key generated with Node's async
 * `generateKeyPair` and passed as `publicKey` (the same signing and encoding work).
 *
 *   npm run bench:identity
 *   BENCH_CERTS=200 npm run bench:identity
 */
import { generateKeyPair } from 'node:crypto';
import { promisify } from 'node:util';
import { createSessionAuthority, issueAgentCertificate, type SessionAuthority } from '../src/core/identity/index.js';

const count = Number(process.env.BENCH_CERTS ?? 50);
const generateKeyPairAsync = promisify(generateKeyPair);

type Issue = (authority: SessionAuthority, agentName: string) => Promise<unknown>;

const graftGenerated: Issue = (authority, agentName) => issueAgentCertificate(authority, { agentName });

const rsa2048Leaf: Issue = async (authority, agentName) => {
  const { publicKey } = await generateKeyPairAsync('rsa', { modulusLength: 2048 });
  return issueAgentCertificate(authority, { agentName, publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString() });
};

interface Figures {
  wallMs: number;
  cpuMs: number;
}

async function measure(authority: SessionAuthority, issue: Issue, concurrent: boolean): Promise<Figures> {
  const names = Array.from({ length: count }, (_, i) => `bench-${i}`);
  const cpu = process.cpuUsage();
  const started = performance.now();
  if (concurrent) await Promise.all(names.map((name) => issue(authority, name)));
  else for (const name of names) await issue(authority, name);
  const wallMs = performance.now() - started;
  const used = process.cpuUsage(cpu);
  return { wallMs, cpuMs: (used.user + used.system) / 1000 };
}

async function main(): Promise<void> {
  const authority = await createSessionAuthority({ sessionId: 'benchidn', validUntil: new Date(Date.now() + 3_600_000) });
  await measure(authority, graftGenerated, false); // warm up: module loading, OpenSSL's first use
  const rows: string[] = [];
  for (const concurrent of [true, false]) {
    const graft = await measure(authority, graftGenerated, concurrent);
    const peer = await measure(authority, rsa2048Leaf, concurrent);
    const mode = concurrent ? 'all at once' : 'one by one';
    rows.push(
      `| ${mode} | ${graft.wallMs.toFixed(0)} | ${graft.cpuMs.toFixed(0)} | ${peer.wallMs.toFixed(0)} | ${peer.cpuMs.toFixed(0)} | ${(peer.wallMs / graft.wallMs).toFixed(1)}x |`,
    );
  }
  console.log(`\n${count} agent certificates from one session CA, milliseconds\n`);
  console.log('| issued | graft (P-256 leaf) wall | cpu | RSA-2048 leaf wall | cpu | RSA/graft wall |');
  console.log('|---|---|---|---|---|---|');
  for (const row of rows) console.log(row);
}

await main();
