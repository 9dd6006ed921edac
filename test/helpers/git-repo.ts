/** Controller repositories for tests: real git, a fixed identity. */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const gitEnv = { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' };

export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', env: gitEnv }).trim();
}

/** `root`/repo: one commit on main. */
export function makeRepo(root: string): string {
  const repo = join(root, 'repo');
  git(root, 'init', '-q', '-b', 'main', repo);
  writeFileSync(join(repo, 'README'), 'project\n');
  git(repo, 'add', '-A');
  git(repo, 'commit', '-qm', 'first');
  return repo;
}
