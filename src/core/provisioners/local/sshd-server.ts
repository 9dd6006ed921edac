/**
 * One real OpenSSH sshd serving a "local host": a loopback address, a
 * directory graft owns, a host key graft generated (so it is pinned before
 * anyone connects). The daemon is detached: `graft up` exits, the host stays.
 */
import { execFileSync, spawn } from 'node:child_process';
import { accessSync, closeSync, constants as fsConstants, mkdirSync, openSync, readFileSync } from 'node:fs';
import { chmod, chown, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { ProviderError } from '../../errors.js';
import { generateEd25519KeyPair, publicKeyLineOf, writeKeyPairFiles } from '../../ssh/index.js';
import { answersWithBanner, pickFreePort } from './loopback-probe.js';
import { descendantsOf, listProcesses, terminate } from './process-tree.js';

const SSHD_CANDIDATES = ['/usr/sbin/sshd', '/usr/local/sbin/sshd'];
const BANNER_TIMEOUT_MS = 5000;
const BANNER_POLL_MS = 10;
const FREE_PORT_ATTEMPTS = 5;

export interface SshdOptions {
  /** Directory this sshd owns (created 0700 if missing): config, host key, authorized_keys, pid and log files. */
  dir: string;
  /** Loopback address to listen on, e.g. 127.0.0.2 (any 127.0.0.0/8 address works on Linux). */
  address: string;
  /** 0 (default) picks a free port. */
  port?: number;
  /** Public key lines written to `<dir>/authorized_keys`. */
  authorizedKeys: string[];
  /** The account graft logs in as; run as non-root, sshd can only log in as the invoking user. Put in AllowUsers. */
  loginUser?: string;
  /** More accounts allowed to log in (AllowUsers), e.g. per-agent accounts. AllowUsers is only set when some account is named. */
  allowUsers?: string[];
  /**
   * AuthorizedKeysFile entries; default `<dir>/authorized_keys`. Per-agent accounts later add
   * `%h/.ssh/authorized_keys`.
   */
  authorizedKeysFiles?: string[];
  /** An existing host private key (e.g. to restart with the same identity); default: a new ed25519 key in dir. */
  hostKeyFile?: string;
  /** Extra sshd_config lines, appended; one naming a keyword graft sets replaces graft's line (e.g. `LogLevel DEBUG3`). */
  extraConfig?: string[];
}

/** A running sshd, as returned by startSshd and recorded in the host's `meta`. */
export interface SshdRecord {
  pid: number;
  address: string;
  port: number;
  /** The host key, pinned by whoever connects: `ssh-ed25519 AAAA...`. */
  hostPublicKey: string;
  hostKeyFile: string;
  configFile: string;
  logFile: string;
  dir: string;
}

/**
 * What identifies our sshd process: its pid and the config it was started with, given as the
 * config file or the sshd's directory (pid reuse safety: a pid alone proves nothing).
 */
export type SshdHandle = { pid: number } & ({ configFile: string } | { dir: string });

/** Starts sshd and resolves once it answers with an SSH banner. Throws ProviderError otherwise. */
export async function startSshd(options: SshdOptions): Promise<SshdRecord> {
  const sshd = findSshd();
  await mkdir(options.dir, { recursive: true, mode: 0o700 });
  await chmod(options.dir, 0o700);
  if (process.getuid?.() === 0) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 }); // privilege separation dir
  const hostKeyFile = options.hostKeyFile ?? join(options.dir, 'ssh_host_ed25519_key');
  let hostPublicKey: string;
  if (options.hostKeyFile) {
    hostPublicKey = publicKeyLineOf(await readFile(options.hostKeyFile, 'utf8'), undefined, '');
  } else {
    const pair = generateEd25519KeyPair(`graft-host@${options.address}`);
    await writeKeyPairFiles(hostKeyFile, pair);
    hostPublicKey = pair.publicKey;
  }
  await writeAuthorizedKeys(options);

  const attempts = options.port ? 1 : FREE_PORT_ATTEMPTS;
  let lastError: ProviderError | undefined;
  for (let attempt = 0; attempt < attempts; attempt += 1) {
    const port = options.port || (await pickFreePort(options.address));
    try {
      return { ...(await launch(sshd, options, port, hostKeyFile)), hostPublicKey };
    } catch (error) {
      // Another process may have taken the port between our probe and sshd's bind: try another.
      if (!(error instanceof ProviderError) || error.code !== 'SSHD_EXITED') throw error;
      lastError = error;
    }
  }
  throw lastError ?? new ProviderError('sshd did not start');
}

/**
 * Stops our sshd and the sessions it serves: SIGTERM, then SIGKILL after ~2 s, and resolves
 * only once every one of those processes is seen gone. Idempotent: a process that is gone, or
 * whose pid now belongs to another program, counts as stopped and is never signalled.
 * Throws ProviderError SSHD_STOP_FAILED when a process outlives SIGKILL.
 */
export async function stopSshd(handle: SshdHandle): Promise<'stopped' | 'not-running'> {
  if (!isSshdRunning(handle)) return 'not-running';
  // Connection processes (and the commands they run) outlive a SIGTERM'ed listener: stop them too.
  const tree = [handle.pid, ...(await descendantsOf(handle.pid))];
  const outcomes = await Promise.all(tree.map(async (pid) => ({ pid, gone: await terminate(pid) })));
  const survivors = outcomes.filter((outcome) => !outcome.gone).map((outcome) => outcome.pid);
  if (survivors.length > 0) {
    throw new ProviderError(`sshd ${handle.pid} (${sshdConfigFile(handle)}): process(es) ${survivors.join(', ')} still run after SIGKILL`, {
      code: 'SSHD_STOP_FAILED',
      actions: [`Look at them: ps -o pid,stat,user,cmd -p ${survivors.join(',')}`],
    });
  }
  return 'stopped';
}

/** A running sshd found by looking, not from memory. */
export interface FoundSshd {
  pid: number;
  configFile: string;
  /** The directory under `parentDir` whose sshd_config it runs with. */
  dirName: string;
}

/**
 * Every sshd process started with a config file at `<parentDir>/<name>/sshd_config`, found
 * by scanning /proc. This is how the hosts of a session are found even when their
 * directories or pid files are gone: the session directory is their tag.
 */
export async function findSshdProcesses(parentDir: string): Promise<FoundSshd[]> {
  const needle = `-f ${parentDir}/`;
  const found: FoundSshd[] = [];
  // comm is "sshd" (or "sshd-session" on OpenSSH >= 9.8) whatever title sshd set.
  for (const proc of (await listProcesses()).filter((p) => p.name.startsWith('sshd') && p.cmdline.includes(needle))) {
    const rest = proc.cmdline.slice(proc.cmdline.indexOf(needle) + needle.length);
    const slash = rest.indexOf('/');
    if (slash > 0 && rest.startsWith('/sshd_config', slash)) {
      found.push({ pid: proc.pid, dirName: rest.slice(0, slash), configFile: `${parentDir}/${rest.slice(0, slash)}/sshd_config` });
    }
  }
  return found;
}

/** True when `handle.pid` is alive and is the sshd started with `handle.configFile`. */
export function isSshdRunning(handle: SshdHandle): boolean {
  const configFile = sshdConfigFile(handle);
  let cmdline: string;
  try {
    cmdline = readFileSync(`/proc/${handle.pid}/cmdline`, 'utf8');
  } catch {
    return false;
  }
  // sshd rewrites its title ("sshd: /usr/sbin/sshd -D -e -f CONFIG [listener] ..."), so look for
  // the config path as a whole word anywhere in it rather than as a separate argument.
  const at = cmdline.indexOf(configFile);
  const after = cmdline[at + configFile.length];
  return at >= 0 && (after === undefined || after === ' ' || after === '\0');
}

function sshdConfigFile(handle: SshdHandle): string {
  return 'configFile' in handle ? handle.configFile : join(handle.dir, 'sshd_config');
}

/**
 * sshd opens authorized_keys with the privileges of the account logging in. When root runs
 * sshd for another account, that account gets the file (it holds public keys only) and may
 * traverse, not list, the directory (0711); the host key stays root's, 0600.
 */
async function writeAuthorizedKeys(options: SshdOptions): Promise<void> {
  const file = join(options.dir, 'authorized_keys');
  await writeFile(file, options.authorizedKeys.map((line) => `${line.trim()}\n`).join(''), { mode: 0o600 });
  await chmod(file, 0o600);
  if (process.getuid?.() !== 0 || !options.loginUser || options.loginUser === 'root') return;
  const id = (flag: string): number => Number(execFileSync('id', [flag, options.loginUser as string], { encoding: 'utf8' }).trim());
  try {
    await chown(file, id('-u'), id('-g'));
  } catch (error) {
    throw new ProviderError(`Cannot give ${file} to account ${options.loginUser}: ${(error as Error).message}`, { cause: error });
  }
  await chmod(options.dir, 0o711);
}

/** The sshd_config of a local host. */
export function sshdConfig(options: SshdOptions, port: number, hostKeyFile: string): string {
  const keyFiles = options.authorizedKeysFiles ?? [join(options.dir, 'authorized_keys')];
  const allowUsers = [...(options.loginUser ? [options.loginUser] : []), ...(options.allowUsers ?? [])];
  const defaults = [
    `ListenAddress ${options.address}:${port}`,
    `HostKey ${hostKeyFile}`,
    `PidFile ${join(options.dir, 'sshd.pid')}`,
    `AuthorizedKeysFile ${keyFiles.join(' ')}`,
    // Safe to relax here: the key and authorized_keys files live in a 0700 directory graft owns;
    // "yes" would refuse them whenever that directory sits under a world-writable /tmp.
    'StrictModes no',
    // Without PAM, account checks are sshd's own; a fresh account needs password field "*" (not "!").
    'UsePAM no',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'PubkeyAuthentication yes',
    'PermitRootLogin prohibit-password',
    'AllowTcpForwarding yes',
    'GatewayPorts no',
    'LogLevel VERBOSE',
    // Fan-out: many hosts connect at once and each connection carries many channels.
    'MaxStartups 200:30:400',
    'MaxSessions 100',
    'Subsystem sftp internal-sftp',
    ...(allowUsers.length ? [`AllowUsers ${allowUsers.join(' ')}`] : []),
  ];
  // sshd keeps the first value of a keyword, so an extra line replaces the default it names;
  // lines from the first Match on belong to that block and override nothing globally.
  const extra = options.extraConfig ?? [];
  const keyword = (line: string): string => line.trim().split(/\s+/)[0]?.toLowerCase() ?? '';
  const firstMatch = extra.findIndex((line) => keyword(line) === 'match');
  const overridden = new Set((firstMatch === -1 ? extra : extra.slice(0, firstMatch)).map(keyword));
  const lines = [...defaults.filter((line) => !overridden.has(keyword(line))), ...extra];
  return `${lines.join('\n')}\n`;
}

async function launch(sshd: string, options: SshdOptions, port: number, hostKeyFile: string): Promise<Omit<SshdRecord, 'hostPublicKey'>> {
  const configFile = join(options.dir, 'sshd_config');
  const logFile = join(options.dir, 'sshd.log');
  const pidFile = join(options.dir, 'sshd.pid');
  await rm(pidFile, { force: true });
  await writeFile(configFile, sshdConfig(options, port, hostKeyFile), { mode: 0o600 });
  const log = openSync(logFile, 'a', 0o600);
  let child;
  try {
    child = spawn(sshd, ['-D', '-e', '-f', configFile], { detached: true, stdio: ['ignore', log, log] });
  } finally {
    closeSync(log);
  }
  let exited: string | undefined;
  child.once('exit', (code, signal) => (exited = signal ?? `exit code ${code}`));
  child.once('error', (error) => (exited = error.message));
  child.unref();
  const pid = child.pid;
  const deadline = Date.now() + BANNER_TIMEOUT_MS;
  while (pid !== undefined && exited === undefined && Date.now() < deadline) {
    // The pid file (written by sshd after it bound) tells our sshd apart from another one on the port.
    if (Number((await readIfPresent(pidFile)).trim()) === pid && (await answersWithBanner(options.address, port))) {
      return { pid, address: options.address, port, hostKeyFile, configFile, logFile, dir: options.dir };
    }
    await new Promise((resolve) => setTimeout(resolve, BANNER_POLL_MS));
  }
  const tail = (await readIfPresent(logFile)).trim().split('\n').slice(-15).join('\n') || '(empty)';
  if (exited !== undefined || pid === undefined) {
    throw new ProviderError(`sshd for ${options.address}:${port} exited at start (${exited ?? 'no pid'}). Its log ends with:\n${tail}`, {
      code: 'SSHD_EXITED',
    });
  }
  await stopSshd({ pid, configFile });
  throw new ProviderError(`sshd for ${options.address}:${port} did not answer within ${BANNER_TIMEOUT_MS} ms. Its log ends with:\n${tail}`, {
    code: 'SSHD_NO_BANNER',
    actions: [`Read the whole log: ${logFile}`],
  });
}

function findSshd(): string {
  const onPath = (process.env.PATH ?? '')
    .split(delimiter)
    .filter(Boolean)
    .map((dir) => join(dir, 'sshd'));
  for (const candidate of [...SSHD_CANDIDATES, ...onPath]) {
    try {
      accessSync(candidate, fsConstants.X_OK);
      return candidate;
    } catch {
      // Not here; try the next place.
    }
  }
  throw new ProviderError('OpenSSH sshd was not found (looked in /usr/sbin, /usr/local/sbin and PATH); local hosts need it.', {
    code: 'SSHD_MISSING',
    actions: ['install it: apt-get install openssh-server'],
  });
}

/** A file's text, or '' when it is not there (yet). */
function readIfPresent(path: string): Promise<string> {
  return readFile(path, 'utf8').catch(() => '');
}
