import { expect } from 'chai';
import { parseHostFacts } from '../../../src/core/hosts/host-facts.js';
import { attemptLimits, defaultLimits, describeLimitHit, limitsArgument, parseMemory } from '../../../src/core/hosts/limits.js';

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

  it("given the host tool's answer, when read, then the mechanism and size come back, and what cannot be read is left out", () => {
    expect(parseHostFacts('cgroup-v1 cores=2 memory=25769803776 privacy=hidepid\n')).to.deep.equal({
      mechanism: 'cgroup-v1',
      cores: 2,
      memory: 25769803776,
      privacy: 'hidepid',
    });
    expect(parseHostFacts('cgroup-v2')).to.deep.equal({ mechanism: 'cgroup-v2' });
    expect(parseHostFacts('none cores=x memory=-1 privacy=maybe')).to.deep.equal({ mechanism: 'none' });
  });

  it("given a host's size and slots, then each agent's default memory is 90% of it over the slots (at least 256 MiB) with 4,096 processes, and none where limits cannot be enforced", () => {
    const host = (slots: number, memory: number, limits = 'cgroup-v1') => ({ slots, meta: { limits, memory: String(memory) } });
    expect(defaultLimits(host(4, 16 * 1024 ** 3))).to.deep.equal({ pids: 4096, memory: Math.floor((16 * 1024 * 0.9) / 4) * 1024 ** 2 });
    expect(defaultLimits(host(64, 1024 ** 3))).to.deep.equal({ pids: 4096, memory: 256 * 1024 ** 2 });
    expect(defaultLimits(host(4, 16 * 1024 ** 3, 'cgroup-v2'))).to.deep.equal({});
    expect(defaultLimits({ slots: 1, meta: {} })).to.deep.equal({});
    // Local hosts are one machine: its memory is shared over all their slots.
    expect(defaultLimits({ slots: 4, meta: { limits: 'cgroup-v1', memory: String(16 * 1024 ** 3), machineSlots: '8' } }).memory).to.equal(
      Math.floor((16 * 1024 * 0.9) / 8) * 1024 ** 2,
    );
  });

  it("given defaults, an agent's limits and a task's, then the task's keys replace the agent's, which replace the defaults", () => {
    const host = { slots: 1, meta: { limits: 'cgroup-v1', memory: String(10 * 1024 ** 3) } };
    expect(attemptLimits(host, { memory: 1024 ** 3, cpu: 1 }, { cpu: 2 })).to.deep.equal({ pids: 4096, memory: 1024 ** 3, cpu: 2 });
    expect(attemptLimits({ slots: 1, meta: {} }, undefined, undefined)).to.equal(undefined);
  });
});
