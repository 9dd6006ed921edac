/**
 * The price table: USD per million tokens per model, shipped as data/model-prices.json (each
 * entry with the page it was read from and when) and overridable entry by entry by a file of
 * the user's (`GRAFT_PRICES`, JSON or YAML, same shape). Costs are exact integers (money.ts).
 */
import { readFileSync } from 'node:fs';
import { minimatch } from 'minimatch';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ConfigError, type ConfigProblem } from '../errors.js';
import { assetPath } from '../package-assets.js';
import { parseMicros } from './money.js';
import type { TokenUsage } from '../model/usage.js';

/** Rates in micro-dollars per million tokens. */
export interface Rates {
  input: number;
  output: number;
  cacheRead: number;
  cacheWrite: number;
  cacheWrite1h: number;
}

export interface ModelPrice extends Rates {
  /** The model name or glob this entry was given under. */
  pattern: string;
  /** Rates for a request whose input (cache included) is above `above` tokens. */
  longContext?: Rates & { above: number };
  source: string;
  checked: string;
  /** Which file it came from: the shipped table or the user's. */
  file: string;
}

const amount = z.union([z.string(), z.number()]).transform((value, ctx) => {
  const micros = parseMicros(value);
  if (micros === undefined)
    ctx.addIssue({ code: 'custom', message: `expected USD per million tokens (e.g. "3" or "0.30", at most 6 decimals), got ${JSON.stringify(value)}` });
  return micros ?? 0;
});
const rates = {
  input: amount,
  output: amount,
  cacheRead: amount.optional(),
  cacheWrite: amount.optional(),
  cacheWrite1h: amount.optional(),
};
const entrySchema = z.strictObject({
  ...rates,
  longContext: z.strictObject({ above: z.int().positive(), ...rates }).optional(),
  source: z.string().min(1, 'required: the page the prices were read from'),
  checked: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'expected the date the prices were read, as YYYY-MM-DD'),
});
const fileSchema = z.strictObject({ models: z.record(z.string().min(1), entrySchema) });

type Entry = z.infer<typeof entrySchema>;
/** Rates left out fall back: cache reads and writes cost the input rate, one-hour writes the five-minute rate. */
function ratesOf(entry: Omit<Entry, 'longContext' | 'source' | 'checked'>): Rates {
  const cacheWrite = entry.cacheWrite ?? entry.input;
  return { input: entry.input, output: entry.output, cacheRead: entry.cacheRead ?? entry.input, cacheWrite, cacheWrite1h: entry.cacheWrite1h ?? cacheWrite };
}

export class PriceTable {
  private constructor(private readonly entries: ModelPrice[]) {}

  /** The shipped table, with `overrideFile`'s entries replacing or adding to it. */
  static load(overrideFile?: string): PriceTable {
    const shipped = readTable(assetPath('data', 'model-prices.json'));
    if (!overrideFile) return new PriceTable(shipped);
    const mine = readTable(overrideFile);
    const replaced = new Set(mine.map((e) => e.pattern));
    return new PriceTable([...mine, ...shipped.filter((e) => !replaced.has(e.pattern))]);
  }

  /** A table of given entries (tests). */
  static of(entries: ModelPrice[]): PriceTable {
    return new PriceTable(entries);
  }

  /** The entry for a model: its exact name, else the longest pattern that matches it. */
  lookup(model: string): ModelPrice | undefined {
    const exact = this.entries.find((e) => e.pattern === model);
    if (exact) return exact;
    const matching = this.entries.filter((e) => minimatch(model, e.pattern, { nocase: true }));
    return matching.sort((a, b) => b.pattern.length - a.pattern.length)[0];
  }

  /** The exact cost in pico-dollars of one request, or undefined when the model has no price. */
  cost(model: string, usage: TokenUsage): bigint | undefined {
    const price = this.lookup(model);
    return price && costOf(price, usage);
  }
}

/** tokens × micro-dollars per million tokens = pico-dollars, exactly. */
export function costOf(price: ModelPrice, usage: TokenUsage): bigint {
  const prompt = usage.inputTokens + usage.cacheReadTokens + usage.cacheWriteTokens;
  const r: Rates = price.longContext && prompt > price.longContext.above ? price.longContext : price;
  const oneHour = Math.min(usage.cacheWrite1hTokens, usage.cacheWriteTokens);
  const b = BigInt;
  return (
    b(usage.inputTokens) * b(r.input) +
    b(usage.outputTokens) * b(r.output) +
    b(usage.cacheReadTokens) * b(r.cacheRead) +
    b(usage.cacheWriteTokens - oneHour) * b(r.cacheWrite) +
    b(oneHour) * b(r.cacheWrite1h)
  );
}

function readTable(file: string): ModelPrice[] {
  let value: unknown;
  try {
    value = parseYaml(readFileSync(file, 'utf8'));
  } catch (error) {
    const why = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new ConfigError(
      [{ file, path: '', message: `cannot read the price table: ${why}` }],
      ['GRAFT_PRICES names a JSON or YAML file shaped like data/model-prices.json (docs/gateway.md).'],
    );
  }
  const parsed = fileSchema.safeParse(value);
  if (!parsed.success) {
    const problems: ConfigProblem[] = parsed.error.issues.map((issue) => ({ file, path: issue.path.join('.'), message: issue.message }));
    throw new ConfigError(problems, [
      'Each entry is models.<model or glob>: { input, output, cacheRead?, cacheWrite?, cacheWrite1h?, longContext?, source, checked } in USD per million tokens (docs/gateway.md).',
    ]);
  }
  return Object.entries(parsed.data.models).map(([pattern, entry]) => ({
    pattern,
    ...ratesOf(entry),
    ...(entry.longContext ? { longContext: { above: entry.longContext.above, ...ratesOf(entry.longContext) } } : {}),
    source: entry.source,
    checked: entry.checked,
    file,
  }));
}
