import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { constants as fsConstants } from 'node:fs';
import { lchown, lstat, mkdir, open, readdir, rm, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { ProviderError } from '../../errors.js';

const run = promisify(execFile);
const SUDOERS_DIR = '/etc/sudoers.d';
/** Where the host tool keeps agents' key lines (provisioners/host/agent-account.sh). */
const AGENT_KEYS_DIR = '/etc/graft/authorized_keys';
/** Where the host tool keeps sessions' git caches. */
const CACHE_DIR = '/var/lib/graft';
/** Where it marks pool accounts as claimed (provisioners/host/account-pool.sh). */
const CLAIMS_DIR = '/var/lib/graft/claims';
const USERDEL_ATTEMPTS = 5;

/**
 * When graft runs as root, local hosts are administered through a dedicated account per
 * session, `graft-<session>`, with a clean home, /bin/sh, and passwordless sudo: the same
 * shape as a cloud VM's admin user. Logging in as root instead would source root's shell
 * start-up files on every exec (measured ~120 ms here) and mix graft's work into root's home.
 */
export interface AdminAccount {
  user: string;
  home: string;
  /** Whether the account can become root, so agents can get accounts of their own. */
  canSudo: boolean;
}

/** `graft-<session>`: the session's admin account. Its agents' accounts are `graft-<session>-<agent>`. */
export function adminAccountName(sessionId: string): string {
  return `graft-${sessionId}`;
}

/** The GECOS comment graft gives the admin account: how graft recognises an account as its own. */
export function adminAccountComment(sessionId: string): string {
  return `graft session ${sessionId} admin`;
}

/** One line of the account database. */
interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  comment: string;
  home: string;
}

async function passwdEntries(name?: string): Promise<PasswdEntry[]> {
  let stdout: string;
  try {
    ({ stdout } = await run('getent', name === undefined ? ['passwd'] : ['passwd', '--', name]));
  } catch (error) {
    // getent exits 2 when the key is not found; anything else is a real failure.
    if ((error as { code?: number }).code === 2) return [];
    throw error;
  }
  return stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [user = '', , uid = '', gid = '', comment = '', home = ''] = line.split(':');
      return { name: user, uid: Number(uid), gid: Number(gid), comment, home };
    });
}

/**
 * The accounts of the session that exist on this machine: its admin account (only when it
 * carries graft's comment, so an account graft did not make is never touched) and every
 * `graft-<session>-*` agent account. Found by looking, for tear-down and its verification.
 */
export async function sessionAccounts(sessionId: string): Promise<string[]> {
  const admin = adminAccountName(sessionId);
  return (await passwdEntries())
    .filter((entry) => (entry.name === admin && entry.comment === adminAccountComment(sessionId)) || entry.name.startsWith(`${admin}-`))
    .map((entry) => entry.name);
}

/**
 * The session's system files that exist: sudoers drop-ins (`/etc/sudoers.d/graft-<session>[-*]`),
 * agents' key files (`/etc/graft/authorized_keys/graft-<session>-*`), its git caches
 * (`/var/lib/graft/<session>`), pool accounts' claim marks (`/var/lib/graft/claims/graft-<session>-*`),
 * and homes under /home of its accounts that no longer exist (a deletion cut short left them).
 */
export async function sessionSystemFiles(sessionId: string): Promise<string[]> {
  const admin = adminAccountName(sessionId);
  const found: string[] = [];
  const ours = (name: string) => name === admin || name.startsWith(`${admin}-`);
  const entries = async (dir: string) => (existsSync(dir) ? (await readdir(dir)).filter(ours) : []);
  for (const dir of [SUDOERS_DIR, AGENT_KEYS_DIR]) found.push(...(await entries(dir)).map((name) => `${dir}/${name}`));
  if (existsSync(`${CACHE_DIR}/${sessionId}`)) found.push(`${CACHE_DIR}/${sessionId}`);
  // A claim mark or home goes with its account (a mark kept while it exists keeps it from a second claim).
  const byAccount = [
    ...(await entries(CLAIMS_DIR)).map((name) => ({ name, path: `${CLAIMS_DIR}/${name}` })),
    ...(await entries('/home')).map((name) => ({ name, path: `/home/${name}` })),
  ];
  if (byAccount.length > 0) {
    const accounts = new Set((await passwdEntries()).map((entry) => entry.name));
    found.push(...byAccount.filter(({ name }) => !accounts.has(name)).map(({ path }) => path));
  }
  return found;
}

/**
 * Creates (or finds, when graft made it) the session's admin account and authorizes the
 * session admin key in its own ~/.ssh: sshd reads authorized_keys as the account logging in,
 * and graft's home may sit where that account cannot reach (under /root).
 * An existing account without graft's comment is refused, never adopted.
 */
export async function ensureAdminAccount(sessionId: string, adminPublicKey: string): Promise<AdminAccount> {
  const user = adminAccountName(sessionId);
  let entry: PasswdEntry | undefined;
  try {
    [entry] = await passwdEntries(user);
    if (entry && entry.comment !== adminAccountComment(sessionId)) {
      throw new ProviderError(`an account named ${user} exists but graft did not create it (its comment is "${entry.comment}"): refusing to use it`, {
        code: 'LOCAL_ACCOUNT_FOREIGN',
        actions: [`Inspect it (getent passwd ${user}); remove it if it is stale, or start a new session.`],
      });
    }
    if (!entry) {
      await run('useradd', ['--create-home', '--home-dir', `/home/${user}`, '--shell', '/bin/sh', '--comment', adminAccountComment(sessionId), '--', user]);
    }
    // A fresh account is locked ('!'), and sshd refuses locked accounts when UsePAM is off.
    await run('usermod', ['-p', '*', '--', user]);
    [entry] = await passwdEntries(user);
    if (!entry) throw new Error(`useradd did not create ${user}`);
    await installAuthorizedKeys(entry, `${adminPublicKey}\n`);
  } catch (error) {
    if (error instanceof ProviderError) throw error;
    throw new ProviderError(`cannot create the local admin account ${user}: ${(error as { stderr?: string }).stderr?.trim() || (error as Error).message}`, {
      code: 'LOCAL_ACCOUNT_FAILED',
      cause: error,
      actions: ['graft needs useradd and usermod (Debian package passwd) when run as root.'],
    });
  }
  const canSudo = existsSync(SUDOERS_DIR) && (existsSync('/usr/bin/sudo') || existsSync('/bin/sudo'));
  if (canSudo) await writeFile(`${SUDOERS_DIR}/${user}`, `${user} ALL=(ALL) NOPASSWD:ALL\n`, { mode: 0o440 });
  return { user, home: entry.home, canSudo };
}

/**
 * Writes a fresh `~/.ssh/authorized_keys` for the account without following any link its
 * owner may have planted: the home must be a real directory the account owns, `.ssh` is
 * removed and made again, and the file is created exclusively with O_NOFOLLOW.
 */
async function installAuthorizedKeys(entry: PasswdEntry, content: string): Promise<void> {
  const home = await lstat(entry.home);
  if (!home.isDirectory() || home.uid !== entry.uid) throw new Error(`${entry.home} is not a directory owned by ${entry.name}`);
  const sshDir = `${entry.home}/.ssh`;
  // rm does not follow a symlink named .ssh: it removes the link itself.
  await rm(sshDir, { recursive: true, force: true });
  await mkdir(sshDir, { mode: 0o700 });
  await lchown(sshDir, entry.uid, entry.gid);
  const flags = fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_NOFOLLOW;
  const file = await open(`${sshDir}/authorized_keys`, flags, 0o600);
  try {
    await file.writeFile(content);
    await file.chown(entry.uid, entry.gid);
  } finally {
    await file.close();
  }
}

/**
 * Removes every account of the session (admin and agents, see sessionAccounts): kills their
 * processes, deletes them with their homes, and deletes the session's system files.
 * Idempotent; resolves with the accounts removed.
 */
export async function removeSessionAccounts(sessionId: string): Promise<string[]> {
  const removeFiles = async () => {
    for (const file of await sessionSystemFiles(sessionId)) await rm(file, { recursive: true, force: true });
  };
  await removeFiles();
  const accounts = await sessionAccounts(sessionId);
  for (const user of accounts) await removeAccount(user);
  // Claim marks and homes are the session's files once their accounts are gone.
  if (accounts.length > 0) await removeFiles();
  return accounts;
}

async function removeAccount(user: string): Promise<void> {
  let lastError: unknown;
  for (let attempt = 0; attempt < USERDEL_ATTEMPTS; attempt += 1) {
    // Processes can take a moment to die, and userdel refuses while any runs.
    await run('pkill', ['-KILL', '-u', user]).catch(() => undefined);
    try {
      await run('userdel', ['--remove', '--', user]);
      return;
    } catch (error) {
      lastError = error;
      // userdel exits 12 when only the home could not be removed: the account itself is gone.
      if ((await passwdEntries(user)).length === 0) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  throw new ProviderError(`cannot remove the local account ${user}: ${(lastError as { stderr?: string }).stderr?.trim() || (lastError as Error).message}`, {
    code: 'LOCAL_ACCOUNT_FAILED',
    cause: lastError,
    actions: [`Remove it by hand (as root): pkill -KILL -u ${user}; userdel --remove ${user}`],
  });
}
