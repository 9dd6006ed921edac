/**
 * The reliability suite's scoreboard: each test records the faults it injected, how many the
 * system survived and how much data was lost; the table is printed once, after every test.
 */
export interface FaultRow {
  fault: string;
  injected: number;
  survived: number;
  lost: number;
  note?: string;
}

const rows: FaultRow[] = [];

export function recordFaults(row: FaultRow): void {
  rows.push(row);
}

export function faultTable(): string {
  const header = ['fault', 'injected', 'survived', 'data lost', 'note'];
  const body = rows.map((r) => [r.fault, String(r.injected), String(r.survived), String(r.lost), r.note ?? '']);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line)].join('\n');
}

// A hook outside any describe is a root hook: mocha runs it once, after every test of the run.
// This module is evaluated once however many test files import it.
after(() => {
  if (rows.length > 0) console.log(`\nreliability summary\n${faultTable()}\n`);
});
