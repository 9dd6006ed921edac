import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import pLimit from 'p-limit';
import { HostAdmin } from '../hosts/host-admin.js';
import { sessionHostDirCommand } from '../hosts/session-host-dir.js';
import type { HostRecord } from '../model/host.js';
import { HostShell } from '../hosts/host-shell.js';
import { shellQuote } from '../shell-quote.js';
import { oncePerPool, type SshPool } from '../ssh/index.js';
import { git } from './git.js';
import { packObjectCount, storePackCommand } from './pack.js';
import type { LocalRepo } from './local-repo.js';
import { reusablePacks } from './pack-files.js';
import { remoteGit } from './remote-git.js';

/** Each host's cache, per pool: agents starting together on a host ask once. */
const ensured = new WeakMap<SshPool, Map<string, Promise<{ path: string; made: boolean }>>>();

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

  /** Set when `ensure` made the cache itself: it is known to be empty, no listing needed. */
  private made = false;

  /** One cache per controller repository, named by a hash of its path. */
  private get name(): string {
    return `${createHash('sha256').update(this.repo.gitDir).digest('hex').slice(0, 12)}.git`;
  }

  /**
   * Creates the cache if needed and returns its absolute path on the host. Asked once per pool:
   * agents starting together on a host share the answer (only the caller that made the cache
   * knows it empty).
   */
  ensure(): Promise<string> {
    let asked = false;
    const key = `${this.host.user}@${this.host.address}:${this.host.port}/${this.sessionId}/${this.name}`;
    return oncePerPool(ensured, this.pool, key, () => {
      asked = true;
      return this.create();
    }).then(({ path, made }) => {
      this.made = asked && made;
      return path;
    });
  }

  private async create(): Promise<{ path: string; made: boolean }> {
    // One round trip: the session's directory (made if needed), then the cache in it. Agents
    // starting at once on one host (or hosts sharing a machine) all get here: each initialises a
    // private copy and renames it into place, and the first rename wins.
    const dir = await sessionHostDirCommand(this.pool, this.host, this.sessionId, this.env);
    const answer = (
      await this.admin(
        `dir=$(${dir}) && path="$dir"/${this.name} && { test -d "$path" || { t="$path.init.$$" && git init -q --bare "$t" && { mv -T "$t" "$path" 2>/dev/null && echo made || rm -rf "$t"; }; }; } && echo "$dir"`,
      )
    )
      .toString('utf8')
      .trim()
      .split('\n');
    return { path: `${answer.at(-1)}/${this.name}`, made: answer.includes('made') };
  }

  /**
   * Sends `commit` and everything it needs that the cache lacks, as one thin pack, and pins it
   * under `refs/graft/<ref>` so it stays reachable. Only objects the cache does not have travel;
   * a commit the cache already holds costs one listing and nothing else. `held` names commits
   * the cache should already hold (an agent's pinned base): the pack then leaves them out and
   * goes in the same round trip as the check that they are there, and the listing is only
   * needed when one is missing.
   */
  async push(cache: string, commit: string, ref: string, held: string[] = []): Promise<TransferStats> {
    return (await this.pushThen(cache, commit, ref, held)).transfer;
  }

  /**
   * `push`, then `then` (a command for the admin's login) once the commit is pinned: in the same
   * round trip when the cache holds `held`. Returns what `then` printed.
   */
  async pushThen(cache: string, commit: string, ref: string, held: string[], then?: string): Promise<{ transfer: TransferStats; output: string }> {
    if (held.length > 0) {
      const sent = await this.pushAssuming(cache, commit, ref, held, then);
      if (sent) return sent;
    }
    const transfer = await this.pushListed(cache, commit, ref);
    return { transfer, output: then ? (await this.admin(then)).toString('utf8') : '' };
  }

  private async pushListed(cache: string, commit: string, ref: string): Promise<TransferStats> {
    let listing: [string, string][] = [];
    if (!this.made) {
      // One round trip either way: a commit some ref already holds (whole, since refs are set
      // only after a pack is stored) is pinned there and then; otherwise the refs come back.
      const refName = `refs/graft/${ref}`;
      const answer = await this.admin(
        [
          `refs=$(git -C ${shellQuote(cache)} for-each-ref --format='%(objectname) %(refname)')`,
          `if printf '%s\\n' "$refs" | grep -q '^${commit} '; then { printf '%s\\n' "$refs" | grep -qx ${shellQuote(`${commit} ${refName}`)} || ${pinCommand(cache, commit, ref)}; } && echo pinned; else printf '%s\\n' "$refs"; fi`,
        ].join('\n'),
      );
      const text = answer.toString('utf8');
      if (text.trim() === 'pinned') return { objects: 0, bytes: 0 };
      listing = text
        .split('\n')
        .filter(Boolean)
        .map((line) => line.split(' ') as [string, string]);
    }
    this.made = false;
    if (listing.length === 0) {
      const seeded = await this.seed(cache, commit, ref);
      if (seeded) return seeded;
    }
    const known = await commitsHere(
      this.repo.root,
      listing.map(([sha]) => sha),
    );
    const pack = await thinPack(this.repo.root, commit, known);
    const objects = packObjectCount(pack);
    await this.admin(`git -C ${shellQuote(cache)} ${storePackCommand(objects)} >/dev/null && ${pinCommand(cache, commit, ref)}`, pack);
    return { objects, bytes: pack.length };
  }

  /** One round trip when the cache holds `held`; undefined (nothing stored, `then` not run) when it does not. */
  private async pushAssuming(
    cache: string,
    commit: string,
    ref: string,
    held: string[],
    then?: string,
  ): Promise<{ transfer: TransferStats; output: string } | undefined> {
    const pack = held.includes(commit) ? Buffer.alloc(0) : await thinPack(this.repo.root, commit, held);
    const objects = packObjectCount(pack);
    const q = shellQuote(cache);
    const store = objects > 0 ? `git -C ${q} ${storePackCommand(objects)} >/dev/null && ` : '';
    const check = held.map((c) => `git -C ${q} cat-file -e ${c}^{commit} 2>/dev/null`).join(' && ');
    // `then` may end in a here-document, so the branch it ends closes on a line of its own.
    const answer = (
      await this.admin(`if ${check}; then ${store}${pinCommand(cache, commit, ref)} && echo stored${then ? ` && ${then}` : ''}\nelse echo missing; fi`, pack)
    ).toString('utf8');
    const newline = answer.indexOf('\n');
    if ((newline < 0 ? answer : answer.slice(0, newline)).trim() !== 'stored') return undefined;
    return { transfer: { objects, bytes: pack.length }, output: newline < 0 ? '' : answer.slice(newline + 1) };
  }

  /**
   * Fills an empty cache with the repository's own pack files, sent as they are with their
   * indexes (see reusablePacks), and its loose objects in a pack of their own.
   * Undefined when the repository's packs cannot be used that way.
   */
  private async seed(cache: string, commit: string, ref: string): Promise<TransferStats | undefined> {
    const reusable = await reusablePacks(this.repo);
    if (!reusable) return undefined;
    const q = shellQuote;
    const dir = `${cache}/objects/pack`;
    // Temporary names git does not read (it finds packs by pack-*.idx), unique per sender.
    const prefix = `${dir}/tmp_graft_${randomBytes(6).toString('hex')}_`;
    // Every loose object, reachable or not: listing them is cheaper than finding which the commit needs.
    const loose =
      reusable.loose.length > 0
        ? (await git(this.repo.root, ['pack-objects', '--stdout', '--delta-base-offset', '-q'], { input: reusable.loose.join('\n') + '\n' })).stdout
        : Buffer.alloc(0);
    const looseObjects = packObjectCount(loose);
    // Each pack before its index, so that no reader finds an index without its pack.
    const files = reusable.packs.flatMap((p) => [
      { local: p.pack, name: `${p.name}.pack` },
      { local: p.idx, name: `${p.name}.idx` },
    ]);
    // Two files at a time (a host's sshd allows 10 sessions per connection by default, and the
    // agent's account is being made over the same one), read in 1 MiB pieces: measured here, a
    // 43 MB pack crosses in half the time 64 KiB ones take.
    const limit = pLimit(2);
    try {
      await Promise.all([
        ...files.map((file) => limit(() => this.admin(`cat > ${q(prefix + file.name)}`, createReadStream(file.local, { highWaterMark: 1024 * 1024 })))),
        ...(looseObjects > 0 ? [limit(() => this.admin(`git -C ${q(cache)} ${storePackCommand(looseObjects)} >/dev/null`, loose))] : []),
      ]);
      const install = files.map((file) => `chmod 0444 ${q(prefix + file.name)} && mv -f ${q(prefix + file.name)} ${q(`${dir}/${file.name}`)}`);
      await this.admin([...install, pinCommand(cache, commit, ref)].join(' && '));
    } catch (error) {
      await this.admin(`rm -f ${q(prefix)}*`).catch(() => undefined);
      throw error;
    }
    return { objects: reusable.packs.reduce((n, p) => n + p.objects, looseObjects), bytes: reusable.packs.reduce((n, p) => n + p.bytes, loose.length) };
  }

  private admin(command: string, stdin?: Buffer | Readable): Promise<Buffer> {
    return remoteGit(HostShell.admin(this.pool, this.host, this.env), command, stdin);
  }
}

function pinCommand(cache: string, commit: string, ref: string): string {
  return `git -C ${shellQuote(cache)} update-ref ${shellQuote(`refs/graft/${ref}`)} ${commit}`;
}

/** `commit` and what it needs, less what `known` commits already bring, as a thin pack. */
async function thinPack(root: string, commit: string, known: string[]): Promise<Buffer> {
  const revs = [commit, ...known.map((k) => `^${k}`)].join('\n') + '\n';
  return (await git(root, ['pack-objects', '--revs', '--stdout', '--thin', '--delta-base-offset', '-q'], { input: revs })).stdout;
}

/** Which of `shas` are commits in the local repository: one `cat-file --batch-check`, not a process each. */
async function commitsHere(root: string, shas: string[]): Promise<string[]> {
  if (shas.length === 0) return [];
  const out = (await git(root, ['cat-file', '--batch-check=%(objectname) %(objecttype)'], { input: shas.join('\n') + '\n' })).stdout.toString('utf8');
  return out
    .split('\n')
    .filter((line) => line.endsWith(' commit'))
    .map((line) => line.split(' ')[0]!);
}

/** Removes the session's caches from a host (at `down`); a host that cannot be reached is the caller's to report. */
export async function removeHostCaches(pool: SshPool, host: HostRecord, sessionId: string, env: NodeJS.ProcessEnv): Promise<void> {
  if (host.isolation === 'accounts') await new HostAdmin(pool, host, env).run(['cache-remove', sessionId]);
  else await remoteGit(HostShell.admin(pool, host, env), `rm -rf .graft/cache/${sessionId}`);
}
