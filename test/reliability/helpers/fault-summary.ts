/**
 * The reliability suite's faults: every injected fault is recorded with whether graft survived
 * it (the run or command ended as the policy says, within its bound) and how much data was lost,
 * and one table of them all is printed when the run ends (test/helpers/run-report.ts).
 */
import { renderTable } from '../../../src/cli/table.js';
import { appendRecord, type FaultRecord } from '../../helpers/run-records.js';

export type { FaultRecord };

/** Records one fault's outcome; call it once the test knows the outcome (also when it failed). */
export function recordFault(fault: FaultRecord): void {
  appendRecord({ kind: 'fault', fault });
}

/** The faults as one table, with a total row (the figure tables' layout). */
export function renderFaultTable(rows: FaultRecord[]): string {
  const body = rows.map((r) => [r.area, r.fault, String(r.injected), String(r.survived), `${r.lost}${r.lostUnit ? ` ${r.lostUnit}` : ''}`, r.note ?? '']);
  const sum = (count: (r: FaultRecord) => number) => String(rows.reduce((n, r) => n + count(r), 0));
  const totals = ['total', '', sum((r) => r.injected), sum((r) => r.survived), sum((r) => r.lost), ''];
  return `faults injected\n${renderTable(['area', 'fault', 'injected', 'survived', 'data lost', 'note'], [...body, totals])}`;
}
