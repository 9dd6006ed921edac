import { expect } from 'chai';
import { type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { stringify } from 'yaml';
import { GraftWorld, repoRoot } from '../helpers/cli.js';
import { launchChromium } from '../helpers/browser.js';
import { recordGatewayRequests } from '../helpers/gateway-usage.js';
import { makeRepo } from '../helpers/git-repo.js';

const artifacts = join(repoRoot, 'test-artifacts');

/** A local webhook receiver: every body posted to it, by path. */
async function startReceiver(): Promise<{ url: string; bodies: { path: string; body: Record<string, unknown> }[]; server: Server }> {
  const bodies: { path: string; body: Record<string, unknown> }[] = [];
  const server = createServer((req, res) => {
    let text = '';
    req.on('data', (c: Buffer) => (text += c.toString('utf8')));
    req.on('end', () => {
      bodies.push({ path: req.url ?? '', body: JSON.parse(text) as Record<string, unknown> });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, bodies, server };
}

async function until<T>(check: () => T | undefined | false | Promise<T | undefined | false>, what: string, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe('browser: graft dashboard in Chromium against a real run on local hosts', function () {
  this.timeout(300_000);
  let world: GraftWorld;
  let root: string;
  let repo: string;
  let chromium: Awaited<ReturnType<typeof launchChromium>>;
  let browser: Browser;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let controller: ChildProcess | undefined;

  before(async () => {
    mkdirSync(artifacts, { recursive: true });
    chromium = await launchChromium();
    browser = chromium.browser;
  });
  after(async () => chromium?.close());
  beforeEach(async () => {
    root = mkdtempSync(join(tmpdir(), 'graft-dash-'));
    repo = makeRepo(root);
    chmodSync(root, 0o755);
    world = new GraftWorld({ GRAFT_RETRY_BACKOFF: '100ms', GRAFT_APPROVER: 'dana' });
    receiver = await startReceiver();
  });
  afterEach(async () => {
    controller?.kill('SIGKILL');
    receiver.server.close();
    await world.dispose();
    rmSync(root, { recursive: true, force: true });
  });

  it('given a run with a gate and a question, when watched and steered from the page, then the graph, live states, the log, the approval and the answer all work, and strangers are refused', async () => {
    const file = join(root, 'graph.yaml');
    writeFileSync(
      file,
      stringify({
        base: 'main',
        hosts: { provisioner: 'local', count: 2, slots: 2 },
        agents: { sh: { harness: 'shell' } },
        notify: [{ url: `${receiver.url}/slack`, format: 'slack', events: ['gate.waiting'] }],
        tasks: {
          build: { agent: 'sh', command: 'for i in 1 2 3 4 5 6 7 8; do echo "tick-$i"; sleep 1; done' },
          asker: {
            agent: 'sh',
            command: 'answer=$(graft-agent ask "which version?") && echo "answer: $answer" > ANSWER && git add ANSWER && git commit -qm answer',
          },
          review: { agent: 'sh', needs: ['build'], approval: 'before', command: 'echo reviewed' },
        },
      }),
    );
    controller = world.spawn(['run', file, '--notify', `${receiver.url}/hook`], repo);
    let stderr = '';
    controller.stderr!.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    controller.stdout!.resume();
    const signIn = await until(() => /dashboard: (http:\/\/127\.0\.0\.1:\d+\/\?token=\S+)/.exec(stderr)?.[1], 'the sign-in URL');
    const origin = new URL(signIn).origin;

    const context = await browser.newContext({ viewport: { width: 1400, height: 800 } });
    const page: Page = await context.newPage();
    await page.goto(signIn);
    expect(new URL(page.url()).search, 'the token leaves the address bar').to.equal('');
    // The graph appears: one node per task.
    await page.locator('svg .node').nth(2).waitFor({ timeout: 60_000 });
    expect(await page.locator('svg .node').count()).to.equal(3);
    // The log streams: lines appear while the task still runs.
    await page.locator('[data-task="build"]').click();
    await page.getByText('tick-2').waitFor({ timeout: 90_000 });
    expect(await page.locator('[data-task="build"]').getAttribute('data-state')).to.equal('running');
    await page.screenshot({ path: join(artifacts, 'dashboard-running.png') });
    // The task turns green live.
    await page.locator('[data-task="build"][data-state="succeeded"]').waitFor({ timeout: 120_000 });
    await page.getByText('tick-8').waitFor({ timeout: 30_000 });

    // The question: answered from the inbox.
    const question = page.locator('.question.open');
    await question.waitFor({ timeout: 90_000 });
    await question.locator('textarea').fill('v2');
    await question.locator('[data-action="answer"]').click();
    await page.locator('[data-task="asker"][data-state="succeeded"]').waitFor({ timeout: 90_000 });

    // The gate: approved from the page, which unblocks it.
    await page.locator('[data-task="review"][data-state="awaiting-approval"]').waitFor({ timeout: 60_000 });
    // Strangers: no cookie, another origin, a spent token, another host name.
    const [cookie] = await context.cookies(origin);
    expect(cookie).to.include({ name: 'graft_dashboard', httpOnly: true, sameSite: 'Strict' });
    const withCookie = { cookie: `${cookie!.name}=${cookie!.value}` };
    const noCookie = await fetch(`${origin}/api/tasks/review/approval`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin },
      body: '{"decision":"approve"}',
    });
    expect(noCookie.status).to.equal(401);
    const readNoCookie = await fetch(`${origin}/api/events`);
    expect(readNoCookie.status).to.equal(401);
    const otherOrigin = await fetch(`${origin}/api/tasks/review/approval`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: 'http://evil.example', ...withCookie },
      body: '{"decision":"approve"}',
    });
    expect(otherOrigin.status).to.equal(403);
    const noOrigin = await fetch(`${origin}/api/questions/1/answer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...withCookie },
      body: '{"text":"x"}',
    });
    expect(noOrigin.status).to.equal(403);
    const spent = await fetch(signIn, { redirect: 'manual' });
    expect(spent.status).to.equal(401);
    expect(spent.headers.get('set-cookie')).to.equal(null);
    // The same origin with the cookie reaches the route (which checks what it is sent).
    const checked = await fetch(`${origin}/api/tasks/review/approval`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin, ...withCookie },
      body: '{"decision":"maybe"}',
    });
    expect(checked.status).to.equal(400);
    expect(await page.locator('[data-task="review"]').getAttribute('data-state'), 'nothing a stranger sent passed the gate').to.equal('awaiting-approval');

    await page.locator('[data-task="review"]').click();
    await page.locator('.gate textarea').fill('looks right');
    await page.screenshot({ path: join(artifacts, 'dashboard-gate.png') });
    await page.locator('[data-action="approve"]').click();
    await page.locator('[data-task="review"][data-state="succeeded"]').waitFor({ timeout: 90_000 });
    await page.locator('[data-field="before gate"]').waitFor();
    expect(await page.locator('[data-field="before gate"]').textContent()).to.match(/^approved by dana at .*: looks right$/);
    await page.screenshot({ path: join(artifacts, 'dashboard.png') });

    await until(() => controller!.exitCode !== null, 'the run to end');
    expect(controller.exitCode, stderr.slice(-2000)).to.equal(0);
    const audit = JSON.parse(
      readFileSync(join(world.home, 'sessions', readSessionId(world), 'audit.jsonl'), 'utf8')
        .split('\n')
        .filter(Boolean)
        .find((l) => l.includes('approval.recorded'))!,
    );
    expect(audit.data).to.include({ task: 'review', decision: 'approved', by: 'dana', via: 'dashboard', reason: 'looks right' });

    // Notifications: JSON to --notify, Slack's { text } to the graph's target, each linking the dashboard item.
    const hook = receiver.bodies.filter((b) => b.path === '/hook').map((b) => b.body);
    expect(hook.map((b) => b.event)).to.include.members(['question.asked', 'gate.waiting', 'run.finished']);
    expect(hook.find((b) => b.event === 'gate.waiting')).to.include({ task: 'review', link: `${origin}/#task=review` });
    expect(hook.find((b) => b.event === 'question.asked')!.text).to.equal('asker asks: which version?');
    const slack = receiver.bodies.filter((b) => b.path === '/slack').map((b) => b.body);
    expect(slack).to.have.length(1);
    expect(slack[0]!.text).to.match(new RegExp(`review waits for approval to start <${origin}/#task=review\\|open in the dashboard>`));
    await context.close();
  });

  it('given a session whose controller is gone, when graft dashboard serves it, then the page shows the finished run, its saved log, and the gateway-metered tokens and cost against the budget, live', async () => {
    const file = join(root, 'graph.yaml');
    writeFileSync(
      file,
      stringify({
        base: 'main',
        hosts: { provisioner: 'local', count: 1, slots: 1 },
        budget: '$10',
        agents: { sh: { harness: 'shell' } },
        tasks: { only: { agent: 'sh', command: 'echo saved-output' } },
      }),
    );
    const ran = await world.run(['run', file, '--no-dashboard'], { cwd: repo, timeoutMs: 240_000 });
    expect(ran.code, ran.stderr).to.equal(0);
    const session = readSessionId(world);
    recordGatewayRequests(world.home, session, [
      { task: 'only', agent: 'coder', model: 'claude-sonnet-5-5', tokens: [1200, 87, 0, 0], costPico: 2_500_000_000_000n },
    ]);
    controller = world.spawn(['dashboard'], repo);
    let stderr = '';
    controller.stderr!.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    const signIn = await until(() => /(http:\/\/127\.0\.0\.1:\d+\/\?token=\S+)/.exec(stderr)?.[1], 'the sign-in URL');
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(signIn);
    await page.locator('[data-task="only"][data-state="succeeded"]').click({ timeout: 60_000 });
    await page.getByText('saved-output').waitFor({ timeout: 30_000 });
    expect(await page.locator('#run').textContent()).to.equal('run succeeded');
    // Tokens and cost, as graft cost reads them: the task's, and the session's against its budget.
    expect(await page.locator('[data-field="tokens"]').textContent()).to.equal('1,200 in / 87 out (1 request)');
    expect(await page.locator('[data-field="cost"]').textContent()).to.equal('$2.5000');
    await page.locator('#cost', { hasText: '$2.50 of $10.00 budget' }).waitFor({ timeout: 30_000 });
    // A request metered now reaches the open page, and a spent budget is marked.
    recordGatewayRequests(world.home, session, [{ task: 'only', agent: 'coder', model: 'mystery-model', tokens: [10, 5, 0, 0], costPico: 8_000_000_000_000n }]);
    await page.locator('#cost.over', { hasText: '$10.50 of $10.00 budget' }).waitFor({ timeout: 30_000 });
    await page.locator('[data-field="tokens"]', { hasText: '1,210 in / 92 out (2 requests)' }).waitFor({ timeout: 30_000 });
    expect(await page.locator('[data-field="cost"]').textContent()).to.equal('$10.5000');
    await page.screenshot({ path: join(artifacts, 'dashboard-cost.png') });
    await context.close();
    controller.kill('SIGTERM');
    await until(() => controller!.exitCode !== null, 'graft dashboard to stop');
  });
});

function readSessionId(world: GraftWorld): string {
  return readdirSync(join(world.home, 'sessions'))[0]!;
}
