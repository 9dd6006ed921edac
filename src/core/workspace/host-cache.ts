import { createHash } from 'node:crypto';
import { HostAdmin } from '../agents/host-admin.js';
import type { HostRecord } from '../provisioners/provisioner.js';
import { adminEndpoint } from '../session/endpoints.js';
import { shellQuote } from '../shell-quote.js';
import type { SshPool } from '../ssh/index.js';
import { git, gitText } from './git.js';
import type { LocalRepo } from './local-repo.js';
import { remoteGit } from './remote-git.js';

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

  /** Creates the cache if needed and returns its absolute path on the host. */
  async ensure(): Promise<string> {
    let dir: string;
    if (this.host.isolation === 'accounts') {
      dir = await new HostAdmin(this.pool, this.host, this.env).run(['cache-dir', this.sessionId, this.host.user]);
    } else {
      dir = (await this.admin(`mkdir -p .graft/cache/${this.sessionId} && cd .graft/cache/${this.sessionId} && pwd -P`)).toString('utf8').trim();
    }
    const path = `${dir}/${this.name}`;
    await this.admin(`test -d ${shellQuote(path)} || git init -q --bare ${shellQuote(path)}`);
    return path;
  }

  /**
   * Sends `commit` and everything it needs that the cache lacks, as one thin pack, and pins it
   * under `refs/graft/<ref>` so it stays reachable. Only objects the cache does not have travel.
   */
  async push(cache: string, commit: string, ref: string): Promise<TransferStats> {
    const held = (await this.admin(`git -C ${shellQuote(cache)} for-each-ref --format='%(objectname)'`)).toString('utf8').split('\n').filter(Boolean);
    const known: string[] = [];
    for (const sha of held) if ((await git(this.repo.root, ['cat-file', '-e', `${sha}^{commit}`], { allowFail: true })).code === 0) known.push(sha);
    const revs = [commit, ...known.map((k) => `^${k}`)].join('\n') + '\n';
    const objects = Number((await gitText(this.repo.root, ['rev-list', '--objects', '--count', '--stdin'], { input: revs })) || 0);
    let bytes = 0;
    if (objects > 0) {
      const pack = (await git(this.repo.root, ['pack-objects', '--revs', '--stdout', '--thin', '--delta-base-offset', '-q'], { input: revs })).stdout;
      bytes = pack.length;
      await this.admin(`git -C ${shellQuote(cache)} index-pack --stdin --fix-thin >/dev/null`, pack);
    }
    await this.admin(`git -C ${shellQuote(cache)} update-ref ${shellQuote(`refs/graft/${ref}`)} ${commit}`);
    return { objects, bytes };
  }

  private admin(command: string, stdin?: Buffer): Promise<Buffer> {
    return remoteGit(this.pool, adminEndpoint(this.host, this.env), command, stdin);
  }
}

/** Removes the session's caches from a host (at `down`); a host that cannot be reached is the caller's to report. */
export async function removeHostCaches(pool: SshPool, host: HostRecord, sessionId: string, env: NodeJS.ProcessEnv): Promise<void> {
  if (host.isolation === 'accounts') await new HostAdmin(pool, host, env).run(['cache-remove', sessionId]);
  else await remoteGit(pool, adminEndpoint(host, env), `rm -rf .graft/cache/${sessionId}`);
}
