/**
 * Deterministic git repositories for the sync benchmark (bench/sync.ts), generated from a seeded
 * PRNG through one `git fast-import` stream each (thousands of `git commit` processes would take
 * minutes), then checked out and packed with `git gc -q`:
 *
 * - `small`: ~50 MB worktree, ~5,000 small text files and five 5-10 MB binary files of random
 *   bytes, 50 commits.
 * - `history`: 2,000 commits over ~3,000 text files (each commit edits a few files, some add one).
 *
 * Same seed, same bytes, same commit ids.
 */
import { execFileSync } from 'node:child_process';
import { createCipheriv, createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';

export type RepoKind = 'small' | 'history';

/** mulberry32: small, fast, good enough for picking files and words. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Incompressible bytes, deterministic: AES-256-CTR over zeros with a key derived from the label. */
function randomBytes(label: string, size: number): Buffer {
  const key = createHash('sha256').update(`graft-bench:${label}`).digest();
  const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  return Buffer.concat([cipher.update(Buffer.alloc(size)), cipher.final()]);
}

const words = (
  'const let function return if else for while await async import export from class interface type ' +
  'string number boolean null undefined true false value result error host agent session worktree sync ' +
  'push pull commit branch object pack cache index tree blob ref remote local account key identity ' +
  'controller graph task harness provisioner inventory label slot exec timeout retry event log state'
).split(' ');

function textLine(rand: () => number): string {
  const n = 3 + Math.floor(rand() * 10);
  const parts: string[] = [];
  for (let i = 0; i < n; i++) parts.push(words[Math.floor(rand() * words.length)]!);
  return '  '.repeat(Math.floor(rand() * 3)) + parts.join(' ');
}

function textFile(rand: () => number, lines: number): string[] {
  return Array.from({ length: lines }, () => textLine(rand));
}

/** Builds a fast-import stream: blobs inline, one commit at a time on refs/heads/main. */
class Stream {
  private readonly chunks: Buffer[] = [];
  private commits = 0;

  commit(message: string, changes: { path: string; data: Buffer | string }[]): void {
    const when = 1_700_000_000 + this.commits * 600;
    this.commits += 1;
    this.push(`commit refs/heads/main\ncommitter Bench <bench@graft.invalid> ${when} +0000\n`);
    this.data(message);
    for (const change of changes) {
      this.push(`M 100644 inline ${change.path}\n`);
      this.data(change.data);
    }
    this.push('\n');
  }

  bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }

  private data(data: Buffer | string): void {
    const buf = typeof data === 'string' ? Buffer.from(data) : data;
    this.push(`data ${buf.length}\n`);
    this.chunks.push(buf);
    this.push('\n');
  }

  private push(s: string): void {
    this.chunks.push(Buffer.from(s));
  }
}

function smallRepo(seed: number): Stream {
  const rand = prng(seed);
  const stream = new Stream();
  const files = new Map<string, string[]>();
  for (let d = 0; d < 50; d++) {
    for (let f = 0; f < 100; f++)
      files.set(`src/mod${String(d).padStart(2, '0')}/file${String(f).padStart(3, '0')}.txt`, textFile(rand, 20 + Math.floor(rand() * 60)));
  }
  const binaries = [
    { at: 0, path: 'assets/model-a.bin', mb: 10 },
    { at: 0, path: 'assets/model-b.bin', mb: 5 },
    { at: 14, path: 'assets/textures.bin', mb: 8 },
    { at: 29, path: 'assets/video.bin', mb: 7 },
    { at: 44, path: 'assets/dataset.bin', mb: 6 },
  ];
  const paths = [...files.keys()];
  const render = (path: string) => files.get(path)!.join('\n') + '\n';
  for (let c = 0; c < 50; c++) {
    const changes: { path: string; data: Buffer | string }[] = [];
    if (c === 0) for (const path of paths) changes.push({ path, data: render(path) });
    else {
      const touched = new Set<string>();
      for (let k = 0; k < 20; k++) {
        const path = paths[Math.floor(rand() * paths.length)]!;
        const lines = files.get(path)!;
        lines[Math.floor(rand() * lines.length)] = textLine(rand);
        touched.add(path);
      }
      for (const path of touched) changes.push({ path, data: render(path) });
    }
    for (const b of binaries) if (b.at === c) changes.push({ path: b.path, data: randomBytes(`${seed}:${b.path}`, b.mb * 1024 * 1024) });
    stream.commit(`commit ${c + 1}`, changes);
  }
  return stream;
}

function historyRepo(seed: number): Stream {
  const rand = prng(seed);
  const stream = new Stream();
  const files = new Map<string, string[]>();
  for (let d = 0; d < 30; d++) {
    for (let f = 0; f < 100; f++)
      files.set(`lib/pkg${String(d).padStart(2, '0')}/mod${String(f).padStart(3, '0')}.ts`, textFile(rand, 20 + Math.floor(rand() * 40)));
  }
  const paths = [...files.keys()];
  const render = (path: string) => files.get(path)!.join('\n') + '\n';
  stream.commit(
    'initial import',
    paths.map((path) => ({ path, data: render(path) })),
  );
  for (let c = 1; c < 2000; c++) {
    const touched = new Set<string>();
    const n = 1 + Math.floor(rand() * 4);
    for (let k = 0; k < n; k++) {
      const path = paths[Math.floor(rand() * paths.length)]!;
      const lines = files.get(path)!;
      const at = Math.floor(rand() * lines.length);
      if (rand() < 0.3) lines.splice(at, 0, textLine(rand));
      else lines[at] = textLine(rand);
      touched.add(path);
    }
    if (rand() < 0.05) {
      const path = `lib/new/file${String(c).padStart(4, '0')}.ts`;
      files.set(path, textFile(rand, 10 + Math.floor(rand() * 30)));
      paths.push(path);
      touched.add(path);
    }
    stream.commit(
      `change ${c + 1}`,
      [...touched].map((path) => ({ path, data: render(path) })),
    );
  }
  return stream;
}

function run(cwd: string, args: string[], input?: Buffer): void {
  execFileSync('git', args, { cwd, input, stdio: [input ? 'pipe' : 'ignore', 'ignore', 'inherit'], maxBuffer: 1024 * 1024 * 1024 });
}

/** Generates the repository into `dir` (created), checked out on main and packed. */
export function generateRepo(kind: RepoKind, dir: string, seed = 42): void {
  mkdirSync(dir, { recursive: true });
  run(dir, ['init', '-q', '-b', 'main']);
  run(dir, ['config', 'user.name', 'Bench']);
  run(dir, ['config', 'user.email', 'bench@graft.invalid']);
  run(dir, ['fast-import', '--quiet'], (kind === 'small' ? smallRepo(seed) : historyRepo(seed)).bytes());
  run(dir, ['reset', '-q', '--hard', 'main']);
  run(dir, ['gc', '-q']);
}
