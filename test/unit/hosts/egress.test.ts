import { expect } from 'chai';
import { egressArgument, egressRules, parseAllowEntry } from '../../../src/core/hosts/egress.js';

describe('egress: network settings and the host tool argument made of them', () => {
  it('given allow-list entries, when parsed, then addresses, networks and names keep their port and anything else is refused with a reason', () => {
    expect(parseAllowEntry('10.0.0.0/8')).to.deep.equal({ address: '10.0.0.0/8' });
    expect(parseAllowEntry('10.1.2.3:443')).to.deep.equal({ address: '10.1.2.3', port: 443 });
    expect(parseAllowEntry('fd00::/64')).to.deep.equal({ address: 'fd00::/64' });
    expect(parseAllowEntry('[::1]:8080')).to.deep.equal({ address: '::1', port: 8080 });
    expect(parseAllowEntry('Git.Example.com:22')).to.deep.equal({ name: 'git.example.com', port: 22 });
    for (const bad of ['10.0.0.300', '10.0.0.0/33', 'a b', '-x.com', 'x.com:0', '[x.com]:22', '10.0.0.0/8:22:1', ''])
      expect(parseAllowEntry(bad), bad).to.be.a('string');
  });

  it("given a policy and graft's service ports, when turned into rules, then the host tool gets one token per port and entry, and none when nothing is allowed", () => {
    expect(egressArgument(egressRules('gateway', [4000, 4001, 4000]))).to.deep.equal(['lo+4000,lo+4001']);
    expect(egressArgument(egressRules('gateway', []))).to.deep.equal(['none']);
    expect(egressArgument(egressRules({ allow: [{ address: '10.0.0.0/8' }, { name: 'x.org', port: 443 }] }, [4000]))).to.deep.equal([
      'lo+4000,net+10.0.0.0/8,name+x.org+443',
    ]);
    expect(egressArgument(egressRules('open', [4000]))).to.deep.equal(['open']);
    expect(egressArgument(egressRules('none', [4000]))).to.deep.equal(['none']);
    expect(egressArgument(undefined)).to.deep.equal([]);
  });
});
