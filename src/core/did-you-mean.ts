/**
 * "Did you mean" hints for misspelt names (keys of a config file, task and agent names).
 * Optimal string alignment distance (Levenshtein plus adjacent swaps, so `reveiw` finds
 * `review`), compared case-insensitively. A dozen lines do not justify a dependency.
 */

function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * The candidate closest to `input`, if one is close enough to be a likely typo: at most one
 * edit for short words, up to three for long ones. `aliases` maps words people reach for
 * from other tools (`depends_on`) to the candidate they mean (`needs`).
 */
export function closestName(input: string, candidates: readonly string[], aliases: Readonly<Record<string, string>> = {}): string | undefined {
  const word = input.toLowerCase();
  const alias = aliases[word];
  if (alias !== undefined && candidates.includes(alias)) return alias;
  const limit = Math.max(1, Math.min(3, Math.floor(word.length / 3)));
  let best: { name: string; distance: number } | undefined;
  for (const name of candidates) {
    // The distance is at least the difference in length: skip the table for names that far
    // apart (a megabyte-long name in a hostile file would otherwise build a megabyte-row table).
    if (name === input || Math.abs(name.length - word.length) > limit) continue;
    const distance = editDistance(word, name.toLowerCase());
    if (distance <= limit && (!best || distance < best.distance)) best = { name, distance };
  }
  return best?.name;
}

/** ` (did you mean "x"?)` for a close candidate, else an empty string: for the end of a message. */
export function didYouMean(input: string, candidates: readonly string[], aliases?: Readonly<Record<string, string>>): string {
  const name = closestName(input, candidates, aliases);
  return name === undefined ? '' : ` (did you mean "${name}"?)`;
}
