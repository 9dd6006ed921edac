/**
 * Parses a hand-written YAML configuration file within bounds. Both YAML readers use it: graph
 * files (yaml-file.ts) and inventories (inventory/yaml-inventory.ts). On its own the yaml
 * library lets a file of a few megabytes take many seconds or overflow the stack (found by the
 * fuzzer in test/reliability):
 *
 * - its duplicate-key check compares each key of a mapping with every key before it, so a
 *   mapping of 50,000 keys took 7.7 s; here duplicates are found in one pass, a set per mapping;
 * - parsing costs about a microsecond or two per token, so a list of a million items took
 *   seconds; here tokens are counted as they are parsed and a file over the budget is refused;
 * - composing recurses once per level of nesting, and its stack overflow came out as a
 *   "syntax error"; here nesting is measured on the parsed tree before it is composed;
 * - resolving an alias walks the whole document; here every alias is resolved in one walk, and
 *   an alias inside its own anchor's value (a structure without end) is refused.
 */
import {
  Composer,
  isAlias,
  isMap,
  isNode,
  isPair,
  isScalar,
  isSeq,
  Lexer,
  type Alias,
  type Node,
  Parser,
  YAMLParseError,
  type CST,
  type Document,
  type DocumentOptions,
  type LineCounter,
  type ParseOptions,
  type SchemaOptions,
} from 'yaml';
import { BugError } from '../errors.js';

/** Tokens (words, punctuation, indentation) in one file, by default: about 13,000 inventory hosts with four variables each. */
/** Bound on alias expansion: a "billion laughs" document must fail fast, not eat memory. */
export const MAX_YAML_ALIASES = 100;

export const MAX_YAML_TOKENS = 500_000;
/** Levels of nested mappings and lists; real graphs use 5, inventories 2 per group level. */
export const MAX_YAML_DEPTH = 100;
/** YAML errors reported per file: a damaged file gives one per token (300,000 were seen), and the first ones are what to fix. */
export const MAX_YAML_ERRORS = 1000;

/** The sentence that stands for the YAML errors after the first MAX_YAML_ERRORS. */
export function moreYamlErrors(total: number): string {
  return `… and ${total - MAX_YAML_ERRORS} more YAML errors (${total} in all); the first ones usually cause the rest`;
}

export type YamlOptions = DocumentOptions & SchemaOptions & Omit<ParseOptions, 'lineCounter'> & { lineCounter: LineCounter; maxTokens?: number };

/**
 * The document and a resolver that follows an alias to its node (anything else is returned as
 * it is), or why it was not composed (`offset` is where reading stopped).
 */
export type BoundedYaml = { doc: Document.Parsed; resolve(node: unknown): unknown; refused?: undefined } | { refused: { offset: number; message: string } };

/**
 * Like yaml's `parseDocument` with `uniqueKeys: true`, within `maxTokens` (MAX_YAML_TOKENS by
 * default) and MAX_YAML_DEPTH. Duplicate keys are reported as yaml reports them (DUPLICATE_KEY errors on
 * the document), several documents as MULTIPLE_DOCS.
 */
export function parseBoundedYaml(text: string, options: YamlOptions): BoundedYaml {
  // Each problem yaml finds is an Error, and capturing its stack (which graft never shows: it
  // reports the position) took two thirds of the time on a damaged file with 200,000 problems.
  // Parsing is synchronous, so nothing else runs while the limit is lowered.
  const stackTraceLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return parseWithinBounds(text, options);
  } finally {
    Error.stackTraceLimit = stackTraceLimit;
  }
}

function parseWithinBounds(text: string, options: YamlOptions): BoundedYaml {
  const { lineCounter, maxTokens = MAX_YAML_TOKENS } = options;
  const parser = new Parser(lineCounter.addNewLine);
  lineCounter.addNewLine(0);
  const tokens: CST.Token[] = [];
  const tooDeepHere = (offset: number) => ({
    refused: { offset, message: `values nest more than ${MAX_YAML_DEPTH} levels deep here; a configuration file needs a handful` },
  });
  let count = 0;
  try {
    for (const lexeme of new Lexer().lex(text)) {
      if (++count > maxTokens) {
        return {
          refused: {
            offset: parser.offset,
            message: `the file is too large to be read as configuration: more than ${maxTokens} YAML tokens (keys, values, punctuation, indentation). Is this the right file?`,
          },
        };
      }
      for (const token of parser.next(lexeme)) tokens.push(token);
    }
    for (const token of parser.end()) tokens.push(token);
  } catch (error) {
    // yaml's parser recurses when it closes nested block collections: thousands of levels
    // (`- - - - …`) overflow the stack before the tree exists to be measured.
    if (error instanceof RangeError) return tooDeepHere(parser.offset);
    throw error;
  }
  const deep = tooDeep(tokens);
  if (deep !== undefined) return tooDeepHere(deep);

  const composer = new Composer({ ...options, uniqueKeys: false });
  let doc: Document.Parsed | undefined;
  for (const next of composer.compose(tokens, true, text.length)) {
    if (!doc) doc = next;
    else {
      doc.errors.push(
        new YAMLParseError([next.range[0], next.range[1]], 'MULTIPLE_DOCS', 'Source contains multiple documents; please use YAML.parseAllDocuments()'),
      );
      break;
    }
  }
  // yaml always ends with a document (compose's forceDoc); none would be yaml's bug or ours.
  if (!doc) throw new BugError('yaml composed no document');
  const shape = inspect(doc);
  if (shape.cycleAt !== undefined)
    return { refused: { offset: shape.cycleAt, message: 'this alias names a value that contains it, which would nest without end' } };
  for (const duplicate of shape.duplicates) doc.errors.push(duplicate);
  doc.errors.sort((a, b) => a.pos[0] - b.pos[0]);
  return { doc, resolve: (node) => (isAlias(node) ? shape.targets.get(node) : node) };
}

/** Offset of the first collection nested deeper than MAX_YAML_DEPTH, walking the tree without recursion. */
function tooDeep(tokens: CST.Token[]): number | undefined {
  const stack: { token: CST.Token | undefined; depth: number }[] = tokens.map((token) => ({ token, depth: 0 }));
  while (stack.length > 0) {
    const { token, depth } = stack.pop()!;
    if (!token) continue;
    if (token.type === 'document') stack.push({ token: token.value, depth });
    else if (token.type === 'block-map' || token.type === 'block-seq' || token.type === 'flow-collection') {
      if (depth >= MAX_YAML_DEPTH) return token.offset;
      for (const item of token.items) {
        if ('key' in item) stack.push({ token: item.key ?? undefined, depth: depth + 1 });
        stack.push({ token: item.value, depth: depth + 1 });
      }
    }
  }
  return undefined;
}

/** What one walk over the composed document finds. */
interface DocumentShape {
  /** Each alias's node: the last node before it with its anchor, as yaml resolves it. */
  targets: Map<Alias, Node | undefined>;
  /** Offset of an alias inside the value its anchor names (`&a [*a]`). */
  cycleAt?: number;
  duplicates: YAMLParseError[];
}

/**
 * Walks the document once, in document order and without recursion: resolves every alias (yaml's
 * own `Alias.resolve` walks the whole document for each alias, so a file with many aliases was
 * quadratic), finds aliases inside their own anchor's value, and duplicate keys (yaml's rule:
 * equal scalar values, `<<` included).
 */
function inspect(doc: Document.Parsed): DocumentShape {
  const shape: DocumentShape = { targets: new Map(), duplicates: [] };
  const anchors = new Map<string, Node>();
  const open = new Set<unknown>();
  const stack: { node: unknown; leave?: boolean }[] = [{ node: doc.contents }];
  while (stack.length > 0) {
    const { node, leave } = stack.pop()!;
    if (leave) {
      open.delete(node);
      continue;
    }
    if (isAlias(node)) {
      const target = anchors.get(node.source);
      shape.targets.set(node, target);
      if (target && open.has(target) && shape.cycleAt === undefined) shape.cycleAt = node.range?.[0] ?? 0;
      continue;
    }
    if (isNode(node) && node.anchor) anchors.set(node.anchor, node);
    if (!isMap(node) && !isSeq(node)) continue;
    open.add(node);
    stack.push({ node, leave: true });
    const children: unknown[] = [];
    const seen = new Set<unknown>();
    for (const item of node.items) {
      if (!isPair(item)) {
        children.push(item);
        continue;
      }
      if (isScalar(item.key) && item.key.range) {
        if (seen.has(item.key.value))
          shape.duplicates.push(new YAMLParseError([item.key.range[0], item.key.range[1]], 'DUPLICATE_KEY', 'Map keys must be unique'));
        seen.add(item.key.value);
      }
      children.push(item.key, item.value);
    }
    for (let i = children.length - 1; i >= 0; i--) stack.push({ node: children[i] });
  }
  return shape;
}
