import { existsSync, readdirSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { gitText } from './git.js';
import type { LocalRepo } from './local-repo.js';

/** One of the repository's pack files with its index, as git wrote them. */
export interface PackFile {
  /** `pack-<hash>`: the name both files keep on the host. */
  name: string;
  pack: string;
  idx: string;
  bytes: number;
  objects: number;
}

/** What seeding an empty cache from the repository's own pack files needs to send. */
export interface ReusablePacks {
  packs: PackFile[];
  /** Objects stored loose, not in any pack: they travel in a pack of their own. */
  loose: string[];
}

/**
 * The repository's pack files when an empty cache can take them as they are: copied with their
 * indexes, they need no `index-pack` on the host (which hashes and inflates every object again)
 * and no `pack-objects` here. Not when objects live elsewhere (alternates, a partial clone's
 * promisor packs): then some of what the commit needs would be in none of these files.
 */
export async function reusablePacks(repo: LocalRepo): Promise<ReusablePacks | undefined> {
  const objects = resolve(repo.root, await gitText(repo.root, ['rev-parse', '--git-path', 'objects']));
  const alternates = join(objects, 'info', 'alternates');
  if (existsSync(alternates) && statSync(alternates).size > 0) return undefined;
  const dir = join(objects, 'pack');
  const files = existsSync(dir) ? readdirSync(dir) : [];
  if (files.some((file) => file.endsWith('.promisor'))) return undefined;
  const names = files
    .filter((file) => /^pack-[0-9a-f]+\.pack$/.test(file) && files.includes(file.replace(/\.pack$/, '.idx')))
    .map((file) => file.slice(0, -'.pack'.length));
  if (names.length === 0) return undefined;
  const packs = await Promise.all(
    names.map(async (name) => {
      const pack = join(dir, `${name}.pack`);
      const idx = join(dir, `${name}.idx`);
      return { name, pack, idx, bytes: statSync(pack).size + statSync(idx).size, objects: await idxObjectCount(idx) };
    }),
  );
  return { packs, loose: looseObjects(objects) };
}

/** Ids of the loose objects: files `xx/yyyy...` under the object directory. */
function looseObjects(objects: string): string[] {
  return readdirSync(objects)
    .filter((dir) => /^[0-9a-f]{2}$/.test(dir))
    .flatMap((dir) =>
      readdirSync(join(objects, dir))
        .filter((file) => /^[0-9a-f]{38}([0-9a-f]{24})?$/.test(file))
        .map((file) => dir + file),
    );
}

/** The object count an index records: the last entry of its fan-out table (version 2 after an 8-byte header, version 1 at the start). */
async function idxObjectCount(idx: string): Promise<number> {
  const file = await open(idx, 'r');
  try {
    const { buffer } = await file.read(Buffer.alloc(8 + 256 * 4), 0, 8 + 256 * 4, 0);
    const version2 = buffer.readUInt32BE(0) === 0xff744f63;
    return buffer.readUInt32BE((version2 ? 8 : 0) + 255 * 4);
  } finally {
    await file.close();
  }
}
