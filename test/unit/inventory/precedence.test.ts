import { expect } from 'chai';
import { readIniInventory } from '../../../src/core/inventory/ini-inventory.js';
import { readYamlInventory } from '../../../src/core/inventory/yaml-inventory.js';

describe('variable precedence', () => {
  const yaml = `
all:
  vars: {v: all, w: all, p: all}
  children:
    parent:
      vars: {v: parent, w: parent}
      children:
        child:
          vars: {v: child}
          hosts:
            h1:
            h2: {v: host}
    zeta:
      vars: {w: zeta}
      hosts: {h1: {hv: from-zeta}}
    alpha:
      vars: {w: alpha}
      hosts: {h1: {hv: from-alpha}}
    prio:
      vars: {w: prio, ansible_group_priority: 0}
      hosts: {h2: }
`;
  const { inventory, problems } = readYamlInventory(yaml, 'prec.yaml');

  it('given nested groups, when merged, then a child group overrides its parent and all is lowest', () => {
    expect(problems).to.deep.equal([]);
    expect(inventory.hosts.get('h1')!.vars.v).to.equal('child');
    expect(inventory.hosts.get('h1')!.vars.p).to.equal('all');
  });

  it('given a host var, when merged, then it overrides every group', () => {
    expect(inventory.hosts.get('h2')!.vars.v).to.equal('host');
    expect(inventory.hosts.get('h2')!.varSources.v).to.equal('all.children.parent.children.child.hosts.h2.v');
  });

  it('given sibling groups at one depth, when merged, then the later name wins, as in Ansible', () => {
    // h1 is in alpha, parent, zeta (depth 1) and child (depth 2): alpha < parent < zeta by name.
    expect(inventory.hosts.get('h1')!.vars.w).to.equal('zeta');
    expect(inventory.hosts.get('h1')!.varSources.w).to.equal('all.children.zeta.vars.w');
  });

  it('given ansible_group_priority, when merged, then it sorts before the name and is not kept as a var', () => {
    // prio (priority 0) sorts before parent (priority 1) at depth 1, so parent's w wins.
    expect(inventory.hosts.get('h2')!.vars.w).to.equal('parent');
    expect(inventory.hosts.get('h2')!.vars).to.not.have.property('ansible_group_priority');
  });

  it('given the same host in two groups with host vars, when merged, then the last one written wins', () => {
    expect(inventory.hosts.get('h1')!.vars.hv).to.equal('from-alpha');
  });

  it('given transitive membership, when listed, then every group including all is named', () => {
    expect(inventory.hosts.get('h1')!.groups).to.deep.equal(['all', 'alpha', 'child', 'parent', 'zeta']);
  });

  it('given an INI file, when merged, then the same rules apply and sources name the line', () => {
    const ini = readIniInventory(['[web]', 'w1 color=host', 'w2', '[web:vars]', 'color=web', '[all:vars]', 'color=all', 'owner=me'].join('\n'), 'h.ini');
    expect(ini.problems).to.deep.equal([]);
    expect(ini.inventory.hosts.get('w1')!.vars).to.deep.equal({ color: 'host', owner: 'me' });
    expect(ini.inventory.hosts.get('w2')!.vars.color).to.equal('web');
    expect(ini.inventory.hosts.get('w2')!.varSources.color).to.equal('line 5: [web:vars] color');
    expect(ini.inventory.hosts.get('w1')!.varSources.color).to.equal('line 2: [web] w1: color');
  });

  it('given hosts outside any group, when built, then they are in ungrouped, and leave it once grouped', () => {
    const ini = readIniInventory(['lone', 'both', '[g]', 'both'].join('\n'), 'u.ini');
    expect(ini.inventory.groups.ungrouped!.hosts).to.deep.equal(['lone']);
    expect(ini.inventory.hosts.get('both')!.groups).to.deep.equal(['all', 'g']);
  });
});
