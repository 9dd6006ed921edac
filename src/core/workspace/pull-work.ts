import { agentCommand, agentEndpoint } from '../agents/agent-access.js';
import type { AgentRecord, AgentWorkspace } from '../agents/agent-record.js';
import { UsageError } from '../errors.js';
import type { HostRecord } from '../provisioners/provisioner.js';
import type { GraftRuntime } from '../runtime.js';
import { shellQuote } from '../shell-quote.js';
import { git } from './git.js';
import { openLocalRepo } from './local-repo.js';
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
export async function pullAgentWork(runtime: GraftRuntime, sessionId: string, agent: AgentRecord, host: HostRecord, options: PullOptions = {}): Promise<{ result: PullResult; workspace: AgentWorkspace }> {
  const workspace = agent.workspace!;
  const repo = await openLocalRepo(workspace.repo);
  const endpoint = agentEndpoint(agent, host);
  const q = shellQuote;
  const known = [workspace.base, workspace.pulledHead].filter((c): c is string => Boolean(c));
  // The excludes the agent's repository really has: a reset or gc on the host may have dropped one.
  const revs = `{ echo "$tip"; for c in ${known.join(' ')}; do git cat-file -e "$c^{commit}" 2>/dev/null && echo "^$c"; done; }`;
  // One round trip: a line "<head> <tip>", then the pack. The snapshot index starts as a copy of
  // the agent's own, so unchanged files are not re-read (nor re-stored as loose objects there).
  const command = [
    `cd ${q(workspace.workdir)}`,
    'head=$(git rev-parse HEAD)',
    // Stat information only (what git status also refreshes): racy entries are checked, not re-stored.
    '{ git update-index -q --refresh >/dev/null 2>&1 || true; }',
    'index="$(git rev-parse --git-dir)/graft-snapshot-index"',
    '{ cp "$(git rev-parse --git-dir)/index" "$index" 2>/dev/null || GIT_INDEX_FILE="$index" git read-tree HEAD; }',
    'GIT_INDEX_FILE="$index" git add -A',
    'tree=$(GIT_INDEX_FILE="$index" git write-tree)',
    'rm -f "$index"',
    `if [ "$tree" = "$(git rev-parse 'HEAD^{tree}')" ]; then tip=$head; else tip=$(git commit-tree "$tree" -p "$head" -m 'graft: snapshot of uncommitted work' -m ${q(`Graft-Agent: ${agent.spiffeId}`)}); fi`,
    'echo "$head $tip"',
    `${revs} | git pack-objects --revs --stdout --thin --delta-base-offset -q`,
  ].join(' && ');
  const output = await remoteGit(runtime.pool, endpoint, agentCommand(sessionId, agent, command));
  const newline = output.indexOf(10);
  const [head, tip] = output.subarray(0, newline).toString('utf8').trim().split(' ');
  const pack = output.subarray(newline + 1);
  const objects = packObjectCount(pack);
  if (objects > 0) await git(repo.root, storePackCommand(objects).split(' '), { input: pack });
  const bytes = pack.length;
  const also = (options.alsoRefs ?? []).map((ref) => `update ${ref} ${tip}\n`);
  if (options.ref) await git(repo.root, ['update-ref', '-m', `graft: work of agent ${agent.name}`, '--stdin'], { input: `update ${options.ref} ${tip}\n${also.join('')}` });
  else await moveBranch(repo.root, workspace, tip!, also);
  return {
    result: { branch: workspace.branch, tip: tip!, head: head!, snapshot: tip !== head, objects, bytes },
    workspace: { ...workspace, pulledHead: head, pulledTip: tip },
  };
}

/** Moves the agent's branch (and `also`, update-ref --stdin lines) to `tip` in one transaction. */
async function moveBranch(root: string, workspace: AgentWorkspace, tip: string, also: string[]): Promise<void> {
  const ref = `refs/heads/${workspace.branch}`;
  const current = (await git(root, ['rev-parse', '--verify', '-q', ref], { allowFail: true })).stdout.toString('utf8').trim();
  if (current && current !== workspace.pulledTip && current !== tip) {
    const descends = (await git(root, ['merge-base', '--is-ancestor', current, tip], { allowFail: true })).code === 0;
    if (!descends) {
      throw new UsageError(`${workspace.branch} was changed here since graft last set it; graft will not rewrite it`, [
        `Keep your version under another name (git branch -m ${workspace.branch} my-${workspace.branch.split('/').pop()}), then pull again.`,
      ]);
    }
  }
  // A branch that does not exist yet is checked out nowhere.
  const worktrees = current ? (await git(root, ['worktree', 'list', '--porcelain'])).stdout.toString('utf8') : '';
  if (worktrees.split('\n').includes(`branch ${ref}`)) {
    throw new UsageError(`${workspace.branch} is checked out here; moving it would leave your working tree behind`, ['Switch to another branch (git switch -), then pull again.']);
  }
  // The old value is checked in the same transaction: empty means the branch must not exist yet.
  await git(root, ['update-ref', '-m', 'graft sync pull', '--stdin'], { input: `update ${ref} ${tip} ${current}\n${also.join('')}` });
}
