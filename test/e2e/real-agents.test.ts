import { expect } from 'chai';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { stringify } from 'yaml';
import { keyDigest, startMockVendor, type MockVendor, type RecordedRequest } from '../fakes/vendors/mock-vendor.js';
import { agentBinDir, agentClis, requireAgentCli, type AgentCliName } from '../helpers/agent-clis.js';
import { GraftWorld } from '../helpers/cli.js';
import { git, makeRepo } from '../helpers/git-repo.js';

/** Current model names (what each pinned CLI lists); the mocks answer any name, graft must pass this one through. */
const models: Record<AgentCliName, string> = { claude: 'claude-sonnet-5-5', codex: 'gpt-5.5', gemini: 'gemini-3.8-flash' };

/** What each CLI's documented opt-out must have changed in what it sent. */
const optOuts: Record<AgentCliName, { what: string; holds: (requests: RecordedRequest[]) => boolean }> = {
  claude: { what: 'no HEAD /api/hello probe (CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC)', holds: (rs) => rs.every((r) => r.path !== '/api/hello') },
  codex: {
    what: 'analytics_enabled false in every turn (-c analytics.enabled=false)',
    holds: (rs) => rs.every((r) => JSON.parse(r.headers['x-codex-turn-metadata'] ?? '{}').analytics_enabled === false),
  },
  gemini: {
    what: 'no usage-statistics installation id header (privacy.usageStatisticsEnabled false)',
    holds: (rs) => rs.every((r) => !('x-gemini-api-privileged-user-id' in r.headers)),
  },
};

describe('e2e: the real agent CLIs through graft run (local hosts, mock vendor APIs)', function () {
  // The CLIs start slowly on a busy machine (gemini alone takes ~30 s); nothing here measures time.
  this.timeout(600_000);

  for (const name of Object.keys(agentClis) as AgentCliName[]) {
    describe(name, () => {
      const cli = agentClis[name];
      const key = `${cli.key.toLowerCase()}-graft-e2e-${Math.random().toString(36).slice(2)}`;
      let mock: MockVendor;
      let world: GraftWorld;
      let root: string;

      before(() => requireAgentCli(name));
      beforeEach(async () => {
        mock = await startMockVendor(cli.vendor);
        root = mkdtempSync(join(tmpdir(), `graft-real-${name}-`));
        chmodSync(root, 0o755);
        // The CLIs and the node that runs two of them, first on the agents' PATH.
        world = new GraftWorld({ GRAFT_AGENT_PATH: `${agentBinDir}:${dirname(process.execPath)}`, [cli.baseUrlSetting]: mock.baseUrl, [cli.key]: key });
      });
      afterEach(async () => {
        await world.dispose();
        await mock.close();
        rmSync(root, { recursive: true, force: true });
      });

      it(`given a ${name} task with a model and its vendor key granted, when graft runs it through the model gateway, then the CLI calls the API with that model (the gateway adds the key), its tool call writes a file that comes back on the task's branch, and graft cost counts every token`, async () => {
        const repo = makeRepo(root);
        const graph = join(root, 'graph.yaml');
        writeFileSync(
          graph,
          stringify({
            base: 'main',
            hosts: { provisioner: 'local', count: 1 },
            agents: { coder: { harness: name, model: models[name], secrets: [cli.key] } },
            tasks: { write: { agent: 'coder', prompt: `Create ${mock.file.path}.`, timeout: '8m' } },
          }),
        );

        const result = await world.run(['run', graph, '--json'], { cwd: repo, timeoutMs: 540_000 });
        const requests = mock.requests.map((r) => `${r.method} ${r.path} ${r.model ?? ''} → ${r.answer}`).join('\n');
        if (result.code !== 0) {
          const logs = await world.run(['logs', 'write'], { cwd: repo });
          expect.fail(`graft run exited ${result.code}\n${result.stderr}\nthe task's output:\n${logs.stdout}${logs.stderr}\nrequests:\n${requests}`);
        }
        const session = result.json!.result.session as string;

        // The tool call ran in the agent's worktree and its file came back with the task's work.
        expect(git(repo, 'show', `graft/${session}/write:${mock.file.path}`)).to.equal(mock.file.content);
        // The conversation went tool call → result → final text, each answer with its usage.
        expect(
          mock.requests.map((r) => r.answer),
          requests,
        ).to.include.members(['tool-call', 'final']);
        expect(
          mock.requests.filter((r) => r.answer === 'error'),
          `requests the mock does not know:\n${requests}`,
        ).to.deep.equal([]);
        expect(mock.usage().requests).to.be.at.least(2);
        // Every model request named the graph's model and carried the granted key.
        const modelRequests = mock.requests.filter((r) => r.usage);
        expect(modelRequests.map((r) => r.model)).to.deep.equal(modelRequests.map(() => models[name]));
        const keyed = mock.requests.filter((r) => r.keyDigest);
        expect(keyed.length).to.be.at.least(modelRequests.length);
        expect(
          keyed.every((r) => r.keyDigest === keyDigest(key)),
          'every request carried the granted key',
        ).to.equal(true);
        expect(optOuts[name].holds(mock.requests), optOuts[name].what).to.equal(true);
        // The CLI went through the model gateway (the default), which counted every token the
        // vendor answered with, for this task, to the token.
        const cost = await world.run(['cost', '--json'], { cwd: repo });
        expect(cost.code, cost.stderr).to.equal(0);
        const { requests: served, ...tokens } = mock.usage();
        expect(cost.json!.result.total).to.include({ requests: modelRequests.length, ...tokens });
        expect(served).to.be.at.least(modelRequests.length);
        expect(cost.json!.result.tasks.map((t: { task: string; model: string }) => `${t.task} ${t.model}`)).to.deep.equal([`write ${models[name]}`]);
      });
    });
  }
});
