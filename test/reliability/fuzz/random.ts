/**
 * A seeded pseudo-random generator (mulberry32): the same seed gives the same cases on every
 * machine and Node version, which Math.random cannot promise. Each case gets its own generator,
 * derived from the run's seed and the case's index, so one case replays without the others.
 */
export class Random {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(0, items.length - 1)]!;
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  /** 10^k for k picked in [0, maxExponent]: sizes spread over orders of magnitude. */
  magnitude(maxExponent: number): number {
    return 10 ** this.int(0, maxExponent);
  }
}

/** The generator of case `index` in a run with `seed`. */
export function caseRandom(seed: number, index: number): Random {
  // splitmix-style mixing, so neighbouring indices give unrelated streams.
  let z = (seed ^ Math.imul(index + 1, 0x9e3779b9)) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return new Random((z ^ (z >>> 16)) >>> 0);
}
