import { expect } from 'chai';
import { expandHostPattern, MAX_HOSTS_PER_PATTERN, splitHostPort } from '../../../src/core/inventory/host-patterns.js';

const names = (pattern: string): string[] => {
  const r = expandHostPattern(pattern);
  if (r.error !== undefined) throw new Error(r.error);
  return r.names;
};
const error = (pattern: string): string => {
  const r = expandHostPattern(pattern);
  if (r.error === undefined) throw new Error(`expected ${pattern} to be refused`);
  return r.error;
};

describe('host patterns', () => {
  it('given a zero-padded range, when expanded, then the padding is kept', () => {
    expect(names('web[01:03].example.com')).to.deep.equal(['web01.example.com', 'web02.example.com', 'web03.example.com']);
    expect(names('n[001:003]')).to.deep.equal(['n001', 'n002', 'n003']);
  });

  it('given an unpadded range, when expanded, then numbers are plain', () => {
    expect(names('web[8:11]')).to.deep.equal(['web8', 'web9', 'web10', 'web11']);
    expect(names('web[:2]')).to.deep.equal(['web0', 'web1', 'web2']);
  });

  it('given a step, when expanded, then every step-th name is produced', () => {
    expect(names('web[1:10:2]')).to.deep.equal(['web1', 'web3', 'web5', 'web7', 'web9']);
    expect(names('web[01:10:3]')).to.deep.equal(['web01', 'web04', 'web07', 'web10']);
    expect(names('db-[a:f:2]')).to.deep.equal(['db-a', 'db-c', 'db-e']);
  });

  it('given letters and several ranges, when expanded, then all combinations come in order', () => {
    expect(names('db-[a:c]')).to.deep.equal(['db-a', 'db-b', 'db-c']);
    expect(names('r[1:2]-[x:y]')).to.deep.equal(['r1-x', 'r1-y', 'r2-x', 'r2-y']);
  });

  it('given a port after the name or the range, when split, then the port is separate', () => {
    expect(expandHostPattern('db[1:2]:2222')).to.deep.equal({ names: ['db1', 'db2'], port: 2222 });
    expect(splitHostPort('host.example.com:2200')).to.deep.equal({ host: 'host.example.com', port: 2200 });
    expect(splitHostPort('[2001:db8::1]:2200')).to.deep.equal({ host: '2001:db8::1', port: 2200 });
    expect(splitHostPort('2001:db8::1')).to.deep.equal({ host: '2001:db8::1', port: undefined });
  });

  it('given backwards, mixed or unequal-width ranges, when expanded, then each is refused with a reason', () => {
    expect(error('web[10:01]')).to.equal('host range [10:01] in "web[10:01]": begin 10 is greater than end 01, so it names no host');
    expect(error('web[a:10]')).to.include('bounds must be both numbers or both single letters, got "a" and "10"');
    expect(error('web[01:100]')).to.include('same width');
    expect(error('web[f:a]')).to.include('comes after');
    expect(error('web[1:3:0]')).to.include('step "0" must be a whole number ≥ 1');
    expect(error('web[1:2:3:4]')).to.include('begin:end or begin:end:step');
    expect(error('web[1:]')).to.include('no end value');
    expect(error('web[1:3')).to.include('no closing "]"');
  });

  it('given a runaway range, when expanded, then it is refused instead of exhausting memory', () => {
    expect(error('web[1:100000000]')).to.include(`more than ${MAX_HOSTS_PER_PATTERN}`);
  });
});
