import type { Duplex } from 'node:stream';
import { expect } from 'chai';
import { SshPool, type ForwardedConnectionInfo } from '../../../src/core/ssh/index.js';
import { useSshdFleet } from '../../helpers/sshd.js';

describe('Remote port forwarding against a real sshd', () => {
  const hosts = useSshdFleet(1);
  const pool = new SshPool();
  after(() => pool.closeAll());

  it('Given a remote forward on a free port, when a process on the host connects and writes, then the local handler receives the bytes and can answer', async () => {
    const connection = await pool.connection(hosts.fleet.endpoints[0]!);
    let delivered!: (got: { data: string; info: ForwardedConnectionInfo }) => void;
    const received = new Promise<{ data: string; info: ForwardedConnectionInfo }>((resolve) => (delivered = resolve));
    const answerPing = (stream: Duplex, info: ForwardedConnectionInfo): void => {
      let data = '';
      stream.on('data', (chunk: Buffer) => {
        data += chunk.toString();
        if (!data.endsWith('\n')) return;
        stream.end('pong\n');
        delivered({ data, info });
      });
    };
    const forward = await connection.forwardRemote('127.0.0.1', 0, answerPing);
    expect(forward.port).to.be.greaterThan(0);

    const onHost = await connection.exec(`bash -c 'exec 3<>/dev/tcp/127.0.0.1/${forward.port}; printf "ping from host\\n" >&3; cat <&3'`, { timeoutMs: 5000 });
    const { data, info } = await received;
    expect(data).to.equal('ping from host\n');
    expect(info.destinationPort).to.equal(forward.port);
    expect(onHost.stdout).to.equal('pong\n');

    await forward.close();
    const afterClose = await connection.exec(`bash -c 'exec 3<>/dev/tcp/127.0.0.1/${forward.port}' 2>/dev/null; echo $?`);
    expect(afterClose.stdout.trim(), 'the host still listens after close()').not.to.equal('0');
    await forward.close();
  });
});
