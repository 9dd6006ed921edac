/**
 * The reliability suite's figures: every injected fault is recorded with whether graft survived
 * it (the run or command ended as the policy says, within its bound) and how much data was lost,
 * and one table is printed when mocha's run ends (a root `after` hook, registered once).
 */

export interface FaultRecord {
  /** Which part of the suite: "host loss", "hostile hosts", ... */
  area: string;
  fault: string;
  /** Faults of this kind injected (several hosts, several commands...). */
  injected: number;
  /** Of those, how many graft came through as its policy says. */
  survived: number;
  /** Commits, tasks or bytes lost, with the unit in `lostUnit`. */
  lost: number;
  lostUnit?: string;
  /** A short figure worth reading beside it (wall time, peak memory). */
  note?: string;
}

const records: FaultRecord[] = [];
let registered = false;

/** Records one fault's outcome; call it once the test knows the outcome (also when it failed). */
export function recordFault(record: FaultRecord): void {
  records.push(record);
}

/** Registers the root hook that prints the table (call at the top level of each suite file). */
export function printFaultSummaryAtEnd(): void {
  if (registered) return;
  registered = true;
  after(() => {
    if (records.length === 0) return;
    process.stdout.write(`\n${renderFaultTable(records)}\n`);
  });
}

export function renderFaultTable(rows: FaultRecord[]): string {
  const header = ['area', 'fault', 'injected', 'survived', 'data lost', 'note'];
  const body = rows.map((r) => [r.area, r.fault, String(r.injected), String(r.survived), `${r.lost}${r.lostUnit ? ` ${r.lostUnit}` : ''}`, r.note ?? '']);
  const totals = [
    'total',
    '',
    String(rows.reduce((n, r) => n + r.injected, 0)),
    String(rows.reduce((n, r) => n + r.survived, 0)),
    String(rows.reduce((n, r) => n + r.lost, 0)),
    '',
  ];
  const all = [header, ...body, totals];
  const widths = header.map((_, i) => Math.max(...all.map((row) => row[i]!.length)));
  const line = (row: string[]) =>
    row
      .map((cell, i) => cell.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return ['reliability summary', line(header), ...body.map(line), line(totals)].join('\n');
}
