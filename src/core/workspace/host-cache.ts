import { createHash } from 'node:crypto';
import { HostAdmin } from '../agents/host-admin.js';
import { ensureSessionHostDir } from '../agents/session-host-dir.js';
import type { HostRecord } from '../provisioners/provisioner.js';
import { adminEndpoint } from '../session/endpoints.js';
import { shellQuote } from '../shell-quote.js';
import { oncePerPool, type SshPool } from '../ssh/index.js';
import { git } from './git.js';
import { packObjectCount, storePackCommand } from './pack.js';
import type { LocalRepo } from './local-repo.js';
import { remoteGit } from './remote-git.js';

/** Each host's cache path, per pool: agents starting together on a host ask once. */
const ensured = new WeakMap<SshPool, Map<string, Promise<string>>>();

/** What one transfer moved. */
export interface TransferStats {
  objects: number;
  bytes: number;
}

/**
 * The per-host object cache: a bare repository owned by the session admin that every agent's
 * worktree on the host borrows objects from (git alternates), so the repository's objects cross
 * the network once per host however many agents work there. Agents can read it, not write it.
 */
export class HostCache {
  constructor(
    private readonly pool: SshPool,
    private readonly host: HostRecord,
    private readonly sessionId: string,
    private readonly repo: LocalRepo,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  /** One cache per controller repository, named by a hash of its path. */
  private get name(): string {
    return `${createHash('sha256').update(this.repo.gitDir).digest('hex').slice(0, 12)}.git`;
  }

  /** Creates the cache if needed and returns its absolute path on the host (asked once per pool). */
  ensure(): Promise<string> {
    return oncePerPool(ensured, this.pool, `${this.host.user}@${this.host.address}:${this.host.port}/${this.sessionId}/${this.name}`, () => this.create());
  }

  private async create(): Promise<string> {
    const dir = await ensureSessionHostDir(this.pool, this.host, this.sessionId, this.env);
    const path = `${dir}/${this.name}`;
    // Agents starting at once on one host (or hosts sharing a machine) all get here: each
    // initialises a private copy and renames it into place, and the first rename wins.
    const q = shellQuote(path);
    await this.admin(`test -d ${q} || { t=${q}.init.$$ && git init -q --bare "$t" && { mv -T "$t" ${q} 2>/dev/null || rm -rf "$t"; }; }`);
    return path;
  }

  /**
   * Sends `commit` and everything it needs that the cache lacks, as one thin pack, and pins it
   * under `refs/graft/<ref>` so it stays reachable. Only objects the cache does not have travel;
   * a commit the cache already holds costs one listing and nothing else.
   */
  async push(cache: string, commit: string, ref: string): Promise<TransferStats> {
    const refName = `refs/graft/${ref}`;
    const pin = `git -C ${shellQuote(cache)} update-ref ${shellQuote(refName)} ${commit}`;
    // One round trip either way: a commit some ref already holds (whole, since refs are set
    // only after a pack is stored) is pinned there and then; otherwise the refs come back.
    const answer = await this.admin(
      [
        `refs=$(git -C ${shellQuote(cache)} for-each-ref --format='%(objectname) %(refname)')`,
        `if printf '%s\\n' "$refs" | grep -q '^${commit} '; then { printf '%s\\n' "$refs" | grep -qx ${shellQuote(`${commit} ${refName}`)} || ${pin}; } && echo pinned; else printf '%s\\n' "$refs"; fi`,
      ].join('\n'),
    );
    const text = answer.toString('utf8');
    if (text.trim() === 'pinned') return { objects: 0, bytes: 0 };
    const listing = text.split('\n').filter(Boolean).map((line) => line.split(' ') as [string, string]);
    const known = await commitsHere(this.repo.root, listing.map(([sha]) => sha));
    const revs = [commit, ...known.map((k) => `^${k}`)].join('\n') + '\n';
    const pack = (await git(this.repo.root, ['pack-objects', '--revs', '--stdout', '--thin', '--delta-base-offset', '-q'], { input: revs })).stdout;
    const objects = packObjectCount(pack);
    await this.admin(`git -C ${shellQuote(cache)} ${storePackCommand(objects)} >/dev/null && ${pin}`, pack);
    return { objects, bytes: pack.length };
  }

  private admin(command: string, stdin?: Buffer): Promise<Buffer> {
    return remoteGit(this.pool, adminEndpoint(this.host, this.env), command, stdin);
  }
}

/** Which of `shas` are commits in the local repository: one `cat-file --batch-check`, not a process each. */
async function commitsHere(root: string, shas: string[]): Promise<string[]> {
  if (shas.length === 0) return [];
  const out = (await git(root, ['cat-file', '--batch-check=%(objectname) %(objecttype)'], { input: shas.join('\n') + '\n' })).stdout.toString('utf8');
  return out.split('\n').filter((line) => line.endsWith(' commit')).map((line) => line.split(' ')[0]!);
}

/** Removes the session's caches from a host (at `down`); a host that cannot be reached is the caller's to report. */
export async function removeHostCaches(pool: SshPool, host: HostRecord, sessionId: string, env: NodeJS.ProcessEnv): Promise<void> {
  if (host.isolation === 'accounts') await new HostAdmin(pool, host, env).run(['cache-remove', sessionId]);
  else await remoteGit(pool, adminEndpoint(host, env), `rm -rf .graft/cache/${sessionId}`);
}
