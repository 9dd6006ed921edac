import { expect } from 'chai';
import { ConfigError, type ConfigProblem } from '../../../src/core/errors.js';
import { readInventoryText } from '../../../src/core/inventory/load.js';

const problemsOf = (text: string, file: string): string[] => readInventoryText(text, file).problems.map((p: ConfigProblem) => new ConfigError([p]).message);

describe('inventory errors', () => {
  it('given YAML syntax errors, when read, then each is reported with line and column', () => {
    expect(problemsOf('all:\n  hosts:\n    a: [1\n', 'bad.yaml')[0]).to.match(/^bad\.yaml: line \d+, column \d+: YAML syntax: /);
  });

  it('given duplicate keys, when read, then they are refused (Ansible only warns and keeps the last)', () => {
    expect(problemsOf('all:\n  hosts:\n    h1:\n      x: 1\n      x: 2\n', 'dup.yaml')).to.deep.equal([
      'dup.yaml: line 5, column 7: YAML syntax: Map keys must be unique',
    ]);
  });

  it('given an alias bomb, when read, then it fails fast on the alias bound', () => {
    const bomb = [
      'a: &a [x, x, x, x, x, x, x, x, x, x]',
      'b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]',
      'c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]',
      'd: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]',
    ].join('\n');
    const [message] = problemsOf(bomb, 'bomb.yaml');
    expect(message).to.match(/^bomb\.yaml: YAML aliases expand too far \(more than 100\)/);
  });

  it('given wrong types in several places, when read, then every problem of the file is reported at once', () => {
    const yaml = [
      'all:',
      '  children:',
      '    web:',
      '      hosts:',
      '        - web01',
      '    db:',
      '      host:',
      '        db01:',
      '      vars: [a]',
      '    cache: [c1]',
      '    app:',
      '      hosts:',
      '        app1: just-a-string',
      '        web[10:01]:',
      '        web[a:10]:',
      '      children:',
      '        app:',
    ].join('\n');
    expect(problemsOf(yaml, 'inv.yaml')).to.deep.equal([
      'inv.yaml: all.children.web.hosts: hosts of group web must be a mapping, got a list (write "name:" on its own line for each entry instead of "- name")',
      'inv.yaml: all.children.db.host: unexpected key "host" in group db: a group holds only hosts, children and vars',
      'inv.yaml: all.children.db.vars: vars of group db must be a mapping, got a list',
      'inv.yaml: all.children.cache: group cache must be a mapping with hosts, children or vars, got a list',
      'inv.yaml: all.children.app.hosts.app1: host app1 must map to its variables (or nothing), got string "just-a-string"',
      'inv.yaml: all.children.app.hosts.web[10:01]: host range [10:01] in "web[10:01]": begin 10 is greater than end 01, so it names no host',
      'inv.yaml: all.children.app.hosts.web[a:10]: host range [a:10] in "web[a:10]": bounds must be both numbers or both single letters, got "a" and "10"',
      'inv.yaml: all.children.app.children.app: group app cannot have app as a child: it would be its own ancestor (app → app)',
    ]);
  });

  it('given groups that are each other’s ancestors, when read, then the cycle is reported with its path', () => {
    const ini = ['[a:children]', 'b', '[b:children]', 'c', '[c:children]', 'a', '[a]', 'h1', '[c]'].join('\n');
    expect(problemsOf(ini, 'cyc.ini')).to.deep.equal([
      'cyc.ini: line 6: [c:children] a: group c cannot have a as a child: it would be its own ancestor (c → a → b → c)',
    ]);
  });

  it('given malformed INI, when read, then every bad line is reported with its number', () => {
    const ini = [
      '[web]',
      'web01 graft_slots',
      'web[10:01]',
      'web02 motd="unclosed',
      'web03:',
      '[web:hosts:extra]',
      '[web:groups]',
      'ignored after a bad section',
      '[db:vars]',
      'no-equals-sign',
      '[web:children]',
      'missing',
      '[ok :vars]',
    ].join('\n');
    expect(problemsOf(ini, 'bad.ini')).to.deep.equal([
      'bad.ini: line 2: [web] web01: expected key=value after the host name, got "graft_slots"',
      'bad.ini: line 3: [web] web[10:01]: host range [10:01] in "web[10:01]": begin 10 is greater than end 01, so it names no host',
      'bad.ini: line 4: [web]: cannot split host line "web02 motd="unclosed": No closing quotation',
      'bad.ini: line 5: [web] web03:: a host name cannot end with ":", which is reserved for a port (host:2222)',
      'bad.ini: line 6: [web:hosts:extra]: invalid section header: write [group], [group:vars] or [group:children], with no spaces',
      'bad.ini: line 7: [web:groups]: section has unknown type "groups": use [web], [web:vars] or [web:children]',
      'bad.ini: line 10: [db:vars]: expected key=value, got "no-equals-sign"',
      'bad.ini: line 13: [ok :vars]: invalid section header: write [group], [group:vars] or [group:children], with no spaces',
      'bad.ini: line 9: group db is not defined: [db:vars] is given for it, but there is no [db] or [db:children] section',
      'bad.ini: line 12: group missing is not defined: [web:children] names it, but there is no [missing] or [missing:children] section',
    ]);
  });

  it('given an empty or comment-only file, when read, then it is a valid inventory with no hosts, as for Ansible', () => {
    for (const [text, file] of [
      ['', 'e.yaml'],
      ['# nothing\n', 'c.yml'],
      ['', 'e.ini'],
      ['; nothing\n', 'c.ini'],
    ] as const) {
      const { inventory, problems } = readInventoryText(text, file);
      expect(problems, file).to.deep.equal([]);
      expect(inventory.hosts.size, file).to.equal(0);
      expect(Object.keys(inventory.groups).sort(), file).to.deep.equal(['all', 'ungrouped']);
    }
  });

  it('given a YAML list or a plugin config at the top, when read, then it says what is wrong', () => {
    expect(problemsOf('- a\n- b\n', 'l.yaml')).to.deep.equal(['l.yaml: the top level must be a mapping of group names (usually just "all"), got a list']);
    expect(problemsOf('plugin: amazon.aws.aws_ec2\n', 'p.yaml')[0]).to.match(/^p\.yaml: plugin: this is an inventory plugin configuration/);
    expect(problemsOf('all:\n  hosts:\n    10: {}\n', 'n.yaml')).to.deep.equal(['n.yaml: all.hosts: key 10 must be a string: enclose numbers in quotes']);
  });
});
