import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { agentCommand, agentEndpoint } from '../../../src/core/hosts/agent-access.js';
import { createAgent } from '../../../src/core/agents/create-agent.js';
import { HostAdmin } from '../../../src/core/hosts/host-admin.js';
import { removeAgent } from '../../../src/core/agents/remove-agent.js';
import { ensureSessionAuthority } from '../../../src/core/agents/session-identity.js';
import {
  channelUrlFile,
  installAgentHelper,
  openChannelTunnel,
  startChannel,
  writeChannelUrl,
  type ChannelServer,
  type ChannelTunnel,
} from '../../../src/core/channel/index.js';
import type { GraftEvent } from '../../../src/core/events.js';
import { createSessionAuthority, issueAgentCertificate, type SessionAuthority } from '../../../src/core/identity/index.js';
import { defaultProvisioners } from '../../../src/core/provisioners/factory.js';
import type { HostRecord } from '../../../src/core/model/host.js';
import { closeRuntime, openRuntime, sessionFiles, type GraftRuntime } from '../../../src/core/runtime.js';
import { bringUp } from '../../../src/core/session/bring-up.js';
import { adminEndpoint } from '../../../src/core/hosts/endpoints.js';
import { HostShell } from '../../../src/core/hosts/host-shell.js';
import { tearDown } from '../../../src/core/session/tear-down.js';
import { shellQuote } from '../../../src/core/shell-quote.js';
import type { ExecResult } from '../../../src/core/ssh/index.js';
import { MessageStore } from '../../../src/core/state/message-store.js';
import { StateStore } from '../../../src/core/state/store.js';
import { GraftWorld, repoRoot } from '../../helpers/cli.js';

/** Which task each agent runs: the channel must report tasks, not agent names. */
const tasks: Record<string, string> = { alpha: 'plan', beta: 'build', gamma: 'check' };

describe('agent channel end to end: agents on a local host, through the reverse tunnel (as root)', function () {
  this.timeout(180_000);
  let world: GraftWorld;
  let runtime: GraftRuntime;
  let sessionId: string;
  let host: HostRecord;
  let authority: SessionAuthority;
  let helper: string;
  let channel: ChannelServer | undefined;
  let tunnel: ChannelTunnel | undefined;
  const events: GraftEvent[] = [];
  const reports: string[][] = [];

  const messages = () => MessageStore.of(runtime.store);
  const agentRecord = (name: string) => runtime.store.getAgent(sessionId, name)!;

  /** The controller's side: what the lead's run loop will pass, with the agents' live state from the store. */
  async function startController(): Promise<void> {
    channel = await startChannel({
      sessionId,
      authority,
      store: messages(),
      identify: (agent) => (runtime.store.getAgent(sessionId, agent)?.state === 'ready' ? { task: tasks[agent]! } : undefined),
      isTask: (name) => Object.values(tasks).includes(name),
      handlers: {
        status: (task, text) => void reports.push(['status', task, text]),
        done: (task, summary) => void reports.push(['done', task, summary]),
        fail: (task, summary) => void reports.push(['fail', task, summary]),
      },
      events: runtime.events,
    });
  }

  async function openTunnel(preferredRemotePort?: number): Promise<void> {
    tunnel = await openChannelTunnel(HostShell.admin(runtime.pool, host, runtime.env), channel!.port, preferredRemotePort);
    for (const agent of ['alpha', 'beta']) await writeChannelUrl(runtime.pool, host, runtime.env, agentRecord(agent), tunnel.url);
  }

  /** Runs graft-agent as the agent's own account, over its own key, like a harness would. */
  function asAgent(agent: string, args: string[], env: Record<string, string> = {}): Promise<ExecResult> {
    const assignments = Object.entries(env)
      .map(([key, value]) => `${key}=${shellQuote(value)} `)
      .join('');
    const command = `${assignments}${shellQuote(helper)} ${args.map(shellQuote).join(' ')}`;
    return runtime.pool.exec(agentEndpoint(agentRecord(agent), host), agentCommand(sessionId, agentRecord(agent), command), { timeoutMs: 120_000 });
  }

  async function until<T>(probe: () => T | undefined): Promise<T> {
    for (;;) {
      const value = probe();
      if (value !== undefined) return value;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  before(async function () {
    if (process.getuid?.() !== 0) throw new Error('these tests create Unix accounts: run them as root (CI does)');
    world = new GraftWorld();
    runtime = openRuntime({ env: world.env });
    runtime.events.on((event) => events.push(event));
    const up = await bringUp(
      runtime,
      { provisioner: 'local', hosts: 1, slots: 4, labels: [], ttlMs: 3_600_000 },
      defaultProvisioners(runtime.pool, runtime.layout.knownHosts),
    );
    sessionId = up.session.id;
    host = up.hosts[0]!;
    for (const name of Object.keys(tasks)) await createAgent(runtime, up.session, { name, secrets: [], interactive: false });
    authority = await ensureSessionAuthority(up.session, sessionFiles(runtime, sessionId).dir);
    helper = await installAgentHelper(runtime.pool, host, sessionId, runtime.env);
    await startController();
    await openTunnel();
  });

  after(async () => {
    await tunnel?.close();
    await channel?.close();
    if (runtime) {
      const session = sessionId ? runtime.store.getSession(sessionId) : undefined;
      if (session) await tearDown(runtime, session, defaultProvisioners(runtime.pool, runtime.layout.knownHosts)).catch(() => undefined);
      await closeRuntime(runtime);
    }
    // Whatever the teardown could not do (sshd processes, accounts) goes here.
    await world?.dispose();
  });

  it('given the helper installed, then every agent can run it from the session directory and none can change it; a second install reuses it', async () => {
    expect(helper).to.match(new RegExp(`^/var/lib/graft/${sessionId}/bin/[0-9a-f]{12}/graft-agent$`));
    expect(statSync(helper).mode & 0o777).to.equal(0o755);
    expect(await installAgentHelper(runtime.pool, host, sessionId, runtime.env)).to.equal(helper);
    const probe = await runtime.pool.exec(
      agentEndpoint(agentRecord('alpha'), host),
      `id -un; test -w ${shellQuote(helper)} && echo writable; ${shellQuote(helper)} --help | head -1`,
    );
    expect(probe.stdout.split('\n').slice(0, 2)).to.deep.equal([agentRecord('alpha').account, 'Usage: graft-agent COMMAND [ARGS]']);
    const url = await runtime.pool.exec(agentEndpoint(agentRecord('alpha'), host), `stat -c %a ${channelUrlFile} && cat ${channelUrlFile}`);
    expect(url.stdout).to.equal(`600\n${tunnel!.url}\n`);
    expect(tunnel!.remotePort, 'agents dial the tunnel, not the server').to.not.equal(channel!.port);
  });

  it('given each verb from an agent account, then the controller hears its task (not what it claims), stores messages, and ask returns the answer a separate store handle gave', async () => {
    expect((await asAgent('alpha', ['status', 'reading the code'])).exitCode).to.equal(0);
    const sent = await asAgent('alpha', ['msg', 'human', 'the plan is in PLAN.md']);
    expect(sent.exitCode, sent.stderr).to.equal(0);
    expect(sent.stdout).to.match(/^sent message \d+ to human\n$/);

    const asking = asAgent('alpha', ['ask', 'Which API version?']);
    const question = await until(() => messages().openQuestions(sessionId)[0]);
    expect(question).to.include({ sender: 'plan', recipient: 'human', body: 'Which API version?' });
    // Answered as `graft message` would: its own process, its own handle on the state file.
    const cli = StateStore.open(runtime.layout.database);
    MessageStore.of(cli).answer(sessionId, question.id, { who: 'ana', body: 'v2, with "quotes"\nand a second line' });
    cli.close();
    const answered = await asking;
    expect(answered.exitCode, answered.stderr).to.equal(0);
    expect(answered.stdout).to.equal('v2, with "quotes"\nand a second line\n');

    expect((await asAgent('alpha', ['done', 'plan written'])).exitCode).to.equal(0);
    expect((await asAgent('beta', ['fail', 'tests do not compile'])).exitCode).to.equal(0);
    expect(reports).to.deep.include.members([
      ['status', 'plan', 'reading the code'],
      ['done', 'plan', 'plan written'],
      ['fail', 'build', 'tests do not compile'],
    ]);
    expect(
      messages()
        .humanInbox(sessionId, { markRead: false })
        .map((m) => [m.sender, m.body]),
    ).to.deep.include(['plan', 'the plan is in PLAN.md']);
    expect(messages().latestStatuses(sessionId).get('plan')!.body).to.equal('reading the code');
  });

  it('given awkward text as words or on stdin, then it arrives as written: quotes, backslashes, tabs, newlines, UTF-8, a leading dash', async () => {
    const awkward = 'say "hi" \\n \\\\ back\tslash\nsecond line: ünïcødé → ✓ $HOME `id` \'single\'';
    expect((await asAgent('alpha', ['msg', 'human', awkward])).exitCode).to.equal(0);
    const piped = await runtime.pool.exec(
      agentEndpoint(agentRecord('beta'), host),
      agentCommand(sessionId, agentRecord('beta'), `printf '%s\\n' '-- from stdin' '  indented' | ${shellQuote(helper)} msg human -`),
    );
    expect(piped.exitCode, piped.stderr).to.equal(0);
    const bodies = messages()
      .humanInbox(sessionId, { markRead: false })
      .map((m) => m.body);
    expect(bodies).to.include(awkward);
    expect(bodies).to.include('-- from stdin\n  indented');
  });

  it('given messages between two agents and broadcasts, then each arrives exactly once, and never back to its sender', async () => {
    for (const args of [
      ['msg', 'build', 'direct to build'],
      ['msg', 'all', 'plan to all'],
    ])
      expect((await asAgent('alpha', args)).exitCode).to.equal(0);
    expect((await asAgent('beta', ['msg', 'all', 'build to all'])).exitCode).to.equal(0);

    const first = await asAgent('beta', ['inbox']);
    expect(first.stdout).to.match(/--- message \d+ from plan ---\ndirect to build\n--- message \d+ from plan to all ---\nplan to all\n$/);
    expect(first.stdout).to.not.include('build to all');
    expect((await asAgent('beta', ['inbox'])).stdout).to.equal('');
    const alphaInbox = await asAgent('alpha', ['inbox']);
    expect(alphaInbox.stdout).to.match(/^--- message \d+ from build to all ---\nbuild to all\n$/);
    expect((await asAgent('alpha', ['inbox'])).stdout).to.equal('');
  });

  it('given agent B claiming to be task A, then the call is refused with the reason, nothing is stored as A, and the refusal is recorded', async () => {
    const before = messages().history(sessionId, 'plan').length;
    const forged = await asAgent('beta', ['msg', 'human', 'I am plan, trust me'], { GRAFT_TASK: 'plan' });
    expect(forged.exitCode).to.equal(1);
    expect(forged.stderr).to.match(
      /refused by the controller \(HTTP 403\): this request says it is from "plan", but its certificate is agent beta's \(task build\)/,
    );
    expect(messages().history(sessionId, 'plan')).to.have.length(before);
    expect(
      messages()
        .humanInbox(sessionId, { all: true, markRead: false })
        .map((m) => m.body),
    ).to.not.include('I am plan, trust me');
    const refusal = events.find((e) => e.code === 'channel.refused' && e.data?.reason === 'SENDER_FORGED');
    expect(refusal).to.deep.include({ session: sessionId, level: 'warn' });
    expect(refusal!.data).to.include({ agent: 'beta', task: 'build' });
    // Its own task name is accepted.
    expect((await asAgent('beta', ['status', 'honest'], { GRAFT_TASK: 'build' })).exitCode).to.equal(0);
  });

  it("given a certificate of another session's CA for the same agent name, then the controller refuses it at once and the helper says why", async () => {
    const other = await createSessionAuthority({ sessionId: 'othersss', validUntil: new Date(Date.now() + 3_600_000) });
    const foreign = await issueAgentCertificate(other, { agentName: 'alpha' });
    const admin = new HostAdmin(runtime.pool, host, runtime.env);
    await admin.putAgentFile(agentRecord('alpha'), '.graft/foreign/cert.pem', foreign.certPem);
    await admin.putAgentFile(agentRecord('alpha'), '.graft/foreign/key.pem', foreign.keyPem!);
    await admin.putAgentFile(agentRecord('alpha'), '.graft/foreign/ca.pem', authority.caCertPem);
    const result = await asAgent('alpha', ['status', 'from elsewhere'], { GRAFT_IDENTITY_DIR: `${agentRecord('alpha').home}/.graft/foreign` });
    expect(result.exitCode, result.stderr).to.equal(1);
    expect(result.stderr).to.match(new RegExp(`HTTP 403\\): the client certificate was not issued by the CA of session ${sessionId}`));
    expect(reports).to.not.deep.include(['status', 'plan', 'from elsewhere']);
    expect(events.some((e) => e.code === 'channel.refused' && e.data?.reason === 'CERTIFICATE_UNTRUSTED')).to.equal(true);
  });

  it('given a removed agent whose certificate was copied before removal, then the controller refuses it as not live', async () => {
    const copies = mkdtempSync(join(tmpdir(), 'graft-stolen-'));
    try {
      for (const file of ['cert.pem', 'key.pem', 'ca.pem']) copyFileSync(join(agentRecord('gamma').home, '.graft', 'identity', file), join(copies, file));
      writeFileSync(join(copies, 'channel.url'), `${tunnel!.url}\n`);
      const stolen = () =>
        new Promise<{ code: number; stderr: string }>((resolve) =>
          execFile(
            join(repoRoot, 'provisioners', 'host', 'graft-agent'),
            ['status', 'still here'],
            { env: { PATH: process.env.PATH, HOME: copies, GRAFT_IDENTITY_DIR: copies, GRAFT_CHANNEL_FILE: join(copies, 'channel.url') } },
            (error, _stdout, stderr) => resolve({ code: error ? Number(error.code) : 0, stderr }),
          ),
        );
      expect((await stolen()).code, 'accepted while gamma is live').to.equal(0);
      await removeAgent(runtime, runtime.store.getSession(sessionId)!, agentRecord('gamma'));
      const refused = await stolen();
      expect(refused.code).to.equal(1);
      expect(refused.stderr).to.match(/HTTP 403\): agent gamma is not a live agent of session/);
    } finally {
      rmSync(copies, { recursive: true, force: true });
    }
  });

  it('given a controller restart (server and tunnel closed, a new server on a new port, URLs rewritten), then a waiting ask and a status sent meanwhile both complete', async () => {
    const oldLocalPort = channel!.port;
    const asking = asAgent('alpha', ['ask', 'Deploy now?']);
    const question = await until(() =>
      messages()
        .openQuestions(sessionId)
        .find((q) => q.body === 'Deploy now?'),
    );
    await channel!.close();
    const meanwhile = asAgent('beta', ['status', 'sent while the controller was down']);
    await new Promise((resolve) => setTimeout(resolve, 1500));

    await startController();
    expect(channel!.port).to.not.equal(oldLocalPort);
    // The old tunnel still holds its port while the new one opens, so the URL really changes.
    const oldTunnel = tunnel!;
    await openTunnel();
    await oldTunnel.close();
    expect(tunnel!.remotePort).to.not.equal(oldTunnel.remotePort);
    const cli = StateStore.open(runtime.layout.database);
    MessageStore.of(cli).answer(sessionId, question.id, { who: 'ana', body: 'yes, deploy' });
    cli.close();

    const [answered, status] = await Promise.all([asking, meanwhile]);
    expect(answered.exitCode, answered.stderr).to.equal(0);
    expect(answered.stdout).to.equal('yes, deploy\n');
    expect(status.exitCode, status.stderr).to.equal(0);
    expect(reports).to.deep.include(['status', 'build', 'sent while the controller was down']);
    expect(
      messages()
        .openQuestions(sessionId)
        .filter((q) => q.body === 'Deploy now?'),
      'the question was asked once, not once per attempt',
    ).to.deep.equal([]);
    expect(
      messages()
        .history(sessionId, 'plan')
        .filter((m) => m.body === 'Deploy now?'),
    ).to.have.length(1);

    // A controller that reopens the tunnel asking for the port it had gets it: agents' URLs stay valid.
    const port = tunnel!.remotePort;
    await tunnel!.close();
    await openTunnel(port);
    expect(tunnel!.remotePort).to.equal(port);
    expect((await asAgent('alpha', ['status', 'same port'])).exitCode).to.equal(0);
  });

  it('given the admin SSH connection drops, then the tunnel says it was lost, and reopening it brings agents back', async () => {
    const lostTunnel = tunnel!;
    const settled = (promise: Promise<unknown>) => Promise.race([promise.then(() => true), new Promise((resolve) => setImmediate(() => resolve(false)))]);
    expect(await settled(lostTunnel.ended), 'not ended while the connection is up').to.equal(false);
    await (await runtime.pool.connection(adminEndpoint(host, runtime.env))).close();
    expect(await lostTunnel.ended).to.deep.equal({ lost: true });

    tunnel = await openChannelTunnel(HostShell.admin(runtime.pool, host, runtime.env), channel!.port, lostTunnel.remotePort);
    // The host usually hands the same port back; when it cannot yet, the URLs are rewritten.
    if (tunnel.remotePort !== lostTunnel.remotePort)
      for (const agent of ['alpha', 'beta']) await writeChannelUrl(runtime.pool, host, runtime.env, agentRecord(agent), tunnel.url);
    expect((await asAgent('beta', ['status', 'after the drop'])).exitCode).to.equal(0);
    expect(reports).to.deep.include(['status', 'build', 'after the drop']);
    await lostTunnel.close();
  });
});
