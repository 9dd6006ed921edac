/**
 * Quotes one word for a POSIX shell: single quotes, with embedded single quotes closed,
 * escaped and reopened. Everything graft puts on a remote command line goes through this
 * (or is checked against a strict pattern first), so names never execute as code.
 */
export function shellQuote(word: string): string {
  if (/^[A-Za-z0-9_./:=@%+-]+$/.test(word)) return word;
  return `'${word.replaceAll("'", `'\\''`)}'`;
}
