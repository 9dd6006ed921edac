/**
 * One fuzz case: a seed file, damaged by a few mutations, with the files it refers to. A case
 * is a pure function of (run seed, index), so `FUZZ_SEED` replays a run case for case.
 */
import { mutations as allMutations, pickMutations, type FileFormat } from './mutations.js';
import { caseRandom, type Random } from './random.js';
import { graphSeeds, iniInventorySeeds, supportFiles, yamlInventorySeeds } from './seeds.js';

export type LoaderKind = 'graph' | 'inventory';

export interface FuzzCase {
  index: number;
  /** Which loader reads it: `loadGraphFile` (+ the inventory placement `graft graph check` does) or `loadStaticHostSpecs`. */
  kind: LoaderKind;
  format: FileFormat;
  /** The file handed to the loader, relative to the case's directory. */
  file: string;
  /** Every file of the case, relative to its directory. */
  files: Record<string, Buffer>;
  /** What was done to the seed, in order (`inventory:` marks mutations of a graph's inventory). */
  mutations: string[];
}

function mutate(text: string, format: FileFormat, random: Random, names: string[], prefix = ''): Buffer {
  let out: Buffer = Buffer.from(text, 'utf8');
  for (const mutation of pickMutations(format, random)) {
    out = mutation.apply(out, random);
    names.push(`${prefix}${mutation.name}`);
  }
  return out;
}

export function buildCase(seed: number, index: number): FuzzCase {
  const random = caseRandom(seed, index);
  const names: string[] = [];
  const files: Record<string, Buffer> = Object.fromEntries(Object.entries(supportFiles).map(([name, text]) => [name, Buffer.from(text)]));
  const roll = random.next();
  if (roll < 0.45) {
    const seedIndex = random.int(0, graphSeeds.length - 1);
    const file = 'graph.yaml';
    files[file] = mutate(graphSeeds[seedIndex]!, 'graph', random, names);
    // The graph on inventory hosts names hosts.ini; sometimes that file is damaged instead of (or as well as) the graph.
    const inventory = iniInventorySeeds[0]!;
    files['hosts.ini'] = random.chance(0.3) ? mutate(inventory, 'ini', random, names, 'inventory:') : Buffer.from(inventory);
    return { index, kind: 'graph', format: 'graph', file, files, mutations: names };
  }
  const format: FileFormat = roll < 0.72 ? 'yaml' : 'ini';
  const seeds = format === 'yaml' ? yamlInventorySeeds : iniInventorySeeds;
  // Files without an extension are read by their content, so detection is fuzzed too.
  const file = random.pick(format === 'yaml' ? ['hosts.yaml', 'hosts.yml', 'hosts.json', 'inventory'] : ['hosts.ini', 'hosts', 'inventory']);
  files[file] = mutate(seeds[random.int(0, seeds.length - 1)]!, format, random, names);
  return { index, kind: 'inventory', format, file, files, mutations: names };
}

/** Every mutation's name, for the summary table. */
export const mutationNames: readonly string[] = allMutations.map((m) => m.name);
