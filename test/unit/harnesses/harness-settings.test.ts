import { expect } from 'chai';
import { UsageError } from '../../../src/core/errors.js';
import { harnessSettings } from '../../../src/core/harnesses/index.js';

describe('harness settings', () => {
  it('given GRAFT_AGENT_PATH and vendor base URLs, when read, then each harness gets its own URL and the path its directories', () => {
    const settings = harnessSettings({
      GRAFT_AGENT_PATH: '/opt/agents/bin::/usr/local/node/bin',
      GRAFT_ANTHROPIC_BASE_URL: 'http://127.0.0.1:9000/',
      GRAFT_OPENAI_BASE_URL: 'https://proxy.example.com/v1',
      GRAFT_GEMINI_BASE_URL: 'https://g.example.com',
    });
    expect(settings).to.deep.equal({
      agentPath: ['/opt/agents/bin', '/usr/local/node/bin'],
      apiBaseUrls: { claude: 'http://127.0.0.1:9000', codex: 'https://proxy.example.com/v1', gemini: 'https://g.example.com' },
    });
    expect(harnessSettings({})).to.deep.equal({ agentPath: [], apiBaseUrls: {} });
  });

  it('given bad values, when read, then a usage error names the setting and the fix', () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{ GRAFT_AGENT_PATH: 'node_modules/.bin' }, /GRAFT_AGENT_PATH: "node_modules\/.bin" is not an absolute directory/],
      [{ GRAFT_ANTHROPIC_BASE_URL: 'not a url' }, /GRAFT_ANTHROPIC_BASE_URL: "not a url" is not a URL/],
      [{ GRAFT_OPENAI_BASE_URL: 'ftp://example.com' }, /GRAFT_OPENAI_BASE_URL: .* is not an http\(s\) URL/],
      [{ GRAFT_GEMINI_BASE_URL: 'https://user:secret@example.com' }, /GRAFT_GEMINI_BASE_URL: the URL carries a user name or password/],
    ];
    for (const [env, message] of cases) {
      expect(() => harnessSettings(env), JSON.stringify(env))
        .to.throw(UsageError, message)
        .with.property('actions')
        .that.has.length.above(0);
      expect(() => harnessSettings(env))
        .to.throw(UsageError)
        .with.property('message')
        .that.does.not.include('secret');
    }
  });
});
