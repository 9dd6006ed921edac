/** Real git repositories for tests that run graft inside one (the controller's repository). */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Runs git in `cwd` with a fixed identity; returns its trimmed output. */
export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' },
  }).trim();
}

/** `<root>/repo`: branch main, one commit holding README. */
export function makeRepo(root: string): string {
  const repo = join(root, 'repo');
  git(root, 'init', '-q', '-b', 'main', repo);
  writeFileSync(join(repo, 'README'), 'project\n');
  git(repo, 'add', '-A');
  git(repo, 'commit', '-qm', 'first');
  return repo;
}

/** A shell task's command that writes `text` to `path` in its worktree and commits it, naming the task. */
export const commitFile = (path: string, text: string): string =>
  `mkdir -p "$(dirname ${path})" && echo ${JSON.stringify(text)} > ${path} && git add -A && git commit -qm "$GRAFT_TASK: ${path}"`;
