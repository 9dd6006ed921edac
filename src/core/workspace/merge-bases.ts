import { ExitCode, GraftError } from '../errors.js';
import { git, gitText } from './git.js';
import type { LocalRepo } from './local-repo.js';

export interface NamedCommit {
  name: string;
  commit: string;
}

/**
 * The starting commit for an agent with several bases (fan-in): the bases merged in order,
 * computed with `git merge-tree` in the object store only — no working tree, index or branch
 * of the user's is touched. A conflict stops with the files and the branches, and how to resolve.
 */
export async function mergeBases(repo: LocalRepo, bases: NamedCommit[]): Promise<string> {
  let current = bases[0]!;
  for (const next of bases.slice(1)) {
    const merged = await git(repo.root, ['merge-tree', '--write-tree', '--name-only', '--no-messages', current.commit, next.commit], { allowFail: true });
    const lines = merged.stdout.toString('utf8').trim().split('\n');
    if (merged.code === 1) {
      const files = lines.slice(1).filter(Boolean);
      throw new GraftError(`bases ${current.name} and ${next.name} conflict in: ${files.join(', ')}`, {
        code: 'MERGE_CONFLICT',
        exitCode: ExitCode.conflict,
        details: { bases: [current.name, next.name], files },
        actions: [
          `Merge them yourself: git switch -c merged ${current.commit.slice(0, 12)} && git merge ${next.name}`,
          'Resolve, commit, then use --from merged.',
        ],
      });
    }
    if (merged.code !== 0) throw new GraftError(`cannot merge ${current.name} and ${next.name}: ${merged.stderr.trim()}`, { code: 'GIT_FAILED' });
    const commit = await gitText(repo.root, [
      'commit-tree',
      lines[0]!,
      '-p',
      current.commit,
      '-p',
      next.commit,
      '-m',
      `graft: merge ${next.name} into ${current.name}`,
    ]);
    current = { name: `${current.name}+${next.name}`, commit };
  }
  return current.commit;
}
