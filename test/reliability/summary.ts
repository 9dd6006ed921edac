/**
 * The reliability suite's figures: each part records its tables as it finishes, and they are
 * printed together once every test has run (a root `after` hook), so the summary is the last
 * thing the suite prints, however many of its files ran.
 */
import { renderTable } from '../../src/cli/table.js';

export interface FigureTable {
  title: string;
  columns: string[];
  rows: (string | number)[][];
}

const tables: FigureTable[] = [];

/** Queues a table for the summary printed at the end of the run. */
export function reportFigures(table: FigureTable): void {
  tables.push(table);
}

after(function () {
  if (tables.length === 0) return;
  const blocks = tables.map(
    (t) =>
      `${t.title}\n${renderTable(
        t.columns,
        t.rows.map((r) => r.map(String)),
      )}`,
  );
  console.log(`\n=== reliability summary ===\n\n${blocks.join('\n\n')}\n`);
});
