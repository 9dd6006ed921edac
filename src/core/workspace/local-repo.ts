import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { UsageError } from '../errors.js';
import { git, gitText } from './git.js';

/** The controller's repository, checked for what graft needs before anything is sent. */
export interface LocalRepo {
  /** Top of the working tree. */
  root: string;
  gitDir: string;
  /** The commit HEAD named when it was opened. */
  head: string;
}

/**
 * Opens the repository at `dir`, refusing with a clear message what graft cannot sync:
 * no repository, no commits, a shallow clone (its history ends where the host's would need more).
 */
export async function openLocalRepo(dir: string): Promise<LocalRepo> {
  const path = resolve(dir);
  if (!existsSync(path)) throw new UsageError(`${path} does not exist`);
  // One process answers all four: the top, the git directory, shallowness, and HEAD (a repository
  // prints the first three lines even when HEAD names no commit yet).
  const top = await git(path, ['rev-parse', '--show-toplevel', '--absolute-git-dir', '--is-shallow-repository', '--verify', '-q', 'HEAD^{commit}'], {
    allowFail: true,
  });
  const [root, gitDir, shallow, head] = top.stdout.toString('utf8').trim().split('\n');
  if (!root || !gitDir || !shallow)
    throw new UsageError(`${path} is not a git repository`, [
      'Run graft from a git repository, or pass --repo DIR.',
      'Start one with: git init && git commit --allow-empty -m init',
    ]);
  if (shallow === 'true') throw new UsageError(`${root} is a shallow clone`, ['Fetch its full history first: git fetch --unshallow']);
  if (top.code !== 0 || !head) throw new UsageError(`${root} has no commits yet`, ['Commit something first: git commit --allow-empty -m init']);
  return { root, gitDir, head };
}

/** Repositories opened by `knownLocalRepo`, by the path asked for. */
const known = new Map<string, Promise<LocalRepo>>();

/**
 * `openLocalRepo`, asked once per path for the life of this process, for callers that need where
 * the repository is and not what HEAD names now (its `head` is the one of the first call): the
 * controller asks for every task, and on a busy machine each git process costs the controller
 * tens of milliseconds of its event loop (node forks it from its own, large, address space).
 */
export function knownLocalRepo(dir: string): Promise<LocalRepo> {
  const path = resolve(dir);
  let repo = known.get(path);
  if (!repo) {
    repo = openLocalRepo(path);
    repo.catch(() => known.delete(path));
    known.set(path, repo);
  }
  return repo;
}

/** Full commit ids found to be commits, per git directory: an object never changes what it is. */
const commits = new Set<string>();

/** Resolves a commit-ish (branch, tag, sha, HEAD~2) to a commit id, or a usage error naming it. */
export async function resolveCommit(repo: LocalRepo, commitish: string): Promise<string> {
  if (commitish.startsWith('-')) throw new UsageError(`"${commitish}" is not a commit`);
  // A full id already found to be a commit here needs no git process (a graph's tasks start from a few).
  if (commits.has(`${repo.gitDir} ${commitish}`)) return commitish;
  const result = await git(repo.root, ['rev-parse', '--verify', '-q', '--end-of-options', `${commitish}^{commit}`], { allowFail: true });
  if (result.code !== 0) throw new UsageError(`"${commitish}" does not name a commit in ${repo.root}`, ['See: git branch -a, git log --oneline']);
  const commit = result.stdout.toString('utf8').trim();
  if (commit === commitish) commits.add(`${repo.gitDir} ${commit}`);
  return commit;
}

/** Whether the working tree or index has changes (untracked files included, ignored ones not). */
export async function isDirty(repo: LocalRepo): Promise<boolean> {
  return (await gitText(repo.root, ['status', '--porcelain', '--untracked-files=normal'])) !== '';
}

/**
 * A commit of the working tree as it is now, on top of HEAD, made through a throwaway index:
 * the user's index, working tree and branches are not touched.
 */
export async function snapshotWorkingTree(repo: LocalRepo, message: string): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'graft-index-'));
  const env = { GIT_INDEX_FILE: join(dir, 'index') };
  try {
    await git(repo.root, ['read-tree', 'HEAD'], { env });
    await git(repo.root, ['add', '-A'], { env });
    const tree = await gitText(repo.root, ['write-tree'], { env });
    return await gitText(repo.root, ['commit-tree', tree, '-p', 'HEAD', '-m', message]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
