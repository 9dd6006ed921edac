/**
 * Reads a YAML configuration file (a graph, settings) defensively and keeps the source
 * positions, so that every later problem can name its line. Problems of the file itself
 * (missing, too big, not YAML, an alias bomb) come back as ConfigProblems, never as throws.
 *
 * YAML 1.2, so `on:`, `yes` and `no` stay strings (YAML 1.1 would read the `on:` key of a task
 * as the boolean true). `<<` merge keys are allowed, to share settings between tasks.
 */
import { stat, readFile } from 'node:fs/promises';
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import type { ConfigProblem } from '../errors.js';
import { MAX_YAML_ALIASES } from '../inventory/yaml-inventory.js';

/** A path into the document: map keys and list indices, as zod reports them. */
export type DocPath = readonly PropertyKey[];

export interface YamlFile {
  /** The document as plain data; undefined when the file could not be read or parsed. */
  value: unknown;
  /** What is wrong with the file as YAML; empty when `value` is usable. */
  problems: ConfigProblem[];
  /** The 1-based line of the deepest node of `path` present in the file (a key's own line for map entries). */
  lineOf(path: DocPath): number | undefined;
}

const unreadable = (file: string, message: string): YamlFile => ({ value: undefined, problems: [{ file, path: '', message }], lineOf: () => undefined });

/** Reads and parses `file`; `maxBytes` caps what is read, since a config file is written by hand. */
export async function readYamlFile(file: string, maxBytes: number): Promise<YamlFile> {
  let text: string;
  try {
    const info = await stat(file);
    if (info.isDirectory()) return unreadable(file, 'is a directory, not a file');
    if (!info.isFile()) return unreadable(file, 'is not a regular file');
    if (info.size > maxBytes) return unreadable(file, `is ${info.size} bytes; the limit is ${maxBytes} bytes (${maxBytes / 1024} KiB). Is this the right file?`);
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return unreadable(file, code === 'ENOENT' ? 'file not found' : code === 'EACCES' ? 'permission denied' : `cannot read the file: ${(error as Error).message}`);
  }
  return parseYamlText(text, file);
}

/** Parses YAML text read from `file` (used in problems). */
export function parseYamlText(text: string, file: string): YamlFile {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { version: '1.2', merge: true, uniqueKeys: true, prettyErrors: false, lineCounter });
  const lineAt = (offset: number): number => lineCounter.linePos(offset).line;
  const lineOf = (path: DocPath): number | undefined => {
    const node = nodeAt(doc, path);
    return node?.range ? lineAt(node.range[0]) : undefined;
  };
  const problems: ConfigProblem[] = [...doc.errors, ...doc.warnings].map((e) => {
    const { line, col } = lineCounter.linePos(e.pos[0]);
    const message =
      e.code === 'DUPLICATE_KEY' ? `duplicate key ${JSON.stringify(text.slice(e.pos[0], e.pos[1]).trim())}: a key may appear once in a mapping`
      : e.code === 'MULTIPLE_DOCS' ? 'the file holds several YAML documents (separated by ---); put everything in one'
      : `YAML syntax at column ${col}: ${e.message.split('\n')[0]}`;
    return { file, path: '', line, message };
  });
  if (problems.length > 0) return { value: undefined, problems, lineOf };
  try {
    return { value: doc.toJS({ maxAliasCount: MAX_YAML_ALIASES }), problems, lineOf };
  } catch (error) {
    if (!(error instanceof ReferenceError)) throw error;
    return { value: undefined, problems: [{ file, path: '', message: `YAML aliases expand too far (more than ${MAX_YAML_ALIASES} uses); write the values out instead` }], lineOf };
  }
}

/** The node at `path`, or the deepest one found on the way; a map entry is located by its key. */
function nodeAt(doc: Document, path: DocPath): Node | undefined {
  let node: unknown = doc.contents;
  let found: Node | undefined = (doc.contents as Node | null) ?? undefined;
  for (const segment of path) {
    if (isAlias(node)) node = node.resolve(doc);
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(segment));
      if (!pair) break;
      found = pair.key as Node;
      node = pair.value;
    } else if (isSeq(node) && typeof segment === 'number' && node.items[segment]) {
      node = node.items[segment];
      found = node as Node;
    } else break;
  }
  return found;
}

/** `tasks.implement-api.needs[1]`; a key that is not a plain word is quoted: `tasks["two words"]`. */
export function formatDocPath(path: DocPath): string {
  return path
    .map((segment, i) => (typeof segment === 'number' ? `[${segment}]` : /^[A-Za-z0-9_-]+$/.test(String(segment)) ? `${i === 0 ? '' : '.'}${String(segment)}` : `[${JSON.stringify(String(segment))}]`))
    .join('');
}
