/** A controller repository and graph files for reliability runs. */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';

const gitEnv = { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' };

export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', env: gitEnv }).trim();
}

/** A repository with one commit on main. */
export function makeRepo(root: string): string {
  const repo = join(root, 'repo');
  git(root, 'init', '-q', '-b', 'main', repo);
  writeFileSync(join(repo, 'README'), 'project\n');
  git(repo, 'add', '-A');
  git(repo, 'commit', '-qm', 'first');
  return repo;
}

/** A graph of `shell` tasks on the given hosts section. */
export function writeGraph(dir: string, hosts: Record<string, unknown>, tasks: Record<string, Record<string, unknown>>): string {
  const file = join(dir, `graph-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, stringify({ base: 'main', hosts, agents: { sh: { harness: 'shell' } }, tasks: Object.fromEntries(Object.entries(tasks).map(([n, t]) => [n, { agent: 'sh', ...t }])) }));
  return file;
}

/** Whether `commit` is in the history of `of`. */
export function isAncestor(repo: string, commit: string, of: string): boolean {
  try {
    git(repo, 'merge-base', '--is-ancestor', commit, of);
    return true;
  } catch {
    return false;
  }
}
