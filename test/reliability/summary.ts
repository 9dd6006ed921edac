/**
 * The reliability suite's figures: each part records its tables as it finishes, and the run's
 * global fixture (test/helpers/run-report.ts) prints them together once every file has run, so
 * the summary is the last thing the suite prints, however many of its files ran and in however
 * many worker processes.
 */
import { appendRecord, type FigureTable } from '../helpers/run-records.js';

export type { FigureTable };

/** Queues a table for the summary printed at the end of the run. */
export function reportFigures(table: FigureTable): void {
  appendRecord({ kind: 'figures', table });
}
