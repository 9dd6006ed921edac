import { expect } from 'chai';
import { UsageError } from '../../../src/core/errors.js';
import { agentNamePattern, issueAgentCertificate, issueWorkloadJwt, validateAgentName, type SessionAuthority } from '../../../src/core/identity/index.js';
import { makeAuthority, refusal } from './fixtures.js';

const hostileNames = [
  'a;rm -rf ~',
  '$(id)',
  '`id`',
  "o'brien",
  '"quoted"',
  'agent name',
  'agent\n',
  'agent\u0000',
  'ägent',
  'agent\u200b', // zero-width space: looks like "agent"
  'аgent', // Cyrillic a
  '',
  'a'.repeat(32),
  'Agent',
  '1agent',
  '-agent',
  '../etc',
  'a/b',
  'a.b',
  'a_b',
  'a:b',
];

describe('agent names', () => {
  let authority: SessionAuthority;
  before(async () => {
    authority = await makeAuthority('sessionn');
  });

  it('Given hostile or malformed names, when validated, then each is refused with a UsageError that shows the name safely', () => {
    for (const name of hostileNames) {
      let error: unknown;
      try {
        validateAgentName(name);
      } catch (caught) {
        error = caught;
      }
      expect(error, JSON.stringify(name)).to.be.instanceOf(UsageError);
      expect((error as UsageError).code).to.equal('USAGE');
      expect((error as UsageError).message).to.match(/^invalid agent name ".*": an agent name is 1 to 31 characters/);
      // The name is JSON-quoted, so a newline in it cannot forge a second line of output.
      expect((error as UsageError).message).to.not.contain('\n');
    }
  });

  it('Given names that follow the account rule, when validated, then they pass, up to 31 characters', () => {
    for (const name of ['a', 'worker-1', 'test-runner-2', `a${'b'.repeat(30)}`]) {
      expect(validateAgentName(name)).to.equal(name);
      expect(agentNamePattern.test(name)).to.equal(true);
    }
  });

  it('Given a hostile name, when a certificate or token is requested for it, then nothing is issued', async () => {
    for (const agentName of ['a;rm -rf ~', '$(id)', '']) {
      expect(await refusal(() => issueAgentCertificate(authority, { agentName }))).to.be.instanceOf(UsageError);
      expect(await refusal(() => issueWorkloadJwt(authority, { agentName, audience: 'sts.amazonaws.com' }))).to.be.instanceOf(UsageError);
    }
  });
});
