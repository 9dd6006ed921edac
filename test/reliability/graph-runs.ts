/**
 * What the reliability suite's `graft run` tests share: a throwaway git repository to run in,
 * graph files written from objects, and the built CLI run with that repository as its cwd.
 */
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { CliRun, GraftWorld } from '../helpers/cli.js';
import { git, makeRepo } from '../helpers/git-repo.js';

export { git };

/** A temp directory (0755, so agents' own accounts can reach what tests put there) holding a repository `repo` with one commit on main. */
export function makeRunRoot(prefix: string): { root: string; repo: string } {
  const root = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(root, 0o755);
  return { root, repo: makeRepo(root) };
}

/** Writes a graph file (YAML from an object, so every string is quoted as YAML needs) and returns its path. */
export function writeGraphFile(dir: string, name: string, graph: Record<string, unknown>): string {
  const file = join(dir, name);
  writeFileSync(file, stringify(graph));
  return file;
}

/** Runs the built graft with the repository as its working directory. */
export function graftIn(world: GraftWorld, repo: string, args: string[], env?: NodeJS.ProcessEnv): Promise<CliRun> {
  return world.run(args, { timeoutMs: 240_000, cwd: repo, env });
}

/** The last line of `graft run --json` / `resume --json` output: the envelope. */
export function runEnvelope(run: CliRun): {
  status: number;
  result?: { session: string; outcome: string; tasks: { name: string; state: string; error?: string }[] };
} {
  return JSON.parse(run.stdout.trim().split('\n').at(-1)!);
}
