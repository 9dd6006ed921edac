import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { ProviderError } from '../../../src/core/errors.js';
import { isSshdRunning, sshdConfig, startSshd, stopSshd, type SshdRecord } from '../../../src/core/provisioners/local/sshd-server.js';
import { fingerprintSha256, generateEd25519KeyPair } from '../../../src/core/ssh/index.js';
import { distinctLoopbackAddresses } from '../../helpers/sshd.js';

/** The first line the port answers with, or the connection error's code. */
function firstLine(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    let text = '';
    socket.on('data', (chunk) => {
      text += chunk.toString('latin1');
      if (text.includes('\n')) {
        socket.destroy();
        resolve(text.split('\r\n')[0] ?? text);
      }
    });
    socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
  });
}

describe('Local host sshd: start and stop a real OpenSSH sshd', () => {
  let root: string;
  const started: SshdRecord[] = [];
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'graft-sshd-server-'));
  });
  after(async () => {
    await Promise.all(started.map((record) => stopSshd(record)));
    rmSync(root, { recursive: true, force: true });
  });

  async function start(name: string, options: { port?: number; address?: string } = {}): Promise<SshdRecord> {
    const record = await startSshd({
      dir: join(root, name),
      address: options.address ?? distinctLoopbackAddresses(1)[0]!,
      port: options.port ?? 0,
      authorizedKeys: [generateEd25519KeyPair().publicKey],
    });
    started.push(record);
    return record;
  }

  it('Given a fresh dir, when started, then sshd answers with an SSH banner quickly and its host key file matches the returned key', async () => {
    const t0 = Date.now();
    const record = await start('fresh');
    expect(Date.now() - t0).to.be.lessThan(1000);
    expect(await firstLine(record.address, record.port)).to.match(/^SSH-2\.0-OpenSSH/);
    expect(isSshdRunning(record)).to.equal(true);
    expect(isSshdRunning({ pid: record.pid, dir: record.dir })).to.equal(true);
    expect(statSync(record.hostKeyFile).mode & 0o777).to.equal(0o600);
    const printed = execFileSync('ssh-keygen', ['-lf', record.hostKeyFile], { encoding: 'utf8' }).split(' ')[1];
    expect(fingerprintSha256(record.hostPublicKey)).to.equal(printed);
  });

  it('Given a running sshd, when stopped twice, then the first stops it (port closed) and the second is a harmless no-op', async () => {
    const record = await start('twice');
    expect(await stopSshd(record)).to.equal('stopped');
    expect(isSshdRunning(record)).to.equal(false);
    expect(await firstLine(record.address, record.port)).to.equal('ECONNREFUSED');
    expect(await stopSshd(record)).to.equal('not-running');
  });

  it('Given an sshd started by a process that then exits, when checked, then the sshd still serves (it is detached)', async () => {
    const dir = join(root, 'orphan');
    const address = distinctLoopbackAddresses(1)[0]!;
    const script = `
      import { startSshd } from ${JSON.stringify(join(process.cwd(), 'src/core/provisioners/local/sshd-server.ts'))};
      const record = await startSshd({ dir: ${JSON.stringify(dir)}, address: ${JSON.stringify(address)}, authorizedKeys: [] });
      process.stdout.write(JSON.stringify(record));`;
    const output = await new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
      let text = '';
      child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
      child.on('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`starter exited ${code}`))));
    });
    const record = JSON.parse(output) as SshdRecord;
    started.push(record);
    expect(isSshdRunning(record)).to.equal(true);
    expect(await firstLine(record.address, record.port)).to.match(/^SSH-2\.0-/);
    expect(await stopSshd(record)).to.equal('stopped');
  });

  it('Given a pid that is not our sshd, when asked to stop it, then it is left alone and reported not running', async () => {
    const record = await start('foreign');
    const bystander = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      expect(await stopSshd({ pid: bystander.pid!, configFile: record.configFile })).to.equal('not-running');
      expect(bystander.exitCode).to.equal(null);
      expect(() => process.kill(bystander.pid!, 0)).not.to.throw();
      expect(isSshdRunning({ pid: record.pid, configFile: `${record.configFile}.other` })).to.equal(false);
    } finally {
      bystander.kill('SIGKILL');
    }
  });

  it('Given an address and port already served, when a second sshd is started there, then ProviderError carries the sshd log tail', async () => {
    const first = await start('taken');
    const error = await start('taken-again', { address: first.address, port: first.port }).then(
      () => expect.fail('two sshd bound the same port'),
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(ProviderError);
    expect((error as ProviderError).message)
      .to.include(`${first.address}:${first.port}`)
      .and.match(/[Bb]ind|[Aa]ddress already in use/);
    expect(isSshdRunning(first)).to.equal(true);
  });

  it("Given extra config naming a keyword graft sets, when the config is built, then the extra line replaces graft's", () => {
    const config = sshdConfig(
      {
        dir: '/d',
        address: '127.0.0.5',
        authorizedKeys: [],
        loginUser: 'ops',
        allowUsers: ['agent1'],
        extraConfig: ['LogLevel DEBUG3', 'ClientAliveInterval 5'],
      },
      2222,
      '/d/key',
    );
    expect(config).to.include('ListenAddress 127.0.0.5:2222').and.include('AllowUsers ops agent1').and.include('ClientAliveInterval 5');
    expect(config.match(/^LogLevel .*$/gm)).to.deep.equal(['LogLevel DEBUG3']);
    expect(config).to.include('AuthorizedKeysFile /d/authorized_keys').and.include('StrictModes no').and.include('UsePAM no');
  });
});
