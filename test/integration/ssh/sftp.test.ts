import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { SshError } from '../../../src/core/errors.js';
import { SshPool } from '../../../src/core/ssh/index.js';
import { useSshdFleet } from '../../helpers/sshd.js';

describe('SFTP over a pooled connection against a real sshd', () => {
  const hosts = useSshdFleet(1);
  const pool = new SshPool();
  let local: string;
  let remote: string;
  before(async () => {
    local = mkdtempSync(join(tmpdir(), 'graft-sftp-'));
    const made = await pool.exec(hosts.fleet.endpoints[0]!, 'mktemp -d');
    remote = made.stdout.trim();
  });
  after(async () => {
    // The fleet's own after hook, registered first, has stopped its sshd by now; the host is
    // this machine, so the remote directory is removed here.
    if (remote) rmSync(remote, { recursive: true, force: true });
    await pool.closeAll();
    rmSync(local, { recursive: true, force: true });
  });

  it('Given a local file, when put with mode 0750 and fetched back, then the bytes are equal and the remote mode is exact', async () => {
    const endpoint = hosts.fleet.endpoints[0]!;
    const connection = await pool.connection(endpoint);
    const content = randomBytes(300_000);
    writeFileSync(join(local, 'up.bin'), content);
    await connection.putFile(join(local, 'up.bin'), `${remote}/up.bin`, 0o750);
    const mode = await connection.exec(`stat -c %a '${remote}/up.bin'`);
    expect(mode.stdout.trim()).to.equal('750');
    await connection.getFile(`${remote}/up.bin`, join(local, 'down.bin'));
    expect(readFileSync(join(local, 'down.bin')).equals(content)).to.equal(true);
  });

  it('Given bytes in memory, when put with mode 0600, then the host sees the same bytes and mode', async () => {
    const connection = await pool.connection(hosts.fleet.endpoints[0]!);
    const content = Buffer.from('#!/bin/sh\necho from-buffer\n');
    await connection.putFile(content, `${remote}/script.sh`, 0o600);
    const seen = await connection.exec(`stat -c %a '${remote}/script.sh'; cat '${remote}/script.sh'`);
    expect(seen.stdout).to.equal(`600\n${content.toString()}`);
    await connection.getFile(`${remote}/script.sh`, join(local, 'script.sh'));
    expect(statSync(join(local, 'script.sh')).size).to.equal(content.length);
  });

  it('Given a remote path that does not exist, when fetched, then SSH_CHANNEL names the path and later transfers still work', async () => {
    const connection = await pool.connection(hosts.fleet.endpoints[0]!);
    const error = await connection.getFile(`${remote}/missing`, join(local, 'missing')).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(SshError);
    expect((error as SshError).code).to.equal('SSH_CHANNEL');
    expect((error as SshError).message).to.include(`${remote}/missing`);
    await connection.putFile(Buffer.from('ok'), `${remote}/after-error`);
    expect((await connection.exec(`cat '${remote}/after-error'`)).stdout).to.equal('ok');
  });
});
