import { expect } from 'chai';
import { UsageError } from '../../../src/core/errors.js';
import { parseHostPattern, selectHosts, type SelectableHost } from '../../../src/core/inventory/selector.js';

const fleet: SelectableHost[] = [
  { name: 'web01.example.com', groups: ['web', 'prod'], labels: ['gpu'] },
  { name: 'web02.example.com', groups: ['web', 'staging'], labels: [] },
  { name: 'db01', groups: ['db', 'prod'], labels: ['ssd'] },
  { name: 'db02', groups: ['db', 'staging'], labels: ['ssd', 'gpu'] },
  { name: 'bastion', groups: ['ungrouped'], labels: [] },
];

const usageError = (pattern: string): UsageError => {
  try {
    selectHosts(pattern, fleet);
  } catch (error) {
    expect(error).to.be.instanceOf(UsageError);
    return error as UsageError;
  }
  throw new Error(`expected "${pattern}" to be refused`);
};

describe('host selectors', () => {
  it('given all or *, when selected, then every host comes back in list order', () => {
    const everyone = fleet.map((h) => h.name);
    expect(selectHosts('all', fleet)).to.deep.equal(everyone);
    expect(selectHosts('*', fleet)).to.deep.equal(everyone);
  });

  it('given a group, a host or a label, when selected, then the term matches any of them', () => {
    expect(selectHosts('db', fleet)).to.deep.equal(['db01', 'db02']);
    expect(selectHosts('bastion', fleet)).to.deep.equal(['bastion']);
    expect(selectHosts('gpu', fleet)).to.deep.equal(['web01.example.com', 'db02']);
  });

  it('given globs, when selected, then they match names, groups and labels like fnmatch', () => {
    expect(selectHosts('web*', fleet)).to.deep.equal(['web01.example.com', 'web02.example.com']);
    expect(selectHosts('*.example.com', fleet)).to.deep.equal(['web01.example.com', 'web02.example.com']);
    expect(selectHosts('db0?', fleet)).to.deep.equal(['db01', 'db02']);
    expect(selectHosts('stag*', fleet)).to.deep.equal(['web02.example.com', 'db02']);
    expect(selectHosts('~^db0[12]$', fleet)).to.deep.equal(['db01', 'db02']);
  });

  it('given unions with : or ,, when selected, then hosts of every term come back once', () => {
    expect(selectHosts('web:db', fleet)).to.deep.equal(['web01.example.com', 'web02.example.com', 'db01', 'db02']);
    expect(selectHosts('bastion,db01,db', fleet)).to.deep.equal(['db01', 'db02', 'bastion']);
  });

  it('given an intersection, when selected, then only hosts in both remain', () => {
    expect(selectHosts('web:&prod', fleet)).to.deep.equal(['web01.example.com']);
    expect(selectHosts('prod:&gpu', fleet)).to.deep.equal(['web01.example.com']);
  });

  it('given an exclusion, when selected, then those hosts are removed, and a lone exclusion starts from all', () => {
    expect(selectHosts('all:!db', fleet)).to.deep.equal(['web01.example.com', 'web02.example.com', 'bastion']);
    expect(selectHosts('!staging', fleet)).to.deep.equal(['web01.example.com', 'db01', 'bastion']);
  });

  it("given operators in any order, when selected, then Ansible's order applies: unions, intersections, exclusions", () => {
    // Written left to right this would be ((web ∩ gpu) \ db01) ∪ db = db01, db02, web01; Ansible gives (web ∪ db) ∩ gpu \ db01.
    expect(selectHosts('web:&gpu:!db01:db', fleet)).to.deep.equal(['web01.example.com', 'db02']);
  });

  it('given a subscript, when selected, then it slices the matches of its term, end included', () => {
    expect(selectHosts('db[0]', fleet)).to.deep.equal(['db01']);
    expect(selectHosts('web[0:1]', fleet)).to.deep.equal(['web01.example.com', 'web02.example.com']);
    expect(parseHostPattern('web[0:1]:&prod')).to.deep.equal([
      { op: 'union', expr: 'web[0:1]' },
      { op: 'intersection', expr: 'prod' },
    ]);
  });

  it('given a term that matches nothing, when selected, then a UsageError names it and lists what is known', () => {
    const error = usageError('web:!prdo');
    expect(error.message).to.equal('"!prdo" in host pattern "web:!prdo" matches no host');
    expect(error.actions).to.deep.equal([
      'known groups: db, prod, staging, ungrouped, web',
      'known labels: gpu, ssd',
      'known hosts: web01.example.com, web02.example.com, db01, db02, bastion',
    ]);
  });

  it('given terms whose combination is empty, when selected, then a UsageError says the pattern selects nothing', () => {
    expect(usageError('bastion:&prod').message).to.equal('host pattern "bastion:&prod" selects no host');
    expect(usageError('  ').message).to.include('empty host pattern');
  });

  it('given any host list, such as session hosts of another provisioner, when selected, then it works the same', () => {
    const session = [
      { name: 'local-1', groups: [], labels: ['fast'] },
      { name: 'local-2', groups: [], labels: [] },
    ];
    expect(selectHosts('fast', session)).to.deep.equal(['local-1']);
  });
});
