/**
 * The reliability suite's faults: every injected fault is recorded with whether graft survived
 * it (the run or command ended as the policy says, within its bound) and how much data was lost,
 * and one table of them all is printed when the run ends (test/helpers/run-report.ts).
 */
import { appendRecord, type FaultRecord } from '../../helpers/run-records.js';

export type { FaultRecord };

/** Records one fault's outcome; call it once the test knows the outcome (also when it failed). */
export function recordFault(fault: FaultRecord): void {
  appendRecord({ kind: 'fault', fault });
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
  return ['faults injected', line(header), ...body.map(line), line(totals)].join('\n');
}
