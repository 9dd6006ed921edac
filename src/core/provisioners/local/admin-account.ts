import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chown, mkdir, rm, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { ProviderError } from '../../errors.js';

const run = promisify(execFile);

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

export function adminAccountName(sessionId: string): string {
  return `graft-${sessionId}`;
}

function sudoersFile(user: string): string {
  return `/etc/sudoers.d/${user}`;
}

async function accountExists(user: string): Promise<boolean> {
  try {
    await run('id', ['-u', '--', user]);
    return true;
  } catch {
    return false;
  }
}

/**
 * Creates (or finds) the session's admin account and authorizes the session admin key in its
 * own ~/.ssh: sshd reads authorized_keys as the account logging in, and graft's home may sit
 * where that account cannot reach (under /root).
 */
export async function ensureAdminAccount(sessionId: string, adminPublicKey: string): Promise<AdminAccount> {
  const user = adminAccountName(sessionId);
  const home = `/home/${user}`;
  try {
    if (!(await accountExists(user))) {
      await run('useradd', ['--create-home', '--home-dir', home, '--shell', '/bin/sh', '--comment', `graft session ${sessionId} admin`, '--', user]);
    }
    // A fresh account is locked ('!'), and sshd refuses locked accounts when UsePAM is off.
    await run('usermod', ['-p', '*', '--', user]);
    const uid = Number((await run('id', ['-u', '--', user])).stdout.trim());
    const gid = Number((await run('id', ['-g', '--', user])).stdout.trim());
    await mkdir(`${home}/.ssh`, { mode: 0o700, recursive: true });
    await writeFile(`${home}/.ssh/authorized_keys`, `${adminPublicKey}\n`, { mode: 0o600 });
    await chown(`${home}/.ssh`, uid, gid);
    await chown(`${home}/.ssh/authorized_keys`, uid, gid);
  } catch (error) {
    throw new ProviderError(`cannot create the local admin account ${user}: ${(error as { stderr?: string }).stderr?.trim() || (error as Error).message}`, {
      code: 'LOCAL_ACCOUNT_FAILED',
      cause: error,
      actions: ['graft needs useradd and usermod (Debian package passwd) when run as root.'],
    });
  }
  const canSudo = existsSync('/etc/sudoers.d') && (existsSync('/usr/bin/sudo') || existsSync('/bin/sudo'));
  if (canSudo) await writeFile(sudoersFile(user), `${user} ALL=(ALL) NOPASSWD:ALL\n`, { mode: 0o440 });
  return { user, home, canSudo };
}

/** Kills the account's processes and removes it, its home and its sudoers entry. Idempotent. */
export async function removeAdminAccount(sessionId: string): Promise<boolean> {
  const user = adminAccountName(sessionId);
  await rm(sudoersFile(user), { force: true });
  if (!(await accountExists(user))) return false;
  await run('pkill', ['-KILL', '-u', user]).catch(() => undefined);
  try {
    await run('userdel', ['--remove', '--', user]);
  } catch (error) {
    // userdel exits 12 when the home was already gone: the account itself was removed.
    if ((error as { code?: number }).code !== 12 && (await accountExists(user))) {
      throw new ProviderError(`cannot remove the local admin account ${user}: ${(error as { stderr?: string }).stderr?.trim() || (error as Error).message}`, {
        code: 'LOCAL_ACCOUNT_FAILED',
        cause: error,
        actions: [`Remove it by hand: userdel --remove ${user}`],
      });
    }
  }
  return true;
}
