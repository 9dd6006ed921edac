/** What a redacted value is replaced with. */
export const redactedMarker = '[redacted]';
const markerBytes = Buffer.from(redactedMarker);

/**
 * Replaces granted secret values wherever they might surface: log lines, audit entries,
 * JSON output, and what agents hand graft to keep (their output, status lines, messages and
 * summaries: docs/reliability.md says what graft promises). Secret values are never put into
 * events on purpose; this is the second line of defence for the ones that slip in (a
 * command's stderr echoing a token, say).
 */
export class Redactor {
  /** Longest first, so a value that contains another is replaced whole, not around the shorter one. */
  private values: string[] = [];

  /** Registers a value to hide. Values shorter than 4 characters would blank common text and are refused. */
  add(value: string): void {
    if (value.length < 4 || this.values.includes(value)) return;
    this.values = [...this.values, value].sort((a, b) => b.length - a.length);
  }

  get size(): number {
    return this.values.length;
  }

  redact(text: string): string {
    let out = text;
    for (const value of this.values) if (out.includes(value)) out = out.split(value).join(redactedMarker);
    return out;
  }

  /** Redacts bytes as they are (an agent's output need not be UTF-8): each value is sought as its UTF-8 bytes. */
  redactBytes(bytes: Buffer): Buffer {
    let out = bytes;
    for (const value of this.values) {
      const needle = Buffer.from(value, 'utf8');
      let at = out.indexOf(needle);
      if (at < 0) continue;
      const parts: Buffer[] = [];
      let from = 0;
      for (; at >= 0; at = out.indexOf(needle, from)) {
        parts.push(out.subarray(from, at), markerBytes);
        from = at + needle.length;
      }
      parts.push(out.subarray(from));
      out = Buffer.concat(parts);
    }
    return out;
  }

  /**
   * Redacts every string inside a JSON-like value (objects, arrays, strings), returning a copy.
   * Each string is redacted as itself, so values with quotes, backslashes or newlines (PEM keys,
   * JSON credentials) are found as they are, not as their JSON escapes.
   */
  redactDeep<T>(value: T): T {
    if (this.values.length === 0) return value;
    return this.walk(value) as T;
  }

  private walk(value: unknown): unknown {
    if (typeof value === 'string') return this.redact(value);
    if (Array.isArray(value)) return value.map((v) => this.walk(v));
    if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.walk(v)]));
    }
    return value;
  }
}
