/**
 * Ways to damage a valid configuration file. Structural mutations work on the YAML document
 * (a value of the wrong type, or a huge or deeply nested one, at a random path); text mutations
 * work on the bytes (truncation, unicode and invalid UTF-8, duplicated lines, stray YAML
 * syntax); INI mutations add the oddities of Ansible's INI format. Huge values are written as
 * raw flow text, so the fuzzer itself never has to build or serialise them as objects.
 */
import { isMap, isScalar, isSeq, parseDocument, type Document } from 'yaml';
import type { Random } from './random.js';

export type FileFormat = 'graph' | 'yaml' | 'ini';

export interface Mutation {
  name: string;
  formats: readonly FileFormat[];
  apply(text: Buffer, random: Random): Buffer;
}

const utf8 = (text: string) => Buffer.from(text, 'utf8');

/** Byte sequences a hand-written file should never hold, and some it may. */
const oddBytes: readonly Buffer[] = [
  utf8('\u202e'), // right-to-left override
  utf8('\u200f\u05e9\u05dc\u05d5\u05dd'), // right-to-left mark and Hebrew
  utf8('\u0000'),
  utf8('🧪'),
  utf8('👩‍👩‍👧‍👦'), // a zero-width-joiner sequence
  utf8('e\u0301\u0302\u0303\u0304\u0305\u0306\u0307\u0308'), // stacked combining marks
  utf8('\ufeff'), // a BOM in the middle
  utf8('\u2028'), // line separator
  utf8('\u00a0'), // no-break space
  Buffer.from([0xff]),
  Buffer.from([0xc3]), // a lone lead byte
  Buffer.from([0xc0, 0xaf]), // an overlong "/"
  Buffer.from([0xed, 0xa0, 0x80]), // an encoded lone surrogate
  Buffer.from([0xf4, 0x90, 0x80, 0x80]), // beyond U+10FFFF
];

/** Text that means something to YAML (or INI) dropped where it does not belong. */
const syntaxTokens: readonly string[] = [
  '*',
  '*nowhere',
  '&',
  '&a ',
  '!!binary ',
  '!!python/object:os.system ',
  '!foo ',
  '? ',
  '|',
  '>-',
  '%YAML 1.1\n',
  '---\n',
  '...\n',
  '{',
  '}',
  '[',
  ']',
  '"',
  "'",
  '#',
  ':',
  ': ',
  '- ',
  '<<: *x',
  '~',
  '.nan',
  '0x1F',
  '1e400',
  '-.inf',
  '=',
  '\t',
  '\\',
  ',',
  '@',
  '`',
];

const offsetIn = (text: Buffer, random: Random) => random.int(0, text.length);
const insertAt = (text: Buffer, at: number, piece: Buffer) => Buffer.concat([text.subarray(0, at), piece, text.subarray(at)]);
const lines = (text: Buffer) => text.toString('latin1').split('\n');
const joinLines = (parts: string[]) => Buffer.from(parts.join('\n'), 'latin1');

/** A flow list of `count` small items. */
const hugeList = (count: number) => `[${Array(count).fill('0').join(',')}]`;
/** `depth` nested flow lists or mappings. */
const deepFlow = (depth: number, random: Random) =>
  random.chance(0.5) ? `${'['.repeat(depth)}x${']'.repeat(depth)}` : `${'{a: '.repeat(depth)}x${'}'.repeat(depth)}`;
/** A flow mapping with `count` distinct keys. */
const manyKeys = (count: number) => `{${Array.from({ length: count }, (_, i) => `k${i}: ${i}`).join(', ')}}`;
/** A "billion laughs": `levels` lists of ten, each made of aliases to the one before. */
function aliasBomb(levels: number): string {
  const parts = ['&l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]'];
  for (let i = 1; i < levels; i++)
    parts.push(
      `&l${i} [${Array(10)
        .fill(`*l${i - 1}`)
        .join(', ')}]`,
    );
  return `[${parts.join(', ')}]`;
}

/** Values of every YAML type, for "wrong type at a random path". */
const wrongTypedValues: readonly unknown[] = [
  0,
  -1,
  1.5,
  1e308,
  2 ** 64,
  true,
  false,
  null,
  '',
  'text',
  [],
  {},
  ['a', 1],
  { a: 1 },
  '\u202eevil',
  ' ',
  '-rf',
  '$(touch /tmp/x)',
];

/** Keys no config file means, some of them JavaScript's own. */
const oddKeys: readonly string[] = [
  '__proto__',
  'constructor',
  'toString',
  'hasOwnProperty',
  'retires',
  'Agents',
  '',
  ' ',
  'a'.repeat(300),
  'tâche',
  '-x',
  'a;rm -rf ~',
  '$(id)',
  '\u202egnp',
  '0',
  'null',
  'true',
];

/** Every node path in the document (keys and indices), root first. */
function nodePaths(doc: Document): (string | number)[][] {
  const out: (string | number)[][] = [[]];
  const stack: { node: unknown; path: (string | number)[] }[] = [{ node: doc.contents, path: [] }];
  while (stack.length > 0) {
    const { node, path } = stack.pop()!;
    if (isMap(node)) {
      for (const pair of node.items) {
        if (!isScalar(pair.key)) continue;
        const child = [...path, String(pair.key.value)];
        out.push(child);
        stack.push({ node: pair.value, path: child });
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => {
        out.push([...path, i]);
        stack.push({ node: item, path: [...path, i] });
      });
    }
  }
  return out;
}

/** Replaces the value at a random path of a YAML file: with `value`, or with raw YAML text. */
function atRandomPath(text: Buffer, random: Random, change: (doc: Document, path: (string | number)[]) => string | undefined): Buffer {
  const doc: Document = parseDocument(text.toString('utf8'), { version: '1.2', merge: true });
  if (doc.errors.length > 0) return text;
  const path = random.pick(nodePaths(doc));
  const raw = change(doc, path);
  const placeholder = 'fuzzrawvalue';
  if (raw !== undefined && path.length === 0) doc.contents = doc.createNode(placeholder);
  else if (raw !== undefined) doc.setIn(path, placeholder);
  try {
    return utf8(raw === undefined ? String(doc) : String(doc).replace(placeholder, () => raw));
  } catch {
    // The change left an alias without its anchor, which YAML cannot write: the case keeps the seed as it was.
    return text;
  }
}

const structural: Mutation[] = [
  {
    name: 'wrong-type',
    formats: ['graph', 'yaml'],
    apply: (text, random) =>
      atRandomPath(text, random, (doc, path) => {
        const value = random.pick(wrongTypedValues);
        if (path.length === 0) doc.contents = doc.createNode(value);
        else doc.setIn(path, value);
        return undefined;
      }),
  },
  {
    name: 'huge-string',
    formats: ['graph', 'yaml'],
    apply: (text, random) => atRandomPath(text, random, () => JSON.stringify(random.pick(['a', 'é', '🧪', ' ', '\\']).repeat(random.magnitude(6)))),
  },
  {
    name: 'huge-list',
    formats: ['graph', 'yaml'],
    apply: (text, random) => atRandomPath(text, random, () => hugeList(random.pick([1_000, 100_000, 1_000_000]))),
  },
  {
    name: 'deep-nesting',
    formats: ['graph', 'yaml'],
    apply: (text, random) => atRandomPath(text, random, () => deepFlow(random.pick([50, 500, 5_000, 50_000]), random)),
  },
  { name: 'many-keys', formats: ['graph', 'yaml'], apply: (text, random) => atRandomPath(text, random, () => manyKeys(random.pick([100, 10_000, 60_000]))) },
  { name: 'alias-bomb', formats: ['graph', 'yaml'], apply: (text, random) => atRandomPath(text, random, () => aliasBomb(random.int(2, 9))) },
  {
    name: 'alias-to-itself',
    formats: ['graph', 'yaml'],
    apply: (text, random) => atRandomPath(text, random, () => random.pick(['&r [*r]', '&r {a: *r}', '&r [1, [2, *r]]'])),
  },
  {
    name: 'odd-key',
    formats: ['graph', 'yaml'],
    apply: (text, random) =>
      atRandomPath(text, random, (doc, path) => {
        const parent = path.slice(0, -1);
        const map = parent.length === 0 ? doc.contents : doc.getIn(parent, true);
        if (!isMap(map)) return undefined;
        map.set(random.pick(oddKeys), random.pick(wrongTypedValues.concat(['sh', 'plan', { harness: 'shell', command: 'true' }, { agent: 'sh' }])));
        return undefined;
      }),
  },
  {
    name: 'odd-reference',
    formats: ['graph'],
    apply: (text, random) =>
      atRandomPath(text, random, (doc, path) => {
        if (path.length === 0) return undefined;
        doc.setIn(path, random.pick(['constructor', 'toString', '__proto__', 'hasOwnProperty', 'valueOf', '', 'plan', 'a'.repeat(200)]));
        return undefined;
      }),
  },
  { name: 'delete-key', formats: ['graph', 'yaml'], apply: (text, random) => atRandomPath(text, random, (doc, path) => (doc.deleteIn(path), undefined)) },
];

/** Paths a graph or inventory may name (instructions, inventory, known_hosts) that are not files to read. */
const oddPaths: readonly string[] = [
  '/dev/zero',
  '/dev/urandom',
  '/dev/stdin',
  '/proc/self/status',
  '/',
  '.',
  '..',
  '~',
  '/nonexistent/file',
  'known_hosts\u0000x',
  '/etc/shadow',
  'a'.repeat(5000),
];

const textual: Mutation[] = [
  {
    name: 'odd-path',
    formats: ['graph', 'yaml', 'ini'],
    apply: (text, random) =>
      Buffer.from(
        text.toString('latin1').replace(/prompts\/coder\.md|hosts\.ini|known_hosts/g, () => random.pick(oddPaths)),
        'latin1',
      ),
  },
  { name: 'truncate', formats: ['graph', 'yaml', 'ini'], apply: (text, random) => text.subarray(0, offsetIn(text, random)) },
  {
    name: 'odd-bytes',
    formats: ['graph', 'yaml', 'ini'],
    apply: (text, random) => {
      let out = text;
      for (let i = random.int(1, 4); i > 0; i--) out = insertAt(out, offsetIn(out, random), random.pick(oddBytes));
      return out;
    },
  },
  {
    name: 'byte-flip',
    formats: ['graph', 'yaml', 'ini'],
    apply: (text, random) => {
      const out = Buffer.from(text);
      for (let i = random.int(1, 5); i > 0 && out.length > 0; i--) out[random.int(0, out.length - 1)] = random.int(0, 255);
      return out;
    },
  },
  { name: 'syntax-token', formats: ['graph', 'yaml', 'ini'], apply: (text, random) => insertAt(text, offsetIn(text, random), utf8(random.pick(syntaxTokens))) },
  {
    name: 'duplicate-line',
    formats: ['graph', 'yaml', 'ini'],
    apply: (text, random) => {
      const parts = lines(text);
      const i = random.int(0, parts.length - 1);
      parts.splice(i, 0, parts[i]!);
      return joinLines(parts);
    },
  },
  {
    name: 'delete-line',
    formats: ['graph', 'yaml', 'ini'],
    apply: (text, random) => {
      const parts = lines(text);
      parts.splice(random.int(0, parts.length - 1), 1);
      return joinLines(parts);
    },
  },
  {
    name: 'swap-lines',
    formats: ['graph', 'yaml', 'ini'],
    apply: (text, random) => {
      const parts = lines(text);
      const [i, j] = [random.int(0, parts.length - 1), random.int(0, parts.length - 1)];
      [parts[i], parts[j]] = [parts[j]!, parts[i]!];
      return joinLines(parts);
    },
  },
  {
    name: 'indent',
    formats: ['graph', 'yaml', 'ini'],
    apply: (text, random) => {
      const parts = lines(text);
      const i = random.int(0, parts.length - 1);
      parts[i] = random.chance(0.5) ? `${random.pick([' ', '  ', '\t', '   \t'])}${parts[i]}` : parts[i]!.replace(/^\s+/, '');
      return joinLines(parts);
    },
  },
  {
    name: 'crlf',
    formats: ['graph', 'yaml', 'ini'],
    apply: (text, random) =>
      Buffer.from(
        text.toString('latin1').replace(/\n/g, () => random.pick(['\r\n', '\r\n', '\r', '\n'])),
        'latin1',
      ),
  },
  { name: 'bom', formats: ['graph', 'yaml', 'ini'], apply: (text) => Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), text]) },
  {
    name: 'utf16',
    formats: ['graph', 'yaml', 'ini'],
    apply: (text) => Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text.toString('utf8'), 'utf16le')]),
  },
  {
    name: 'deep-block-line',
    formats: ['graph', 'yaml'],
    apply: (text, random) => {
      const parts = lines(text);
      parts.splice(random.int(0, parts.length), 0, 'deep:', `  ${'- '.repeat(random.pick([20, 2_000, 20_000]))}x`);
      return joinLines(parts);
    },
  },
  {
    name: 'alias-bomb-lines',
    formats: ['graph', 'yaml'],
    apply: (text, random) => {
      const levels = random.int(2, 9);
      const bomb = [`l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]`];
      for (let i = 1; i < levels; i++)
        bomb.push(
          `l${i}: &l${i} [${Array(10)
            .fill(`*l${i - 1}`)
            .join(', ')}]`,
        );
      return Buffer.concat([text, utf8(`\n${bomb.join('\n')}\n`)]);
    },
  },
];

const iniHostPatterns: readonly string[] = [
  'web[1:0]',
  'web[a:9]',
  'web[01:1]',
  'web[1:2:0]',
  'web[1:]',
  'web[:3]',
  'web[',
  'web]',
  'web[0:99999999]',
  'x[0:9999]y[0:9999]',
  '[::1]:99999',
  'host:0',
  'host:65536',
  'host:',
  ':2222',
  'a[1:3].b[1:3]',
  'web[0001:10]',
  'h[z:a]',
  '---',
  '{',
  'host#comment',
  '"quoted host"',
  "'unterminated",
  'back\\',
  '=',
  'web01=',
  'web01 ansible_port=abc',
  'web01 graft_slots=-1',
];

const ini: Mutation[] = [
  {
    name: 'ini-section-without-hosts',
    formats: ['ini'],
    apply: (text, random) =>
      Buffer.concat([
        text,
        utf8(
          random.pick([
            '\n[lonely]\n',
            '\n[lonely]\n[lonely:vars]\nx=1\n',
            '\n[lonely:children]\n',
            '\n[]\n',
            '\n[ spaced ]\n',
            '\n[g:vars:x]\n',
            '\n[g:unknown]\nh1\n',
            '\n[g\n',
          ]),
        ),
      ]),
  },
  {
    name: 'ini-children-loop',
    formats: ['ini'],
    apply: (text, random) =>
      Buffer.concat([
        text,
        utf8(
          random.pick([
            '\n[a:children]\nb\n[b:children]\na\n',
            '\n[c:children]\nc\n',
            '\n[a:children]\nb\n[b:children]\nc\n[c:children]\na\n',
            '\n[all:children]\nall\n',
            '\n[ungrouped:children]\nall\n',
          ]),
        ),
      ]),
  },
  {
    name: 'ini-deep-children',
    formats: ['ini'],
    apply: (text, random) => {
      const depth = random.pick([10, 1_000, 30_000]);
      const sections = Array.from({ length: depth }, (_, i) => `[g${i}:children]\ng${i + 1}\n`);
      if (random.chance(0.5)) sections.reverse();
      return Buffer.concat([text, utf8(`\n${sections.join('')}[g${depth}]\nleaf graft_host_key_policy=tofu\n`)]);
    },
  },
  {
    name: 'ini-bad-host',
    formats: ['ini'],
    apply: (text, random) => {
      const parts = lines(text);
      parts.splice(random.int(0, parts.length), 0, `${random.pick(iniHostPatterns)}${random.chance(0.3) ? ' graft_host_key_policy=tofu' : ''}`);
      return joinLines(parts);
    },
  },
  {
    name: 'ini-stray-equals',
    formats: ['ini'],
    apply: (text, random) => {
      const parts = lines(text);
      parts.splice(random.int(0, parts.length), 0, random.pick(['=', '==', '=value', 'host =', 'host a=b=c', 'a= b', 'key', 'x =1', '= =', 'h1 =x']));
      return joinLines(parts);
    },
  },
  {
    name: 'ini-many-hosts',
    formats: ['ini'],
    apply: (text, random) =>
      Buffer.concat([text, utf8(`\n[many]\n${Array.from({ length: random.pick([1, 20, 300]) }, (_, i) => `h${i}-[0:9999]`).join('\n')}\n`)]),
  },
  {
    name: 'ini-odd-value',
    formats: ['ini'],
    apply: (text, random) => {
      const depth = random.pick([10, 1_000, 100_000]);
      const value = random.pick([
        `[${'['.repeat(depth)}${']'.repeat(depth)}]`,
        `${'{'.repeat(depth)}`,
        "{'__proto__': {'polluted': 1}}",
        "{'constructor': 1, 'toString': 2}",
        '[1, 2',
        '"unterminated',
        '1e999',
        '0x',
        `[${Array(random.pick([10, 100_000]))
          .fill('1')
          .join(', ')}]`,
        "'''",
        'u"\\N{LATIN SMALL LETTER A}"',
        '\\',
      ]);
      return Buffer.concat([
        text,
        utf8(
          `\n${random.pick(['[all:vars]', '[web:vars]', '[odd]\nh1 graft_host_key_policy=tofu'])}\n${random.pick(['x', '__proto__', 'constructor', 'graft_slots', 'toString'])}=${value}\n`,
        ),
      ]);
    },
  },
];

export const mutations: readonly Mutation[] = [...structural, ...textual, ...ini];

/** Structural mutations need a file that still parses, so they go first. */
export function pickMutations(format: FileFormat, random: Random): Mutation[] {
  const usable = (list: Mutation[]) => list.filter((m) => m.formats.includes(format));
  const chosen: Mutation[] = [];
  const first = format === 'ini' ? usable(ini) : usable(structural);
  if (random.chance(0.7)) chosen.push(random.pick(first));
  for (let i = random.int(chosen.length === 0 ? 1 : 0, 2); i > 0; i--) chosen.push(random.pick(usable(textual)));
  return chosen;
}
