import { expect } from 'chai';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { ConfigError } from '../../../src/core/errors.js';
import type { AgentSpec, HarnessName } from '../../../src/core/graph/model.js';
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
    const t = task(agent('claude', { model: 'claude-sonnet-4-5', args: ['--max-turns', '40'], instructions: 'Write tests first.' }));
    const invocation = harnessFor('claude').invoke(t);
    expect(host.run(invocation).status).to.equal(0);
    const call = host.call('claude')!;
    expect(call.argv).to.deep.equal(['-p', '--permission-mode', 'bypassPermissions', '--model', 'claude-sonnet-4-5', '--max-turns', '40']);
    expect(call.stdin).to.equal(agentPrompt(t));
    expect(call.stdin).to.include('graft-agent done').and.include('Write tests first.').and.include('Wrote PLAN.md: three endpoints, v2 first.').and.include('Add the /v2/items endpoint.');
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
    expect(host.call('codex')!.argv).to.deep.equal(['exec', '--dangerously-bypass-approvals-and-sandbox', '-']);
  });

  it('given a gemini agent, when its script runs, then gemini runs headless with every tool approved, the model, the prompt on stdin and the worktree trusted', () => {
    const t = task(agent('gemini', { model: 'gemini-2.5-flash', args: ['--sandbox'] }));
    const invocation = harnessFor('gemini').invoke(t);
    host.run(invocation);
    const call = host.call('gemini')!;
    expect(call.argv).to.deep.equal(['--approval-mode', 'yolo', '--model', 'gemini-2.5-flash', '--sandbox', '-p', geminiClosingLine]);
    expect(call.stdin).to.equal(agentPrompt(t));
    expect(call.env.GEMINI_TRUST_WORKSPACE).to.equal('true');
    expect(invocation.requires).to.deep.equal(['gemini', 'git']);
    expect(invocation.credentials).to.deep.equal(['GEMINI_API_KEY', 'GOOGLE_API_KEY']);
  });

  it('given a codex agent, when its script runs, then codex exec reads the prompt from stdin with the model, and an OPENAI_API_KEY is passed on as CODEX_API_KEY unless one is granted', () => {
    const t = task(agent('codex', { model: 'gpt-5-codex' }));
    const invocation = harnessFor('codex').invoke(t);
    host.run(invocation, { OPENAI_API_KEY: 'sk-openai' });
    const call = host.call('codex')!;
    expect(call.argv).to.deep.equal(['exec', '--dangerously-bypass-approvals-and-sandbox', '--model', 'gpt-5-codex', '-']);
    expect(call.stdin).to.equal(agentPrompt(t));
    expect(call.env.CODEX_API_KEY).to.equal('sk-openai');
    host.run(invocation, { OPENAI_API_KEY: 'sk-openai', CODEX_API_KEY: 'sk-codex' });
    expect(host.call('codex')!.env.CODEX_API_KEY).to.equal('sk-codex');
    host.run(invocation);
    expect(host.call('codex')!.env).to.not.have.property('CODEX_API_KEY');
    expect(invocation.requires).to.deep.equal(['codex', 'git']);
    expect(invocation.credentials).to.deep.equal(['CODEX_API_KEY', 'OPENAI_API_KEY']);
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
        upstream: [{ task: 'plan', branch: 'graft/abcdefgh/plan', summary: hostile }],
      });
      expect(host.run(harnessFor(name).invoke(t)).status, name).to.equal(0);
      const call = host.call(name)!;
      expect(call.stdin, name).to.equal(agentPrompt(t));
      expect(call.stdin.split(hostile).length - 1, name).to.equal(3); // instructions, summary, prompt
      expect(call.argv, name).to.include(`m'; touch ${canary}; '`).and.include(`$(touch ${canary})`).and.include(hostile);
    }
    expect(existsSync(canary)).to.equal(false);
    expect(readdirSync(host.home)).to.deep.equal(['.graft']); // `rm -rf ~` never ran
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
