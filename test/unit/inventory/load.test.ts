import { resolve } from 'node:path';
import { expect } from 'chai';
import { ConfigError } from '../../../src/core/errors.js';
import { detectInventoryFormat, loadInventory, loadStaticHostSpecs } from '../../../src/core/inventory/load.js';
import { hermeticHostSpecEnvironment } from '../../helpers/ssh-home.js';

const FIXTURES = resolve(import.meta.dirname, '../../fixtures/inventories');
const EXAMPLES = resolve(import.meta.dirname, '../../../inventories');

const env = hermeticHostSpecEnvironment();

describe('loading inventories', () => {
  it('given an extension, when the format is picked, then it decides; without one, the content does', () => {
    expect(detectInventoryFormat('a.yml', '[web]')).to.equal('yaml');
    expect(detectInventoryFormat('a.ini', 'all:')).to.equal('ini');
    expect(detectInventoryFormat('hosts', '# c\n\nall:\n  hosts:')).to.equal('yaml');
    expect(detectInventoryFormat('hosts', '---\n')).to.equal('yaml');
    expect(detectInventoryFormat('hosts', '[web]\nweb1')).to.equal('ini');
    expect(detectInventoryFormat('hosts', 'web1:2222 ansible_user=x')).to.equal('ini');
    expect(detectInventoryFormat('hosts.txt', 'web1 motd="a: b"')).to.equal('ini');
  });

  it('given files without extension, when loaded, then the sniffed reader reads them', () => {
    expect(loadInventory(resolve(FIXTURES, 'hosts')).format).to.equal('ini');
    expect(loadInventory(resolve(FIXTURES, 'inventory')).format).to.equal('yaml');
  });

  it('given a missing file, when loaded, then a ConfigError says so and how to fix it', () => {
    try {
      loadInventory('/nonexistent/inv.yaml');
      expect.fail('expected a ConfigError');
    } catch (error) {
      expect(error).to.be.instanceOf(ConfigError);
      expect((error as ConfigError).message).to.equal('/nonexistent/inv.yaml: file not found');
      expect((error as ConfigError).actions[0]).to.include('--inventory FILE');
    }
  });

  it('given a directory, when loaded, then it is refused with a reason', () => {
    expect(() => loadInventory(FIXTURES)).to.throw(ConfigError, 'is a directory');
  });

  it('given the shipped examples, when loaded as static hosts, then they are valid and describe the same fleet', () => {
    const yaml = loadStaticHostSpecs(resolve(EXAMPLES, 'onprem.yaml'), { requirePins: true, env }).specs;
    const ini = loadStaticHostSpecs(resolve(EXAMPLES, 'onprem.ini'), { requirePins: true, env }).specs;
    const strip = (specs: typeof yaml) =>
      specs.map((s) => ({ ...s, identityFile: s.identityFile?.replace(EXAMPLES, '') })).sort((a, b) => a.name.localeCompare(b.name));
    expect(strip(ini)).to.deep.equal(strip(yaml));
    expect(yaml.length).to.be.greaterThan(3);
    expect(loadStaticHostSpecs(resolve(EXAMPLES, 'local.yaml'), { requirePins: false, env }).specs.length).to.be.greaterThan(0);
  });
});
