/** Graph files for reliability runs, and questions about the controller's repository. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { git } from '../../helpers/git-repo.js';

export { git, makeRepo } from '../../helpers/git-repo.js';

/** A graph of `shell` tasks on the given hosts section. */
export function writeGraph(dir: string, hosts: Record<string, unknown>, tasks: Record<string, Record<string, unknown>>): string {
  const file = join(dir, `graph-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(
    file,
    stringify({
      base: 'main',
      hosts,
      agents: { sh: { harness: 'shell' } },
      tasks: Object.fromEntries(Object.entries(tasks).map(([n, t]) => [n, { agent: 'sh', ...t }])),
    }),
  );
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
