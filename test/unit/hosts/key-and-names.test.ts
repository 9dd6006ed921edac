import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { agentAccountName, checkAgentName } from '../../../src/core/hosts/agent-names.js';
import { authorizedKeyLine, expiryTimespec } from '../../../src/core/hosts/authorized-key.js';
import { UsageError } from '../../../src/core/errors.js';
import { shellQuote } from '../../../src/core/shell-quote.js';
import { generateEd25519KeyPair } from '../../../src/core/ssh/index.js';

describe('agent key lines and names', () => {
  it('given a key, when its authorized_keys line is built, then it is restricted, source-bound and expiring, with pty only when interactive', () => {
    const { publicKey } = generateEd25519KeyPair('c');
    const at = new Date('2026-11-24T18:05:09.500Z');
    expect(authorizedKeyLine({ publicKey, from: '127.0.0.1', expiresAt: at, interactive: false })).to.equal(
      `restrict,from="127.0.0.1",expiry-time="20261124180509Z" ${publicKey.split(' ').slice(0, 2).join(' ')}`,
    );
    expect(authorizedKeyLine({ publicKey, from: '10.0.0.5', expiresAt: at, interactive: true })).to.match(
      /^restrict,from="10\.0\.0\.5",expiry-time="20261124180509Z",pty ssh-ed25519 /,
    );
    expect(expiryTimespec(at)).to.equal('20261124180509Z');
  });

  it('given a from= value that is not an address, when the line is built, then it is refused rather than written into sshd options', () => {
    const { publicKey } = generateEd25519KeyPair('c');
    expect(() => authorizedKeyLine({ publicKey, from: '1.2.3.4",command="sh', expiresAt: new Date(), interactive: false })).to.throw(/not an IP address/);
  });

  it('given names, when checked, then hostile ones and ones too long for a Unix account are usage errors', () => {
    expect(checkAgentName('abcdefgh', 'reviewer')).to.equal('reviewer');
    expect(agentAccountName('abcdefgh', 'reviewer')).to.equal('graft-abcdefgh-reviewer');
    for (const bad of ['a;rm -rf ~', '$(id)', "o'brien", 'ünï', '', 'A', 'x'.repeat(18)])
      expect(() => checkAgentName('abcdefgh', bad), bad).to.throw(UsageError);
  });

  it('given any string, when shell-quoted and echoed by sh, then it comes back unchanged and nothing in it runs', () => {
    for (const word of ["it's", '$(touch /tmp/graft-pwned)', '`id`', 'a b\nc', '"; rm -rf ~', '', 'plain-word']) {
      expect(execFileSync('sh', ['-c', `printf %s ${shellQuote(word)}`], { encoding: 'utf8' })).to.equal(word);
    }
  });
});
