import { HostShell } from '../hosts/host-shell.js';
import type { AgentRecord, AgentWorkspace } from '../model/agent.js';
import { UsageError } from '../errors.js';
import type { HostRecord } from '../model/host.js';
import type { GraftRuntime } from '../runtime.js';
import { shellQuote } from '../shell-quote.js';
import { git, gitText } from './git.js';
import { knownLocalRepo } from './local-repo.js';
import { packObjectCount, storePackCommand } from './pack.js';
import { remoteGit } from './remote-git.js';

export interface PullResult {
  branch: string;
  /** What the local branch now points at: the agent's HEAD, or a snapshot commit on top of it. */
  tip: string;
  head: string;
  snapshot: boolean;
  objects: number;
  bytes: number;
}

export interface PullOptions {
  /** Set this ref (graft's own, e.g. under refs/graft/) to the work instead of moving the agent's branch. */
  ref?: string;
  /** graft's own refs to point at the work as well, in the same update (the controller keeps each attempt's tip). */
  alsoRefs?: string[];
}

/**
 * Brings an agent's work back as the local branch `graft/<session>/<agent>`: its commits, plus a
 * snapshot commit of uncommitted changes (made through a throwaway index, authored by the agent,
 * so nothing on the host changes). Only objects the controller lacks travel. The local branch is
 * moved only if graft set it last or the new tip descends from it, and never while checked out.
 */
export async function pullAgentWork(
  runtime: GraftRuntime,
  sessionId: string,
  agent: AgentRecord,
  host: HostRecord,
  options: PullOptions = {},
): Promise<{ result: PullResult; workspace: AgentWorkspace }> {
  const workspace = agent.workspace!;
  const shell = HostShell.agent(runtime.pool, sessionId, agent, host);
  const q = shellQuote;
  const known = [workspace.base, workspace.pulledHead].filter((c): c is string => Boolean(c));
  // The excludes the agent's repository really has (a reset or gc on the host may have dropped one), found by one cat-file.
  const revs = `{ echo "$tip"; printf '%s\\n' ${known.join(' ')} | git cat-file --batch-check='%(objectname) %(objecttype)' | sed -n 's/^\\(.*\\) commit$/^\\1/p'; }`;
  // One round trip: a line "<head> <tip>", then the pack. `git status` refreshes the index's stat
  // information (racy entries are checked, not re-stored) and tells whether there is anything to
  // snapshot; when there is, the snapshot index starts as a copy of the agent's own, so unchanged
  // files are not re-read (nor re-stored as loose objects there).
  const snapshot = [
    'index="$gitdir/graft-snapshot-index"',
    '{ cp "$gitdir/index" "$index" 2>/dev/null || GIT_INDEX_FILE="$index" git read-tree HEAD; }',
    'GIT_INDEX_FILE="$index" git add -A',
    'tree=$(GIT_INDEX_FILE="$index" git write-tree)',
    'rm -f "$index"',
    `if [ "$tree" = "$headtree" ]; then tip=$head; else tip=$(git commit-tree "$tree" -p "$head" -m 'graft: snapshot of uncommitted work' -m ${q(`Graft-Agent: ${agent.spiffeId}`)}); fi`,
  ].join(' && ');
  const command = [
    `cd ${q(workspace.workdir)}`,
    // The work tree's top: git-dir is a plain relative path (.git), safe to split on.
    "found=$(git rev-parse --git-dir HEAD 'HEAD^{tree}')",
    'set -- $found',
    'gitdir=$1 head=$2 headtree=$3',
    'changes=$(git status --porcelain --untracked-files=normal)',
    `if [ -z "$changes" ]; then tip=$head; else ${snapshot}; fi`,
    'echo "$head $tip"',
    `${revs} | git pack-objects --revs --stdout --thin --delta-base-offset -q`,
  ].join(' && ');
  // The repository and the branch are checked while the host works, not before or after it.
  const remote = remoteGit(shell, command);
  remote.catch(() => undefined);
  const local = knownLocalRepo(workspace.repo).then(async (repo) => ({ repo, branch: options.ref ? undefined : await branchState(repo.root, workspace) }));
  local.catch(() => undefined);
  const output = await remote;
  const { repo, branch } = await local;
  const newline = output.indexOf(10);
  const [head, tip] = output.subarray(0, newline).toString('utf8').trim().split(' ');
  const pack = output.subarray(newline + 1);
  const objects = packObjectCount(pack);
  if (objects > 0) await git(repo.root, storePackCommand(objects).split(' '), { input: pack });
  const bytes = pack.length;
  const also = (options.alsoRefs ?? []).map((ref) => `update ${ref} ${tip}\n`);
  if (options.ref)
    await git(repo.root, ['update-ref', '-m', `graft: work of agent ${agent.name}`, '--stdin'], { input: `update ${options.ref} ${tip}\n${also.join('')}` });
  else await moveBranch(repo.root, workspace, branch!, tip!, also);
  return {
    result: { branch: workspace.branch, tip: tip!, head: head!, snapshot: tip !== head, objects, bytes },
    workspace: { ...workspace, pulledHead: head, pulledTip: tip },
  };
}

/** The local branch before a pull: where it points, and whether a worktree has it checked out. */
interface BranchState {
  current: string;
  checkedOut: boolean;
}

async function branchState(root: string, workspace: AgentWorkspace): Promise<BranchState> {
  const ref = `refs/heads/${workspace.branch}`;
  // Patterns match whole path components from the start, so refs below this one are listed too.
  const listed = (await gitText(root, ['for-each-ref', '--format=%(refname) %(objectname) %(worktreepath)', ref])).split('\n');
  const [, current = '', worktree = ''] = listed.find((line) => line.startsWith(`${ref} `))?.split(' ') ?? [];
  return { current, checkedOut: worktree !== '' };
}

/** Moves the agent's branch (and `also`, update-ref --stdin lines) to `tip` in one transaction. */
async function moveBranch(root: string, workspace: AgentWorkspace, { current, checkedOut }: BranchState, tip: string, also: string[]): Promise<void> {
  const ref = `refs/heads/${workspace.branch}`;
  if (current && current !== workspace.pulledTip && current !== tip) {
    const descends = (await git(root, ['merge-base', '--is-ancestor', current, tip], { allowFail: true })).code === 0;
    if (!descends) {
      throw new UsageError(`${workspace.branch} was changed here since graft last set it; graft will not rewrite it`, [
        `Keep your version under another name (git branch -m ${workspace.branch} my-${workspace.branch.split('/').pop()}), then pull again.`,
      ]);
    }
  }
  if (current && checkedOut) {
    throw new UsageError(`${workspace.branch} is checked out here; moving it would leave your working tree behind`, [
      'Switch to another branch (git switch -), then pull again.',
    ]);
  }
  // The old value makes the update fail if the branch moved while the pull ran (empty: the
  // branch must not exist yet); graft's own refs move in the same transaction.
  await git(root, ['update-ref', '-m', 'graft sync pull', '--stdin'], { input: `update ${ref} ${tip} ${current}\n${also.join('')}` });
}
