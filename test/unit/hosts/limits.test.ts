import { expect } from 'chai';
import { describeLimitHit, limitsArgument, parseMemory } from '../../../src/core/hosts/limits.js';

describe('limits: amounts, the host tool argument and the failure reasons', () => {
  it('given amounts of memory, when parsed, then K, M, G, T are powers of 1024 and anything under 4 MiB or unreadable is refused', () => {
    expect(parseMemory('512M')).to.equal(512 * 1024 ** 2);
    expect(parseMemory('1.5G')).to.equal(1.5 * 1024 ** 3);
    expect(parseMemory('4GiB')).to.equal(4 * 1024 ** 3);
    expect(parseMemory(8 * 1024 ** 2)).to.equal(8 * 1024 ** 2);
    for (const bad of ['1M', 'lots', '-5G', '5X', '']) expect(parseMemory(bad), bad).to.equal(undefined);
  });

  it('given limits, when turned into the host tool argument, then CPU is in millicores and unset keys are left out', () => {
    expect(limitsArgument({ cpu: 0.5, memory: 64 * 1024 ** 2, pids: 48 })).to.equal('cpu=500,memory=67108864,pids=48');
    expect(limitsArgument({ pids: 100 })).to.equal('pids=100');
    expect(limitsArgument(undefined)).to.equal('');
  });

  it('given a limit hit, when described, then the reason leads and the limit is named', () => {
    expect(describeLimitHit('oom', { memory: 64 * 1024 ** 2 })).to.match(/^oom: .*64 MiB/);
    expect(describeLimitHit('pids-limit', { pids: 48 })).to.match(/^pids-limit: .*48 processes/);
  });
});
