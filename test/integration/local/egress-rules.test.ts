import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { AccountPool } from '../../../src/core/agents/account-pool.js';
import { agentAccountName } from '../../../src/core/hosts/agent-names.js';
import { createAgent } from '../../../src/core/agents/create-agent.js';
import { egressRules, type EgressRules } from '../../../src/core/hosts/egress.js';
import { HostAdmin } from '../../../src/core/hosts/host-admin.js';
import { removeAgent } from '../../../src/core/agents/remove-agent.js';
import type { HostRecord } from '../../../src/core/model/host.js';
import { closeRuntime, type GraftRuntime } from '../../../src/core/runtime.js';
import type { SessionRow } from '../../../src/core/state/store.js';
import { GraftWorld } from '../../helpers/cli.js';
import { upLocalSession } from '../../helpers/local-session.js';

/**
 * The host tool's network rules (provisioners/host/egress.sh) on a local host as root: made with
 * the account (provisioned or claimed from the warm pool), made again without doubling, dropped
 * at revoke, in graft's own table only. What the rules let through is tested by connecting, in
 * test/reliability/egress.test.ts.
 */
const otherTable = `graft-test-other-${process.pid}`;

function nft(...args: string[]): string {
  try {
    return execFileSync('nft', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return '';
  }
}
const uidOf = (account: string) => execFileSync('id', ['-u', account], { encoding: 'utf8' }).trim();
const chainOf = (account: string) => nft('list', 'chain', 'inet', 'graft', `agent-${uidOf(account)}`);

describe('egress rules made by the host tool (local host as root, real nftables)', function () {
  this.timeout(180_000);
  let world: GraftWorld;
  let runtime: GraftRuntime;
  let session: SessionRow;
  let host: HostRecord;

  before(function () {
    if (process.getuid?.() !== 0) throw new Error('these tests create Unix accounts and nftables rules: run them as root (CI does)');
    // A table that is not graft's: it must come through every change untouched.
    execFileSync('nft', ['-f', '-'], {
      input: `add table inet ${otherTable}\nadd chain inet ${otherTable} keep\nadd rule inet ${otherTable} keep counter accept\n`,
    });
  });
  after(() => nft('delete', 'table', 'inet', otherTable));
  beforeEach(async () => {
    world = new GraftWorld();
    ({ runtime, session, host } = await upLocalSession(world));
  });
  afterEach(async () => {
    await closeRuntime(runtime);
    await world.dispose();
  });

  const make = (name: string, egress: EgressRules, pool?: AccountPool) =>
    createAgent(runtime, session, { name, on: host.name, secrets: [], interactive: false, guardrails: { egress }, pool }).then((r) => r.agent);

  it('given agents with rules, then each has a chain keyed by its uid that refuses the metadata address first, and revoking one drops its chain alone', async () => {
    const fenced = await make('fenced', egressRules('gateway', [40123]));
    const listed = await make('listed', egressRules({ allow: [{ address: '10.9.0.0/16', port: 443 }, { name: 'localhost' }] }, [40123]));
    const open = await make('open', 'open');
    const fencedChain = chainOf(fenced.account);
    expect(fencedChain.indexOf('169.254.169.254')).to.be.greaterThan(-1).and.lessThan(fencedChain.indexOf('accept'));
    expect(fencedChain)
      .to.include('fd00:ec2::254')
      .and.to.include('tcp dport 40123 accept')
      .and.to.match(/counter packets \d+ bytes \d+ reject\s*\n\s*}/);
    expect(chainOf(listed.account))
      .to.include('ip daddr 10.9.0.0/16 meta l4proto { tcp, udp } th dport 443 accept')
      .and.to.include('ip daddr 127.0.0.1 accept');
    const openChain = chainOf(open.account);
    expect(openChain)
      .to.include('169.254.169.254')
      .and.not.to.match(/\n\s*(counter packets \d+ bytes \d+ )?reject\s*\n\s*}/);
    const map = nft('list', 'map', 'inet', 'graft', 'agents');
    for (const agent of [fenced, listed, open]) expect(map).to.include(`${uidOf(agent.account)} : jump agent-${uidOf(agent.account)}`);

    const fencedUid = uidOf(fenced.account);
    await removeAgent(runtime, session, fenced);
    const table = nft('list', 'table', 'inet', 'graft');
    expect(table).not.to.include(`agent-${fencedUid}`);
    expect(table).to.include(`agent-${uidOf(listed.account)}`);
    expect(nft('list', 'table', 'inet', otherTable)).to.include('counter');
  });

  it('given rules made twice for one account, then the chain holds them once and the base chain dispatches once', async () => {
    const agent = await make('twice', egressRules('gateway', [40124]));
    const admin = new HostAdmin(runtime.pool, host, runtime.env);
    // Provision again, as a controller that died mid-creation would: the account is taken over.
    await admin.run(['provision', agent.account, 'lo+40124'], `${agent.publicKey}\n`);
    expect(chainOf(agent.account).match(/dport 40124/g)).to.have.length(2); // 127.0.0.0/8 and ::1
    expect(nft('list', 'chain', 'inet', 'graft', 'output').match(/vmap @agents/g)).to.have.length(1);
  });

  it('given a pool account, then its rules come with the claim and go with the revoke', async () => {
    const accounts = new AccountPool(runtime, session.id);
    try {
      accounts.setTarget(host, 1);
      const agent = await make('pooled', egressRules('gateway', [40125]), accounts);
      expect(agent.pooled).to.equal(true);
      const uid = uidOf(agent.account);
      expect(chainOf(agent.account)).to.include('dport 40125');
      await removeAgent(runtime, session, agent);
      expect(nft('list', 'table', 'inet', 'graft')).not.to.include(`agent-${uid}`);
    } finally {
      await accounts.stop();
    }
  });

  it('given an entry the host tool does not understand, then it refuses the agent and no account is left holding a key', async () => {
    const error = await make('odd', { tokens: ['net+10.0.0.0/8;flush ruleset'] }).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(error?.message).to.include("refusing address '10.0.0.0/8;flush");
    expect(existsSync(`/etc/graft/authorized_keys/${agentAccountName(session.id, 'odd')}`)).to.equal(false);
    expect(nft('list', 'table', 'inet', otherTable)).to.include('counter');
  });
});
