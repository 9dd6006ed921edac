/**
 * The two bits of Python that Ansible's INI inventory parser leans on, so that
 * graft reads INI values exactly as `ansible-inventory` does:
 *
 * - `shlex.split(line, comments=True)` (POSIX mode) splits a host line into tokens;
 * - `ast.literal_eval(value)` turns each value into an int, float, bool, None,
 *   string, list, tuple or dict, and when that fails the raw text is kept.
 *
 * Consequences worth knowing: in a host line `port="22"` is the integer 22 (shlex
 * removes the quotes first) and `flag=true` is the string "true" (only `True` is
 * Python); in a `[group:vars]` line `port="22"` stays the string "22".
 */

/** Why a host line could not be split, in shlex's own words. */
export class ShlexError extends Error {}

/** POSIX `shlex.split(text, comments=True)`: quotes, backslash escapes and `#` comments. */
export function shlexSplit(text: string): string[] {
  const tokens: string[] = [];
  let token = '';
  let quoted = false;
  let state: ' ' | 'a' | '"' | "'" = ' ';
  const emit = (): void => {
    if (token !== '' || quoted) tokens.push(token);
    token = '';
    quoted = false;
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (state === "'" || state === '"') {
      if (c === state) state = 'a';
      else if (c === '\\' && state === '"') {
        const next = text[++i];
        if (next === undefined) throw new ShlexError('No escaped character');
        token += next === '"' || next === '\\' ? next : `\\${next}`;
      } else token += c;
      continue;
    }
    if (/\s/.test(c)) {
      if (state === 'a') emit();
      state = ' ';
    } else if (c === '#') {
      if (state === 'a') emit();
      return tokens;
    } else if (c === "'" || c === '"') {
      state = c;
      quoted = true;
    } else if (c === '\\') {
      const next = text[++i];
      if (next === undefined) throw new ShlexError('No escaped character');
      token += next;
      state = 'a';
    } else {
      token += c;
      state = 'a';
    }
  }
  if (state === '"' || state === "'") throw new ShlexError('No closing quotation');
  if (state === 'a') emit();
  return tokens;
}

const INT = /^(?:0[xX](?:_?[0-9a-fA-F])+|0[oO](?:_?[0-7])+|0[bB](?:_?[01])+|0(?:_?0)*|[1-9](?:_?\d)*)/;
const DIGITS = String.raw`\d(?:_?\d)*`;
const FLOAT = new RegExp(String.raw`^(?:(?:${DIGITS})?\.${DIGITS}|${DIGITS}\.?)(?:[eE][-+]?${DIGITS})?`);
const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', a: '\x07', b: '\b', f: '\f', v: '\v', '\\': '\\', "'": "'", '"': '"', '\n': '' };

const STRING_START = /^(?:[rRuUbB]|[bB][rR]|[rR][bB])?['"]/;

class NotALiteral extends Error {}

/**
 * Brackets nested deeper than this are not read as a literal (the text is kept): the reader
 * recurses per level, and Python's own parser gives up on deep nesting too.
 */
const MAX_LITERAL_DEPTH = 100;

/** A tiny recursive-descent reader for the subset of Python that `ast.literal_eval` accepts. */
class LiteralReader {
  private pos = 0;
  private depth = 0;
  constructor(private readonly src: string) {}

  read(): unknown {
    const { value } = this.sequenceOrValue(undefined);
    this.skip();
    if (this.pos < this.src.length) throw new NotALiteral();
    return value;
  }

  private skip(): void {
    for (;;) {
      const m = /^[ \t\f\r\n]+|^#.*/.exec(this.src.slice(this.pos));
      if (!m) return;
      this.pos += m[0].length;
    }
  }

  private peek(): string {
    this.skip();
    return this.src[this.pos] ?? '';
  }

  /** A bare `a, b` is a tuple in Python; `close` ends a bracketed one. */
  private sequenceOrValue(close: string | undefined): { value: unknown; isSequence: boolean } {
    const first = this.value();
    if (this.peek() !== ',') return { value: first, isSequence: false };
    const items = [first];
    while (this.peek() === ',') {
      this.pos++;
      const next = this.peek();
      if (next === '' || next === close) break;
      items.push(this.value());
    }
    return { value: items, isSequence: true };
  }

  private value(): unknown {
    const c = this.peek();
    if (c === '[' || c === '(' || c === '{') {
      if (++this.depth > MAX_LITERAL_DEPTH) throw new NotALiteral();
      const nested = c === '{' ? this.dict() : this.bracketed(c === '[' ? ']' : ')');
      this.depth -= 1;
      return nested;
    }
    if (c === '-' || c === '+') {
      this.pos++;
      const n = this.number();
      return c === '-' ? -n : n;
    }
    if (/[0-9.]/.test(c)) return this.number();
    const word = /^[A-Za-z_]\w*/.exec(this.src.slice(this.pos))?.[0] ?? '';
    if (word === 'True' || word === 'False' || word === 'None') {
      this.pos += word.length;
      return word === 'True' ? true : word === 'False' ? false : null;
    }
    if (STRING_START.test(this.src.slice(this.pos))) return this.strings();
    throw new NotALiteral();
  }

  private number(): number {
    this.skip();
    const rest = this.src.slice(this.pos);
    const f = FLOAT.exec(rest)?.[0] ?? '';
    const i = INT.exec(rest)?.[0] ?? '';
    const isFloat = f.length > i.length && /[.eE]/.test(f);
    const text = isFloat ? f : i;
    // `007` or `1abc` or `1j` are not Python numbers (or not ones JSON can hold).
    if (!text || /^[\w.]/.test(rest.slice(text.length))) throw new NotALiteral();
    this.pos += text.length;
    const clean = text.replace(/_/g, '');
    if (isFloat) return Number(clean);
    const radix = /^0[xX]/.test(clean) ? 16 : /^0[oO]/.test(clean) ? 8 : /^0[bB]/.test(clean) ? 2 : 10;
    return radix === 10 ? Number(clean) : parseInt(clean.slice(2), radix);
  }

  /** Adjacent string literals are one string in Python: `'a' "b"` is `ab`. */
  private strings(): string {
    let out = '';
    do {
      out += this.string();
      this.skip();
    } while (STRING_START.test(this.src.slice(this.pos)));
    return out;
  }

  private string(): string {
    this.skip();
    const prefix = /^[A-Za-z]*/.exec(this.src.slice(this.pos))![0];
    const raw = /r/i.test(prefix);
    this.pos += prefix.length;
    const q = this.src.startsWith(this.src[this.pos]!.repeat(3), this.pos) ? this.src[this.pos]!.repeat(3) : this.src[this.pos]!;
    this.pos += q.length;
    let out = '';
    while (!this.src.startsWith(q, this.pos)) {
      const c = this.src[this.pos];
      if (c === undefined || (q.length === 1 && c === '\n')) throw new NotALiteral();
      if (c === '\\') {
        const next = this.src[this.pos + 1];
        if (next === undefined) throw new NotALiteral();
        out += raw ? `\\${next}` : this.escape();
        if (raw) this.pos += 2;
        continue;
      }
      out += c;
      this.pos++;
    }
    this.pos += q.length;
    return out;
  }

  private escape(): string {
    const rest = this.src.slice(this.pos + 1);
    const hex = /^(?:x([0-9a-fA-F]{2})|u([0-9a-fA-F]{4})|U([0-9a-fA-F]{8})|([0-7]{1,3}))/.exec(rest);
    if (hex) {
      this.pos += 1 + hex[0].length;
      return String.fromCodePoint(hex[4] ? parseInt(hex[4], 8) : parseInt(hex[1] ?? hex[2] ?? hex[3]!, 16));
    }
    const c = rest[0]!;
    this.pos += 2;
    return ESCAPES[c] ?? `\\${c}`;
  }

  private bracketed(close: ']' | ')'): unknown {
    this.pos++;
    if (this.peek() === close) {
      this.pos++;
      return [];
    }
    const inner = this.sequenceOrValue(close);
    if (this.peek() !== close) throw new NotALiteral();
    this.pos++;
    // `(1)` is just 1 in Python; `[1]` and `(1,)` are sequences, and tuples become JSON lists.
    if (inner.isSequence) return inner.value;
    return close === ')' ? inner.value : [inner.value];
  }

  private dict(): Record<string, unknown> {
    this.pos++;
    const out: Record<string, unknown> = {};
    while (this.peek() !== '}') {
      const key = this.value();
      // A set literal (`{1, 2}`) has no JSON form; keep the raw text instead.
      if (this.peek() !== ':') throw new NotALiteral();
      this.pos++;
      // Defined, not assigned: a "__proto__" key must stay a key, not become the dict's prototype.
      Object.defineProperty(out, String(key), { value: this.value(), enumerable: true, writable: true, configurable: true });
      if (this.peek() === ',') this.pos++;
      else if (this.peek() !== '}') throw new NotALiteral();
    }
    this.pos++;
    return out;
  }
}

/** `ast.literal_eval(text)`, falling back to the text itself as Ansible's `_parse_value` does. */
export function pythonLiteralOrText(text: string): unknown {
  try {
    return new LiteralReader(text.replace(/^[ \t]+/, '')).read();
  } catch (error) {
    if (error instanceof NotALiteral) return text;
    throw error;
  }
}
