/**
 * Reads a YAML configuration file (a graph, settings) defensively and keeps the source
 * positions, so that every later problem can name its line. Problems of the file itself
 * (missing, too big, not YAML, an alias bomb) come back as ConfigProblems, never as throws.
 *
 * YAML 1.2, so `on:`, `yes` and `no` stay strings (YAML 1.1 would read the `on:` key of a task
 * as the boolean true). `<<` merge keys are allowed, to share settings between tasks.
 */
import { isMap, isScalar, isSeq, LineCounter, type Document, type Node, type Pair, type YAMLMap } from 'yaml';
import type { ConfigProblem } from '../errors.js';
import { readConfigText, UnreadableConfigFile } from './config-text.js';
import { MAX_YAML_ALIASES, MAX_YAML_ERRORS, moreYamlErrors, parseBoundedYaml } from './yaml-document.js';

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

/** Reads and parses `file`; `maxBytes` and `maxTokens` cap what is read, since a config file is written by hand. */
export async function readYamlFile(file: string, maxBytes: number, maxTokens?: number): Promise<YamlFile> {
  let text: string;
  try {
    text = readConfigText(file, maxBytes);
  } catch (error) {
    if (!(error instanceof UnreadableConfigFile)) throw error;
    return unreadable(file, error.message);
  }
  return parseYamlText(text, file, maxTokens);
}

/** Parses YAML text read from `file` (used in problems). */
export function parseYamlText(text: string, file: string, maxTokens?: number): YamlFile {
  const lineCounter = new LineCounter();
  const bounded = parseBoundedYaml(text, { version: '1.2', merge: true, prettyErrors: false, lineCounter, maxTokens });
  if (bounded.refused)
    return {
      value: undefined,
      problems: [{ file, path: '', line: lineCounter.linePos(bounded.refused.offset).line, message: bounded.refused.message }],
      lineOf: () => undefined,
    };
  const { doc, resolve } = bounded;
  const lineAt = (offset: number): number => lineCounter.linePos(offset).line;
  const keyIndex = new WeakMap<YAMLMap, Map<string, Pair>>();
  const lineOf = (path: DocPath): number | undefined => {
    const node = nodeAt(doc, path, resolve, keyIndex);
    return node?.range ? lineAt(node.range[0]) : undefined;
  };
  const found = [...doc.errors, ...doc.warnings];
  const problems: ConfigProblem[] = found.slice(0, MAX_YAML_ERRORS).map((e) => {
    const { line, col } = lineCounter.linePos(e.pos[0]);
    const message =
      e.code === 'DUPLICATE_KEY'
        ? `duplicate key ${JSON.stringify(text.slice(e.pos[0], e.pos[1]).trim())}: a key may appear once in a mapping`
        : e.code === 'MULTIPLE_DOCS'
          ? 'the file holds several YAML documents (separated by ---); put everything in one'
          : `YAML syntax at column ${col}: ${e.message.split('\n')[0]}`;
    return { file, path: '', line, message };
  });
  if (found.length > MAX_YAML_ERRORS) problems.push({ file, path: '', message: moreYamlErrors(found.length) });
  if (problems.length > 0) return { value: undefined, problems, lineOf };
  try {
    return { value: doc.toJS({ maxAliasCount: MAX_YAML_ALIASES }), problems, lineOf };
  } catch (error) {
    // The document composed cleanly, so what yaml cannot build is the file's: too many aliases
    // (ReferenceError), or a merge key (<<) whose source is not a mapping.
    if (!(error instanceof Error)) throw error;
    const message =
      error instanceof ReferenceError
        ? `YAML aliases expand too far (more than ${MAX_YAML_ALIASES} uses); write the values out instead`
        : `the YAML values cannot be built: ${error.message}`;
    return { value: undefined, problems: [{ file, path: '', message }], lineOf };
  }
}

/**
 * The node at `path`, or the deepest one found on the way; a map entry is located by its key
 * (the first of that name). Each mapping's keys are indexed once, in `index`: a file with
 * thousands of problems in one mapping asks for thousands of lines.
 */
function nodeAt(doc: Document, path: DocPath, resolve: (node: unknown) => unknown, index: WeakMap<YAMLMap, Map<string, Pair>>): Node | undefined {
  let node: unknown = doc.contents;
  let found: Node | undefined = (doc.contents as Node | null) ?? undefined;
  for (const segment of path) {
    node = resolve(node);
    if (isMap(node)) {
      let keys = index.get(node);
      if (!keys) {
        keys = new Map();
        for (const p of node.items) if (isScalar(p.key) && !keys.has(String(p.key.value))) keys.set(String(p.key.value), p);
        index.set(node, keys);
      }
      const pair = keys.get(String(segment));
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
    .map((segment, i) =>
      typeof segment === 'number'
        ? `[${segment}]`
        : /^[A-Za-z0-9_-]+$/.test(String(segment))
          ? `${i === 0 ? '' : '.'}${String(segment)}`
          : `[${JSON.stringify(String(segment))}]`,
    )
    .join('');
}
