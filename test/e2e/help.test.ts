import { expect } from 'chai';
import { ExitCode, errorCodes } from '../../src/core/errors.js';
import { GraftWorld } from '../helpers/cli.js';

describe('e2e: graft --help lists exit and error codes', function () {
  this.timeout(60_000);
  let world: GraftWorld;

  before(() => {
    world = new GraftWorld();
  });
  after(() => world.dispose());

  it('given graft --help, then every exit code and every registered error code is listed with its exit code', async () => {
    const { code, stdout } = await world.run(['--help']);
    expect(code).to.equal(0);
    expect(stdout).to.include('COMMANDS');
    const exits = stdout.slice(stdout.indexOf('EXIT CODES'), stdout.indexOf('ERROR CODES'));
    for (const value of Object.values(ExitCode)) expect(exits).to.match(new RegExp(`^ +${value} +\\S`, 'm'));
    const errors = stdout.slice(stdout.indexOf('ERROR CODES'));
    for (const [name, [exit]] of Object.entries(errorCodes)) expect(errors).to.match(new RegExp(`^ +${name} +${ExitCode[exit]} `, 'm'), name);
  });

  it("given a command's --help and `graft help <command>`, then its exit codes follow its flags", async () => {
    for (const args of [
      ['run', '--help'],
      ['help', 'agent', 'create'],
    ]) {
      const { code, stdout } = await world.run(args);
      expect(code, args.join(' ')).to.equal(0);
      expect(stdout.indexOf('EXIT CODES'), args.join(' ')).to.be.greaterThan(stdout.indexOf('FLAGS'));
      expect(stdout).to.match(/^ +6 +a security check refused/m);
      expect(stdout).to.include('graft --help');
    }
  });
});
