/**
 * Replaces granted secret values wherever they might surface: log lines, audit entries,
 * JSON output. Secret values are never put into events on purpose; this is the second
 * line of defence for the ones that slip in (a command's stderr echoing a token, say).
 */
export class Redactor {
  private readonly values = new Set<string>();

  /** Registers a value to hide. Values shorter than 4 characters would blank common text and are refused. */
  add(value: string): void {
    if (value.length >= 4) this.values.add(value);
  }

  get size(): number {
    return this.values.size;
  }

  redact(text: string): string {
    let out = text;
    for (const value of this.values) if (out.includes(value)) out = out.split(value).join('[redacted]');
    return out;
  }

  /**
   * Redacts every string inside a JSON-like value (objects, arrays, strings), returning a copy.
   * Each string is redacted as itself, so values with quotes, backslashes or newlines (PEM keys,
   * JSON credentials) are found as they are, not as their JSON escapes.
   */
  redactDeep<T>(value: T): T {
    if (this.values.size === 0) return value;
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
