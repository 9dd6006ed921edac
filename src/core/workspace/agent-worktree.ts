import { agentCommand } from '../hosts/agent-access.js';
import type { AgentRecord, AgentWorkspace } from '../model/agent.js';
import { HostAdmin } from '../hosts/host-admin.js';
import { UsageError } from '../errors.js';
import type { HostRecord } from '../model/host.js';
import type { GraftRuntime } from '../runtime.js';
import { HostShell } from '../hosts/host-shell.js';
import { shellQuote } from '../shell-quote.js';
import { HostCache, type TransferStats } from './host-cache.js';
import { gitText } from './git.js';
import { mergeBases } from './merge-bases.js';
import { isDirty, knownLocalRepo, openLocalRepo, resolveCommit, snapshotWorkingTree, type LocalRepo } from './local-repo.js';
import { remoteGit } from './remote-git.js';

export interface WorktreeRequest {
  /** The controller's repository. */
  repo: string;
  /** Commit-ishes to start from; several are merged in order (fan-in). */
  from: string[];
  /**
   * When a base is the checked-out HEAD and the working tree has changes: refuse, include them as
   * a snapshot commit, or ignore them (a graph run's bases are commits fixed when it started).
   */
  uncommitted: 'refuse' | 'include' | 'ignore';
}

export function agentBranch(sessionId: string, agent: string): string {
  return `graft/${sessionId}/${agent}`;
}

/**
 * The commit an agent starts from: its bases resolved, several merged. `uncommitted` says what to
 * do when a base is the checked-out commit and the working tree has changes: refuse, include them
 * as a snapshot commit, or ignore them (sync push sends committed history only).
 */
export async function resolveBase(repo: LocalRepo, from: string[], uncommitted: 'refuse' | 'include' | 'ignore'): Promise<string> {
  const bases = [];
  for (const name of from) {
    let commit = await resolveCommit(repo, name);
    // The working tree is only looked at when it matters: status is slow on large trees.
    if (uncommitted !== 'ignore' && commit === repo.head && (await isDirty(repo))) {
      if (uncommitted === 'refuse') {
        throw new UsageError(`${repo.root} has uncommitted changes and ${name} is the checked-out commit`, [
          'Commit or stash them first, or pass --include-uncommitted to send them as a snapshot commit (your working tree is not touched).',
        ]);
      }
      commit = await snapshotWorkingTree(repo, `graft: snapshot of uncommitted changes in ${repo.root}`);
    }
    bases.push({ name, commit });
  }
  return mergeBases(repo, bases);
}

/** A worktree request checked against the controller's repository, before anything is created. */
export interface PreparedWorktree {
  repo: LocalRepo;
  from: string[];
  base: string;
}

/** Opens the repository and resolves the base, so bad input fails before an agent exists. */
export async function prepareWorktree(request: WorktreeRequest): Promise<PreparedWorktree> {
  if (request.from.length === 0) throw new UsageError('--from needs at least one commit-ish');
  // Ignoring uncommitted changes, HEAD is not looked at: the repository found before will do.
  const repo = request.uncommitted === 'ignore' ? await knownLocalRepo(request.repo) : await openLocalRepo(request.repo);
  return { repo, from: request.from, base: await resolveBase(repo, request.from, request.uncommitted) };
}

export interface FilledCache {
  cache: string;
  transfer: TransferStats;
}

/**
 * Sends the base's objects to the host's cache (only what it lacks), pinned for the agent. Needs
 * no agent account, so it runs while the account is being made.
 */
export async function fillHostCache(
  runtime: GraftRuntime,
  sessionId: string,
  host: HostRecord,
  prepared: PreparedWorktree,
  agentName: string,
): Promise<FilledCache> {
  const cacheOf = new HostCache(runtime.pool, host, sessionId, prepared.repo, runtime.env);
  const cache = await cacheOf.ensure();
  return { cache, transfer: await cacheOf.push(cache, prepared.base, `base/${agentName}`) };
}

/**
 * What makes an agent's worktree in the host's cache `cache`: the shell to run as the agent (with
 * agentCommand's setup, from its home) and the workspace it makes. The worktree is a clone that
 * borrows the cache's objects, with a branch `graft/<session>/<agent>` checked out at the base and
 * the agent as its git author.
 */
export function worktreeSetup(sessionId: string, agent: AgentRecord, cache: string, prepared: PreparedWorktree): { script: string; workspace: AgentWorkspace } {
  const { repo, base } = prepared;
  const branch = agentBranch(sessionId, agent.name);
  const workdir = `${agent.home}/work`;
  const q = shellQuote;
  const setup = [
    // The cache belongs to the session admin; git refuses another user's repository unless the
    // agent's own (global) config names it. Only this path is trusted, not every directory.
    // Appended as `git config --global --add` would, without a git process (a quoted value, its
    // backslashes and quotes escaped as git's config syntax wants).
    `printf '[safe]\\n\\tdirectory = "%s"\\n' ${q(cache.replace(/[\\"]/g, (c) => `\\${c}`))} >> "$HOME"/.gitconfig`,
    // -c writes the agent's git identity into the new repository's config.
    `git clone -q --shared --no-checkout -c user.name=${q(agent.name)} -c user.email=${q(`${agent.name}@${sessionId}.graft.invalid`)} ${q(cache)} ${q(workdir)}`,
    `cd ${q(workdir)}`,
    // As many checkout workers as the host has cores: writing thousands of files is syscall-bound.
    `git -c checkout.workers=0 checkout -q -b ${q(branch)} ${base}`,
    // Files checked out in the same second as the index are "racy" to git, which then re-hashes
    // them on the agent's next add or commit and, unable to freshen the cache's read-only
    // copies, stores every one again. Dating them two seconds back and refreshing avoids that.
    'git ls-files -z | xargs -0 -r touch -h -d "2 seconds ago" -- && git update-index -q --refresh',
  ].join(' && ');
  return { script: agentCommand(sessionId, agent, setup), workspace: { repo: repo.root, from: prepared.from, base, branch, workdir, cache } };
}

/**
 * Gives an agent its worktree once the host's cache holds its base (worktreeSetup), over the
 * admin's connection (open already; the agent's key may not even be authorized yet): as the
 * agent, through the host tool. Agents sharing the login run it there directly.
 */
export async function createAgentWorktree(
  runtime: GraftRuntime,
  sessionId: string,
  agent: AgentRecord,
  host: HostRecord,
  prepared: PreparedWorktree,
  filled: Promise<FilledCache>,
): Promise<{ workspace: AgentWorkspace; transfer: TransferStats }> {
  const { cache, transfer } = await filled;
  const { script, workspace } = worktreeSetup(sessionId, agent, cache, prepared);
  if (agent.isolation === 'accounts') await new HostAdmin(runtime.pool, host, runtime.env).run(['as-agent', agent.account], script);
  else await remoteGit(HostShell.admin(runtime.pool, host, runtime.env), script);
  return { workspace, transfer };
}

/**
 * Re-resolves the agent's bases and sends what is new; fast-forwards its branch when it has no
 * work of its own. One login, the admin's: the objects go to the cache and, in the same round
 * trip, the agent's branch moves, as the agent (the host tool drops to its account, as it does to
 * write the agent's files), so a push costs one SSH handshake, not two.
 */
export async function pushBase(
  runtime: GraftRuntime,
  sessionId: string,
  agent: AgentRecord,
  host: HostRecord,
): Promise<{ base: string; fastForwarded: boolean; transfer: TransferStats }> {
  const workspace = agent.workspace!;
  // The login is dialed while git works locally, not after.
  dialAhead(HostShell.admin(runtime.pool, host, runtime.env));
  const repo = await openLocalRepo(workspace.repo);
  const base = await resolveBase(repo, workspace.from, 'ignore');
  const cache = new HostCache(runtime.pool, host, sessionId, repo, runtime.env);
  if (base === workspace.base) return { base, fastForwarded: false, transfer: await cache.push(workspace.cache, base, `base/${agent.name}`, [workspace.base]) };
  const q = shellQuote;
  const command = [
    `cd ${q(workspace.workdir)}`,
    // The worktree borrows the cache's objects, so the new base is already readable here: naming
    // it is enough, no fetch (which would start an upload-pack and negotiate) is needed.
    `git update-ref refs/graft/base ${base}`,
    // Fast-forward only when the agent has neither commits nor changes of its own.
    `if [ "$(git rev-parse HEAD)" = ${workspace.base} ] && [ -z "$(git status --porcelain)" ]; then git merge -q --ff-only refs/graft/base && echo ff; else echo kept; fi`,
  ].join(' && ');
  const script = agentCommand(sessionId, agent, command);
  const admin = new HostAdmin(runtime.pool, host, runtime.env);
  // The tool was put on the host when the agent was made; should it be gone, the objects still go
  // in and the agent's part follows once the tool is back. Agents sharing the login run it there
  // directly (in a subshell: it ends in exec).
  const asAgent = ['as-agent', agent.account];
  const then =
    agent.isolation === 'accounts'
      ? `if ${admin.toolPresent()}; then ${admin.commandLine(asAgent)} <<'GRAFT_AGENT_SCRIPT'\n${script}\nGRAFT_AGENT_SCRIPT\nelse echo graft-tool-missing; fi`
      : `( ${script} )`;
  const pushed = await cache.pushThen(workspace.cache, base, `base/${agent.name}`, [workspace.base], then);
  const outcome = pushed.output.trim() === 'graft-tool-missing' ? await admin.run(asAgent, script) : pushed.output.trim();
  return { base, fastForwarded: outcome === 'ff', transfer: pushed.transfer };
}

/** Starts dialing a login the caller will use shortly; a failure surfaces where it is used. */
function dialAhead(shell: HostShell): void {
  shell.connection().catch(() => undefined);
}

/** What the agent's branch changed against its base, from the controller's copy (after a pull). */
export async function diffAgainstBase(workspace: AgentWorkspace, stat: boolean): Promise<string> {
  const repo = await openLocalRepo(workspace.repo);
  const tip = await resolveCommit(repo, `refs/heads/${workspace.branch}`).catch(() => {
    throw new UsageError(`nothing pulled yet for ${workspace.branch}`, ["Bring the agent's work back first: graft sync pull NAME"]);
  });
  return gitText(repo.root, ['diff', ...(stat ? ['--stat'] : []), workspace.base, tip]);
}
