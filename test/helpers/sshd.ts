/**
 * Real OpenSSH sshd hosts for tests, on random loopback addresses, each with
 * its own temp dir and host key, all accepting one generated client key for a
 * dedicated login account. Every sshd is stopped by `stop()`, by the mocha
 * `after` hook of `useSshdFleet`, and on process exit, so a failing test
 * never leaves one running.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { descendantsOf } from '../../src/core/provisioners/local/process-tree.js';
import { isSshdRunning, startSshd, stopSshd, type SshdOptions, type SshdRecord } from '../../src/core/provisioners/local/sshd-server.js';
import { generateEd25519KeyPair, type SshEndpoint, type SshKeyPair } from '../../src/core/ssh/index.js';

/** The account tests log in as when running as root: a clean home and /bin/sh, not root's heavy .bashrc. */
export const TEST_ACCOUNT = 'graft-test';

/** One test host: its sshd and an endpoint that logs in to it. */
export interface TestHost {
  endpoint: SshEndpoint;
  sshd: SshdRecord;
}

export interface SshdFleet {
  hosts: TestHost[];
  endpoints: SshEndpoint[];
  /** The key every host accepts. */
  clientKey: SshKeyPair;
  loginUser: string;
  /** Restarts the host's sshd on the same address and port, with its old host key or a new one. Updates `host.sshd`, not the pinned keys. */
  restart(host: TestHost, options?: { newHostKey?: boolean }): Promise<SshdRecord>;
  /** Kills the host's per-connection sshd processes, dropping every client connection. */
  dropConnections(host: TestHost): Promise<void>;
  /** TCP connections the host's sshd has accepted so far, from its log. */
  connectionCount(host: TestHost): number;
  /** Stops every sshd and removes the temp dirs. Idempotent. */
  stop(): Promise<void>;
}

export interface SshdFleetOptions {
  /** Passed to every sshd (e.g. extra config lines). */
  sshd?: Partial<Pick<SshdOptions, 'extraConfig'>>;
}

const running = new Set<{ sshd: SshdRecord }>();
const tempDirs = new Set<string>();
let exitHookInstalled = false;

/** Starts `count` sshd hosts on distinct random loopback addresses. */
export async function startSshdFleet(count: number, options: SshdFleetOptions = {}): Promise<SshdFleet> {
  installExitHook();
  const loginUser = ensureLoginAccount();
  const clientKey = generateEd25519KeyPair('graft-test-client');
  const root = mkdtempSync(join(tmpdir(), 'graft-sshd-'));
  tempDirs.add(root);
  // The login account must traverse to its authorized_keys (see startSshd); 0711 lets it, without listing.
  chmodSync(root, 0o711);
  const addresses = distinctLoopbackAddresses(count);
  const hosts = await Promise.all(
    addresses.map(async (address, index): Promise<TestHost> => {
      const sshd = await startSshd({ dir: join(root, `host${index}`), address, port: 0, authorizedKeys: [clientKey.publicKey], loginUser, ...options.sshd });
      const host: TestHost = {
        sshd,
        endpoint: {
          label: `host${index}`,
          host: address,
          port: sshd.port,
          username: loginUser,
          hostKeys: [sshd.hostPublicKey],
          privateKey: clientKey.privateKey,
        },
      };
      running.add(host);
      return host;
    }),
  );

  let stopped = false;
  return {
    hosts,
    endpoints: hosts.map((host) => host.endpoint),
    clientKey,
    loginUser,
    async restart(host, restartOptions = {}) {
      const old = host.sshd;
      await stopSshd(old);
      host.sshd = await startSshd({
        dir: old.dir,
        address: old.address,
        port: old.port,
        authorizedKeys: [clientKey.publicKey],
        loginUser,
        hostKeyFile: restartOptions.newHostKey ? undefined : old.hostKeyFile,
        ...options.sshd,
      });
      return host.sshd;
    },
    async dropConnections(host) {
      // Every process below this one listener: per-connection [priv] and user processes both
      // hold the socket, so the connection only drops when all of them are gone.
      for (const pid of await descendantsOf(host.sshd.pid)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // Exited meanwhile.
        }
      }
    },
    connectionCount(host) {
      return readFileSync(host.sshd.logFile, 'utf8')
        .split('\n')
        .filter((line) => line.includes('Connection from ')).length;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await Promise.all(hosts.map((host) => stopSshd(host.sshd)));
      for (const host of hosts) running.delete(host);
      rmSync(root, { recursive: true, force: true });
      tempDirs.delete(root);
    },
  };
}

/**
 * Mocha hooks around a fleet: started in `before`, stopped in `after`.
 * Call at the top of a `describe`; read `.fleet` inside tests.
 */
export function useSshdFleet(count: number, options: SshdFleetOptions = {}): { readonly fleet: SshdFleet } {
  let fleet: SshdFleet | undefined;
  before(async function () {
    this.timeout(20_000);
    fleet = await startSshdFleet(count, options);
  });
  after(async () => {
    await fleet?.stop();
  });
  return {
    get fleet(): SshdFleet {
      if (!fleet) throw new Error('the sshd fleet is not started yet (use it inside a test)');
      return fleet;
    },
  };
}

/** The account to log in as: the dedicated test account when root (created once), else the current user. */
export function ensureLoginAccount(): string {
  if (process.getuid?.() !== 0) return userInfo().username;
  if (!accountExists(TEST_ACCOUNT)) {
    try {
      execFileSync('useradd', ['--create-home', '--home-dir', `/home/${TEST_ACCOUNT}`, '--shell', '/bin/sh', TEST_ACCOUNT], { stdio: 'pipe' });
    } catch (error) {
      // Another test process may have created it meanwhile.
      if (!accountExists(TEST_ACCOUNT)) throw error;
    }
  }
  // A fresh account is locked ("!"), and sshd without PAM refuses locked accounts even for keys.
  execFileSync('usermod', ['-p', '*', TEST_ACCOUNT], { stdio: 'pipe' });
  return TEST_ACCOUNT;
}

/** A loopback TCP server for timeout tests; `connections` counts accepted sockets. */
export interface FakeServer {
  host: string;
  port: number;
  readonly connections: number;
  /** Accepted sockets the client has not closed yet. */
  readonly openConnections: number;
  close(): Promise<void>;
}

/** Accepts TCP connections and never sends a byte: an SSH client must time out. */
export function startSilentServer(): Promise<FakeServer> {
  return startFakeServer(() => undefined);
}

/** Accepts and sends one byte of a never-ending banner every `intervalMs`: keeps a naive client waiting. */
export function startDripServer(intervalMs = 100): Promise<FakeServer> {
  return startFakeServer((socket) => {
    const banner = 'SSH-2.0-drip';
    let sent = 0;
    const timer = setInterval(() => {
      if (socket.destroyed) return clearInterval(timer);
      socket.write(banner[sent % banner.length] ?? '-');
      sent += 1;
    }, intervalMs);
    socket.once('close', () => clearInterval(timer));
  });
}

/**
 * A loopback TCP server that hands each accepted socket to `onSocket` (what it reads is dropped);
 * on a random loopback address, or on `bind` (e.g. the address and port of a stopped sshd).
 */
export async function startFakeServer(onSocket: (socket: Socket) => void, bind?: { host: string; port: number }): Promise<FakeServer> {
  const sockets = new Set<Socket>();
  let connections = 0;
  const server: Server = createServer((socket) => {
    connections += 1;
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.once('close', () => sockets.delete(socket));
    // Read (and drop) what the client sends, so its FIN is seen and 'close' fires.
    socket.resume();
    onSocket(socket);
  });
  const host = bind?.host ?? distinctLoopbackAddresses(1)[0];
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(bind?.port ?? 0, host, () => resolve());
  });
  const address = server.address();
  if (!host || typeof address !== 'object' || !address) throw new Error('fake server did not bind');
  return {
    host,
    port: address.port,
    get connections() {
      return connections;
    },
    get openConnections() {
      return sockets.size;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Random 127.x.y.z addresses (never 127.0.0.1), so concurrent test runs rarely share one. */
export function distinctLoopbackAddresses(count: number): string[] {
  const chosen = new Set<string>();
  while (chosen.size < count) {
    const octet = (): number => 1 + Math.floor(Math.random() * 254);
    chosen.add(`127.${octet()}.${octet()}.${octet()}`);
  }
  return [...chosen];
}

/** Whether a Unix account exists on this machine. */
export function accountExists(name: string): boolean {
  try {
    execFileSync('id', ['-u', name], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
}

/** Last line of defence: kill our sshd processes synchronously when the test process exits. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const host of running) {
      if (isSshdRunning(host.sshd)) {
        try {
          process.kill(host.sshd.pid, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
    }
    for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  });
}
