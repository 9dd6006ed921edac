import { expect } from 'chai';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { ConfigError } from '../../../src/core/errors.js';
import type { AgentSpec, HarnessName } from '../../../src/core/model/graph.js';
import { geminiClosingLine } from '../../../src/core/harnesses/gemini.js';
import { agentPrompt, harnessFor, harnessNames, type HarnessTask } from '../../../src/core/harnesses/index.js';
import { StubHost } from './stub-host.js';

function agent(harness: HarnessName, extra: Partial<AgentSpec> = {}): AgentSpec {
  return { name: 'coder', harness, args: [], secrets: [], ...extra };
}

function task(agentSpec: AgentSpec, extra: Partial<HarnessTask> = {}): HarnessTask {
  return {
    session: 'abcdefgh',
    task: 'implement-api',
    agent: agentSpec,
    prompt: 'Add the /v2/items endpoint.',
    branch: 'graft/abcdefgh/implement-api',
    workdir: '/home/graft-abcdefgh-coder/work',
    upstream: [{ task: 'plan', branch: 'graft/abcdefgh/plan', summary: 'Wrote PLAN.md: three endpoints, v2 first.' }],
    ...extra,
  };
}

describe('harnesses', () => {
  let host: StubHost;
  beforeEach(() => {
    host = new StubHost();
  });
  afterEach(() => host.remove());

  it('given a claude agent with a model and args, when its script runs, then claude gets print mode, bypassed permissions, the model and args, and the whole prompt on stdin', () => {
    const t = task(agent('claude', { model: 'claude-sonnet-5-5', args: ['--max-turns', '40'], instructions: 'Write tests first.' }));
    const invocation = harnessFor('claude').invoke(t);
    expect(host.run(invocation).status).to.equal(0);
    const call = host.call('claude')!;
    expect(call.argv).to.deep.equal(['-p', '--permission-mode', 'bypassPermissions', '--model', 'claude-sonnet-5-5', '--max-turns', '40']);
    expect(call.stdin).to.equal(agentPrompt(t));
    expect(call.stdin)
      .to.include('graft-agent done')
      .and.include('Write tests first.')
      .and.include('Wrote PLAN.md: three endpoints, v2 first.')
      .and.include('Add the /v2/items endpoint.');
    expect(call.cwd).to.equal(host.worktree);
    expect(call.env.GRAFT_PROMPT_FILE).to.equal(host.path('home', '.graft', 'task', 'prompt.md'));
    expect(invocation.requires).to.deep.equal(['claude', 'git']);
    expect(invocation.credentials).to.deep.equal(['ANTHROPIC_API_KEY', 'CLAUDE_CODE_OAUTH_TOKEN']);
  });

  it('given agents with no model, when their scripts run, then no model flag is passed and each CLI uses its default', () => {
    for (const name of ['claude', 'gemini', 'codex'] as const) {
      host.run(harnessFor(name).invoke(task(agent(name))));
      const argv = host.call(name)!.argv;
      expect(argv, name).to.not.include('--model');
      expect(argv.join(' '), name).to.not.match(/-m\b/);
    }
    expect(host.call('claude')!.argv).to.deep.equal(['-p', '--permission-mode', 'bypassPermissions']);
    expect(host.call('gemini')!.argv).to.deep.equal(['--approval-mode', 'yolo', '-p', geminiClosingLine]);
    expect(host.call('codex')!.argv).to.deep.equal(['exec', '-c', 'analytics.enabled=false', '--dangerously-bypass-approvals-and-sandbox', '-']);
  });

  it('given the model gateway, when each LLM script runs, then its CLI gets the gateway as API base and the task token as its key, and no vendor key', () => {
    const gateway = { url: 'http://127.0.0.1:40123', token: 'graft-gw-TOKEN' };
    // The gateway wins over a configured base URL: the gateway forwards there.
    for (const name of ['claude', 'gemini', 'codex'] as const)
      host.run(harnessFor(name).invoke(task(agent(name, { model: 'm1' }), { gateway, apiBaseUrl: 'http://127.0.0.1:9/v1' })));
    expect(host.call('claude')!.env).to.include({ ANTHROPIC_BASE_URL: 'http://127.0.0.1:40123/anthropic', ANTHROPIC_API_KEY: 'graft-gw-TOKEN' });
    expect(host.call('gemini')!.env).to.include({
      GOOGLE_GEMINI_BASE_URL: 'http://127.0.0.1:40123/gemini',
      GEMINI_API_KEY: 'graft-gw-TOKEN',
      GOOGLE_GENAI_USE_VERTEXAI: 'false',
    });
    expect(JSON.parse(readFileSync(host.path('home', '.gemini', 'settings.json'), 'utf8')).security).to.deep.equal({
      auth: { selectedType: 'gemini-api-key' },
    });
    const codex = host.call('codex')!;
    expect(codex.env).to.include({ CODEX_API_KEY: 'graft-gw-TOKEN', OPENAI_API_KEY: 'graft-gw-TOKEN' });
    expect(codex.argv).to.include(
      'model_providers.graft={ name = "graft", base_url = "http://127.0.0.1:40123/openai", env_key = "CODEX_API_KEY", wire_api = "responses" }',
    );
    // A key granted by mistake under the vendor's name is replaced by the token, as the launcher's env file comes last.
    host.run(harnessFor('claude').invoke(task(agent('claude'), { gateway })), { ANTHROPIC_API_KEY: 'sk-ant-real' });
    expect(host.call('claude')!.env.ANTHROPIC_API_KEY).to.equal('graft-gw-TOKEN');
  });

  it("given the default, when each LLM script runs, then the CLI's telemetry is off its documented way; with telemetry: true it is left alone", () => {
    for (const name of ['claude', 'gemini'] as const) host.run(harnessFor(name).invoke(task(agent(name))));
    expect(host.call('claude')!.env).to.include({
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
      DISABLE_TELEMETRY: '1',
      DISABLE_ERROR_REPORTING: '1',
      DISABLE_AUTOUPDATER: '1',
    });
    expect(host.call('gemini')!.env.GEMINI_TELEMETRY_ENABLED).to.equal('false');
    const settings = host.path('home', '.gemini', 'settings.json');
    expect(JSON.parse(readFileSync(settings, 'utf8'))).to.deep.equal({ privacy: { usageStatisticsEnabled: false }, telemetry: { enabled: false } });
    host.remove();
    host = new StubHost();
    for (const name of ['claude', 'gemini', 'codex'] as const) host.run(harnessFor(name).invoke(task(agent(name, { telemetry: true }))));
    expect(host.call('claude')!.env).to.not.have.property('CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC');
    expect(host.call('gemini')!.env).to.not.have.property('GEMINI_TELEMETRY_ENABLED');
    expect(JSON.parse(readFileSync(host.path('home', '.gemini', 'settings.json'), 'utf8'))).to.deep.equal({});
    expect(host.call('codex')!.argv).to.deep.equal(['exec', '--dangerously-bypass-approvals-and-sandbox', '-']);
  });

  it('given a gemini agent, when its script runs, then gemini runs headless with every tool approved, the model, the prompt on stdin and the worktree trusted', () => {
    const t = task(agent('gemini', { model: 'gemini-3.8-flash', args: ['--sandbox'] }));
    const invocation = harnessFor('gemini').invoke(t);
    host.run(invocation);
    const call = host.call('gemini')!;
    expect(call.argv).to.deep.equal(['--approval-mode', 'yolo', '--model', 'gemini-3.8-flash', '--sandbox', '-p', geminiClosingLine]);
    expect(call.stdin).to.equal(agentPrompt(t));
    expect(call.env.GEMINI_CLI_TRUST_WORKSPACE).to.equal('true');
    // Graft's settings become the account's own when it has none; no auth type is forced without a base URL.
    const settings = host.path('home', '.gemini', 'settings.json');
    expect(JSON.parse(readFileSync(settings, 'utf8'))).to.deep.equal({ privacy: { usageStatisticsEnabled: false }, telemetry: { enabled: false } });
    writeFileSync(settings, '{"mine": true}');
    host.run(invocation);
    expect(readFileSync(settings, 'utf8'), 'settings the account has are kept').to.equal('{"mine": true}');
    expect(call.env).to.not.have.property('GOOGLE_GEMINI_BASE_URL');
    expect(invocation.requires).to.deep.equal(['gemini', 'git']);
    expect(invocation.credentials).to.deep.equal(['GEMINI_API_KEY', 'GOOGLE_API_KEY']);
  });

  it('given a codex agent, when its script runs, then codex exec reads the prompt from stdin with the model, and an OPENAI_API_KEY is passed on as CODEX_API_KEY unless one is granted', () => {
    const t = task(agent('codex', { model: 'gpt-6.2-sol' }));
    const invocation = harnessFor('codex').invoke(t);
    host.run(invocation, { OPENAI_API_KEY: 'sk-openai' });
    const call = host.call('codex')!;
    expect(call.argv).to.deep.equal(['exec', '-c', 'analytics.enabled=false', '--dangerously-bypass-approvals-and-sandbox', '--model', 'gpt-6.2-sol', '-']);
    expect(call.stdin).to.equal(agentPrompt(t));
    expect(call.env.CODEX_API_KEY).to.equal('sk-openai');
    host.run(invocation, { OPENAI_API_KEY: 'sk-openai', CODEX_API_KEY: 'sk-codex' });
    expect(host.call('codex')!.env.CODEX_API_KEY).to.equal('sk-codex');
    host.run(invocation);
    expect(host.call('codex')!.env).to.not.have.property('CODEX_API_KEY');
    expect(invocation.requires).to.deep.equal(['codex', 'git']);
    expect(invocation.credentials).to.deep.equal(['CODEX_API_KEY', 'OPENAI_API_KEY']);
  });

  it("given a claude agent, when its script runs, then Claude Code's telemetry, error reports, update checks and other side traffic are off unless a granted secret says otherwise", () => {
    const invocation = harnessFor('claude').invoke(task(agent('claude')));
    host.run(invocation);
    const off = { CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1', DISABLE_TELEMETRY: '1', DISABLE_ERROR_REPORTING: '1', DISABLE_AUTOUPDATER: '1' };
    expect(host.call('claude')!.env).to.include(off).and.not.have.property('ANTHROPIC_BASE_URL');
    host.run(invocation, { DISABLE_TELEMETRY: '0' });
    expect(host.call('claude')!.env.DISABLE_TELEMETRY).to.equal('0');
  });

  it('given an API base URL for each LLM harness, when their scripts run, then each CLI is pointed at it in its own way', () => {
    const url = 'http://127.0.0.1:8080/proxy';
    for (const name of ['claude', 'gemini', 'codex'] as const) host.run(harnessFor(name).invoke(task(agent(name), { apiBaseUrl: url })));
    expect(host.call('claude')!.env.ANTHROPIC_BASE_URL).to.equal(url);
    const gemini = host.call('gemini')!;
    expect(gemini.env.GOOGLE_GEMINI_BASE_URL).to.equal(url);
    expect(JSON.parse(readFileSync(host.path('home', '.gemini', 'settings.json'), 'utf8')).security).to.deep.equal({
      auth: { selectedType: 'gemini-api-key' },
    });
    expect(host.call('codex')!.argv.slice(0, 7)).to.deep.equal([
      'exec',
      '-c',
      'analytics.enabled=false',
      '-c',
      'model_provider="graft"',
      '-c',
      `model_providers.graft={ name = "graft", base_url = "${url}", env_key = "CODEX_API_KEY", wire_api = "responses" }`,
    ]);
    expect(harnessNames.map((n) => harnessFor(n).apiBaseUrlSetting)).to.deep.equal([
      undefined,
      'GRAFT_ANTHROPIC_BASE_URL',
      'GRAFT_GEMINI_BASE_URL',
      'GRAFT_OPENAI_BASE_URL',
    ]);
  });

  it('given an agent CLI that fails, when its script runs, then the script exits with the CLI status', () => {
    expect(host.run(harnessFor('claude').invoke(task(agent('claude'))), { STUB_EXIT: '7' }).status).to.equal(7);
  });

  it('given a prompt, instructions, summary, model and args full of shell syntax, when each LLM script runs, then every value reaches the CLI verbatim and nothing executes', () => {
    const canary = host.path('pwned');
    const hostile = `$(touch ${canary}); rm -rf ~ \`touch ${canary}\` "'; touch ${canary}; '" \\ $HOME\nline two`;
    for (const name of ['claude', 'gemini', 'codex'] as const) {
      const t = task(agent(name, { model: `m'; touch ${canary}; '`, args: [`$(touch ${canary})`, hostile], instructions: hostile }), {
        prompt: hostile,
        apiBaseUrl: `http://127.0.0.1/$(touch ${canary})'\`touch ${canary}\``,
        upstream: [{ task: 'plan', branch: 'graft/abcdefgh/plan', summary: hostile }],
      });
      expect(host.run(harnessFor(name).invoke(t)).status, name).to.equal(0);
      const call = host.call(name)!;
      expect(call.stdin, name).to.equal(agentPrompt(t));
      expect(call.stdin.split(hostile).length - 1, name).to.equal(3); // instructions, summary, prompt
      expect(call.argv, name).to.include(`m'; touch ${canary}; '`).and.include(`$(touch ${canary})`).and.include(hostile);
    }
    expect(existsSync(canary)).to.equal(false);
    expect(readdirSync(host.home).sort()).to.deep.equal(['.gemini', '.graft']); // `rm -rf ~` never ran (.gemini: the gemini harness's settings)
  });

  it('given a shell task, when its script runs, then the command runs once as written, with the prompt as $GRAFT_PROMPT_FILE and the args as $1 $2', () => {
    const canary = host.path('pwned');
    const prompt = `$(touch ${canary}); rm -rf ~ \`id\``;
    const command = `printf '%s|' "it's" "$1" "$2" > out.txt\ncat "$GRAFT_PROMPT_FILE" > prompt-copy.txt\nexit 3`;
    const invocation = harnessFor('shell').invoke(task(agent('shell', { command: 'false', args: ['a b', `$(touch ${canary})`] }), { prompt, command }));
    expect(host.run(invocation).status).to.equal(3);
    expect(readFileSync(host.path('work', 'out.txt'), 'utf8')).to.equal(`it's|a b|$(touch ${canary})|`);
    expect(readFileSync(host.path('work', 'prompt-copy.txt'), 'utf8')).to.equal(prompt);
    expect(existsSync(canary)).to.equal(false);
    expect(invocation.script).to.not.include('printf');
    expect(invocation.requires).to.deep.equal(['git']);
    expect(invocation.credentials).to.deep.equal([]);
  });

  it("given a shell task without its own command, when its script runs, then the agent's command runs", () => {
    const invocation = harnessFor('shell').invoke(task(agent('shell', { command: 'echo "from the agent" > agent.txt' }), { prompt: undefined }));
    expect(host.run(invocation).status).to.equal(0);
    expect(readFileSync(host.path('work', 'agent.txt'), 'utf8')).to.equal('from the agent\n');
  });

  it('given tasks their harness cannot start, when invoked, then a config error names the task, the setting and the fix', () => {
    const noCommand = () => harnessFor('shell').invoke(task(agent('shell')));
    expect(noCommand).to.throw(ConfigError, /implement-api.*needs a command/);
    try {
      noCommand();
    } catch (error) {
      expect((error as ConfigError).problems[0]!.path).to.equal('tasks.implement-api.command');
      expect((error as ConfigError).actions[0]).to.match(/command:/);
    }
    expect(() => harnessFor('codex').invoke(task(agent('codex'), { prompt: '  ' }))).to.throw(ConfigError, /neither/);
  });

  it('given every harness name, when looked up, then each harness answers to its own name', () => {
    expect(harnessNames).to.have.members(['shell', 'claude', 'gemini', 'codex']);
    for (const name of harnessNames) expect(harnessFor(name).name).to.equal(name);
  });
});
