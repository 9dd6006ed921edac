/**
 * Money as graft counts it: exact integers, never floating point. Prices are read as USD per
 * million tokens with at most six decimals, kept as micro-dollars per million tokens; a token
 * count times that is a cost in pico-dollars (10^-12 USD), so every cost is an exact integer.
 * Budgets are micro-dollars (six decimals of a dollar).
 */

/** Pico-dollars in one micro-dollar. */
export const picoPerMicro = 1_000_000n;

/**
 * Micro-units of a decimal amount written as text or a number (`"3"`, `"0.30"`, `2.5`, `"$2"`),
 * or undefined when it is not a non-negative amount with at most six decimals.
 */
export function parseMicros(value: string | number, options: { dollarSign?: boolean } = {}): number | undefined {
  let text = typeof value === 'number' ? numberText(value) : value.trim();
  if (text === undefined) return undefined;
  if (options.dollarSign && text.startsWith('$')) text = text.slice(1).trim();
  const match = /^(\d{1,12})(?:\.(\d{1,6}))?$/.exec(text);
  if (!match) return undefined;
  return Number(match[1]) * 1_000_000 + Number((match[2] ?? '').padEnd(6, '0'));
}

/** A number's plain decimal text (no exponent), or undefined for what no price can be. */
function numberText(value: number): string | undefined {
  if (!Number.isFinite(value) || value < 0) return undefined;
  // toFixed(6) would round 0.0000001 to a price; a price with more decimals is refused instead.
  const text = String(value);
  return /e/i.test(text) ? undefined : text;
}

/** A budget as the graph writes it: `"$2"`, `"$0.50"`, `2` (dollars). Undefined when it is not one. */
export function parseBudget(value: string | number): number | undefined {
  const micros = parseMicros(value, { dollarSign: true });
  return micros !== undefined && micros > 0 ? micros : undefined;
}

/** Pico-dollars as a number of dollars: the nearest double to the exact amount. */
export function picoToUsd(pico: bigint): number {
  // Below 2^53 the integer converts exactly and the one division rounds once (to $9,007 of cost).
  if (pico <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(pico) / 1e12;
  return Number(pico / 1_000_000n) / 1e6;
}

/** Micro-dollars as dollars. */
export function microToUsd(micros: number): number {
  return micros / 1e6;
}

/** `$1.23`, `$0.0042` (at least two decimals, up to six, no trailing noise). */
export function formatUsd(usd: number): string {
  if (usd === 0) return '$0.00';
  const fixed = usd.toFixed(6).replace(/0+$/, '');
  const [whole, decimals = ''] = fixed.split('.');
  return `$${whole}.${decimals.padEnd(2, '0')}`;
}
