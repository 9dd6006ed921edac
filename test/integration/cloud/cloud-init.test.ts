import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { cloudInitDir, renderUserData } from '../../../src/core/provisioners/cloud/user-data.js';
import { hostKeysFromConsole } from '../../../src/core/provisioners/cloud/console-host-keys.js';
import { generateEd25519KeyPair } from '../../../src/core/ssh/index.js';
import { accountExists } from '../../helpers/sshd.js';
import { VmBoot } from '../../fakes/vm-boot.js';

/** cloud-init itself is not installable here: the document is checked as YAML and cloud-config shape, the scripts with `sh -n`, and then run for real. */
describe('cloud-init templates (provisioners/cloud-init)', function () {
  this.timeout(30_000);
  const session = `t${Math.random().toString(36).slice(2, 9).padEnd(7, '0')}`;
  const admin = generateEd25519KeyPair(`graft-admin@${session}`);
  // From each test's start: the boot test checks the switch is armed for about 90 minutes.
  let expires: Date;
  const userData = () => renderUserData({ session, host: 'ec2-01', adminUser: `graft-${session}`, adminPublicKey: admin.publicKey, expires });
  let boot: VmBoot | undefined;
  beforeEach(() => {
    expires = new Date(Date.now() + 90 * 60_000);
  });
  afterEach(async () => {
    await boot?.stop();
    boot = undefined;
  });

  it('given a rendered user-data, then it is a #cloud-config YAML document of packages (nftables), write_files and runcmd, with the values in place and the scripts whole', () => {
    const text = userData();
    expect(text.split('\n')[0]).to.equal('#cloud-config');
    const document = parse(text) as { packages: string[]; write_files: { path: string; content: string; permissions: string }[]; runcmd: string[][] };
    expect(Object.keys(document)).to.deep.equal(['packages', 'write_files', 'runcmd']);
    expect(document.packages).to.deep.equal(['nftables']);
    const files = Object.fromEntries(document.write_files.map((f) => [f.path, f]));
    expect(files['/etc/graft/boot.env']!.content)
      .to.include(`GRAFT_ADMIN_KEY='${admin.publicKey}'`)
      .and.include(`GRAFT_EXPIRES_AT=${Math.floor(expires.getTime() / 1000)}`);
    expect(files['/usr/local/lib/graft/graft-boot.sh']!.content).to.equal(readFileSync(join(cloudInitDir, 'graft-boot.sh'), 'utf8'));
    expect(files['/usr/local/lib/graft/graft-deadman.sh']!.content).to.equal(readFileSync(join(cloudInitDir, 'graft-deadman.sh'), 'utf8'));
    expect(document.runcmd).to.deep.equal([['sh', '/usr/local/lib/graft/graft-boot.sh', '/etc/graft/boot.env']]);
    expect(text).not.to.match(/@GRAFT_|@file:/);
    // EC2 takes at most 16 KiB of user-data.
    expect(Buffer.byteLength(text)).to.be.lessThan(16 * 1024);
  });

  it('given the scripts, then sh -n accepts them', () => {
    for (const script of ['graft-boot.sh', 'graft-deadman.sh']) execFileSync('sh', ['-n', join(cloudInitDir, script)]);
  });

  it('given a value that could escape its quotes, when rendering, then graft refuses to write it', () => {
    expect(() =>
      renderUserData({ session, host: 'ec2-01', adminUser: `graft-${session}`, adminPublicKey: `${admin.publicKey}'; reboot; '`, expires }),
    ).to.throw(/refusing to write admin key/);
    expect(() => renderUserData({ session, host: 'ec2-01\nGRAFT_X=1', adminUser: `graft-${session}`, adminPublicKey: admin.publicKey, expires })).to.throw(
      /refusing to write host/,
    );
  });

  it("given the boot script run as root on a local host, then it makes the admin account with the key and sudo, arms the dead-man's switch, and prints keys graft parses", async () => {
    boot = new VmBoot({ running: async () => [] });
    const vm = await boot.boot({ id: 'i-cloudinit', userData: userData() });
    expect(accountExists(`graft-${session}`)).to.equal(true);
    const home = execFileSync('getent', ['passwd', `graft-${session}`], { encoding: 'utf8' }).split(':')[5]!;
    expect(readFileSync(join(home, '.ssh/authorized_keys'), 'utf8').trim()).to.equal(admin.publicKey);
    expect(readFileSync(`/etc/sudoers.d/graft-${session}`, 'utf8')).to.equal(`graft-${session} ALL=(ALL) NOPASSWD:ALL\n`);
    expect(hostKeysFromConsole(vm.console)).to.deep.equal([vm.sshd.hostPublicKey.split(' ').slice(0, 2).join(' ')]);
    // 90 minutes away: armed for +90 (rounded up, never early), through the stub, never the real shutdown.
    expect(boot.shutdownCalls()).to.have.length(1);
    expect(boot.shutdownCalls()[0]).to.match(/^-P \+(90|91) graft: this session ends in/);
    expect(readFileSync(join(home, '.graft/expires-at'), 'utf8').trim()).to.equal(String(Math.floor(expires.getTime() / 1000)));
  });

  it('given an armed switch, when graft-deadman is re-armed later or past its time, then it reschedules, and powers off at once when the time has passed', async () => {
    boot = new VmBoot({ running: async () => [] });
    await boot.boot({ id: 'i-deadman', userData: userData() });
    const home = execFileSync('getent', ['passwd', `graft-${session}`], { encoding: 'utf8' }).split(':')[5]!;
    const deadman = join(home, '.graft/bin/graft-deadman');
    const later = Math.floor(Date.now() / 1000) + 4 * 3600;
    execFileSync(deadman, ['arm', String(later)]);
    expect(boot.shutdownCalls().at(-1)).to.match(/^-P \+240 /);
    // The per-boot hook re-arms from the recorded time.
    execFileSync('sh', [join(boot.vmRoot('i-deadman'), 'var/lib/cloud/scripts/per-boot', 'graft-deadman')]);
    expect(boot.shutdownCalls().at(-1)).to.match(/^-P \+240 /);
    execFileSync(deadman, ['arm', String(Math.floor(Date.now() / 1000) - 5)]);
    expect(boot.shutdownCalls().at(-1)).to.match(/^-P now /);
    expect(() => execFileSync(deadman, ['arm', '12;reboot'], { stdio: 'pipe' })).to.throw();
  });
});

describe('host keys from console output', () => {
  const ed = generateEd25519KeyPair('x').publicKey.split(' ').slice(0, 2).join(' ');
  const other = generateEd25519KeyPair('y').publicKey.split(' ').slice(0, 2).join(' ');

  it('given EC2-style console text with prefixes, fingerprints and CR line ends, then only the last complete key block counts', () => {
    const text = [
      '[   10.1] cloud-init[601]: Generating public/private ed25519 key pair.',
      'ec2: -----BEGIN SSH HOST KEY FINGERPRINTS-----',
      'ec2: 256 SHA256:abc root@ip (ED25519)',
      'ec2: -----END SSH HOST KEY FINGERPRINTS-----',
      '-----BEGIN SSH HOST KEY KEYS-----',
      `${other} root@old`,
      '-----END SSH HOST KEY KEYS-----',
      '[   42.0] reboot',
      '-----BEGIN SSH HOST KEY KEYS-----\r',
      `ec2: ${ed} root@ip-10-0-0-1\r`,
      'ssh-ed25519 AAAAnotbase64!! garbled',
      '-----END SSH HOST KEY KEYS-----\r',
      '-----BEGIN SSH HOST KEY KEYS-----',
      `${other} an unfinished block`,
    ].join('\n');
    expect(hostKeysFromConsole(text)).to.deep.equal([ed]);
  });

  it('given no complete block yet, then no key (the VM is still booting)', () => {
    expect(hostKeysFromConsole('')).to.deep.equal([]);
    expect(hostKeysFromConsole(`-----BEGIN SSH HOST KEY KEYS-----\n${ed}\n`)).to.deep.equal([]);
  });
});

describe('user-data template directory', () => {
  it('given a template naming an unknown placeholder, then rendering fails as a bug, not silently', () => {
    const dir = mkdtempSync(join(tmpdir(), 'graft-ci-'));
    try {
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'user-data.yaml'), '#cloud-config\nruncmd:\n  - [echo, "@GRAFT_NOPE@"]\n');
      expect(() =>
        renderUserData(
          { session: 'abcdefgh', host: 'ec2-01', adminUser: 'graft-abcdefgh', adminPublicKey: generateEd25519KeyPair('k').publicKey, expires: new Date() },
          dir,
        ),
      ).to.throw(/unknown placeholder @GRAFT_NOPE@/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
