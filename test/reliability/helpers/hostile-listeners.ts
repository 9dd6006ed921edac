/**
 * TCP listeners that pose as SSH servers and never let a login finish: one that accepts and says
 * nothing, one that drips its banner a byte at a time, one that sends a proper banner and then
 * drips the key exchange. Each can take over the address and port of a host graft already knows
 * (its sshd stopped), which is what a hung or hijacked machine looks like to the next command.
 */
import type { Socket } from 'node:net';
import { startFakeServer, type FakeServer } from '../../helpers/sshd.js';

export type HostileKind = 'silent' | 'drip-banner' | 'drip-handshake';

const dripEveryMs = 200;

/** What a dripping listener sends, a byte per tick: a banner that never ends, or the start of a key exchange packet that never completes. */
const drips: Record<Exclude<HostileKind, 'silent'>, (index: number) => number> = {
  'drip-banner': (i) => 'SSH-2.0-OpenSSH_9.2p1 Debian-2'.charCodeAt(i % 30),
  // A 1,500-byte KEXINIT packet (length, padding length, message 20), then its body as zeros.
  'drip-handshake': (i) => [0, 0, 0x05, 0xdc, 0x0a, 0x14][i] ?? 0,
};

function behave(kind: HostileKind, socket: Socket): void {
  if (kind === 'silent') return;
  if (kind === 'drip-handshake') socket.write('SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n');
  let sent = 0;
  const timer = setInterval(() => {
    if (socket.destroyed) return clearInterval(timer);
    socket.write(Buffer.from([drips[kind](sent)]));
    sent += 1;
  }, dripEveryMs);
  socket.once('close', () => clearInterval(timer));
}

/** Starts a listener of the kind on a random loopback address, or on `bind`. */
export function startHostileListener(kind: HostileKind, bind?: { host: string; port: number }): Promise<FakeServer> {
  return startFakeServer((socket) => behave(kind, socket), bind);
}
