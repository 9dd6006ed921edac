/**
 * The test run's global fixture and root hooks (named in .mocharc.json): a directory where every
 * worker process leaves its records (run-records.ts), each test file's wall time, and, once
 * every file has run, the reliability suite's summary and the slowest files: where the suite's
 * minutes go. In parallel mode root hooks run once per file, in that file's worker.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import type { Context, RootHookObject } from 'mocha';
import { renderTable } from '../../src/cli/table.js';
import { renderFaultTable } from '../reliability/helpers/fault-summary.js';
import { appendRecord, readRecords, recordsDirVariable, type FaultRecord, type FigureTable } from './run-records.js';

export function mochaGlobalSetup(): void {
  process.env[recordsDirVariable] = mkdtempSync(join(tmpdir(), 'graft-test-records-'));
}

let fileStarted = 0;

export const mochaHooks: RootHookObject = {
  beforeAll() {
    fileStarted = Date.now();
  },
  afterAll(this: Context) {
    // The root suite of a worker holds one file's suites; in serial mode (--no-parallel) it
    // holds every file's, and no file's time can be told.
    const files = new Set(this.test?.parent?.suites.map((suite) => suite.file));
    const [file] = files;
    if (files.size === 1 && file) appendRecord({ kind: 'file', file: relative(process.cwd(), file), seconds: (Date.now() - fileStarted) / 1000 });
  },
};

export function mochaGlobalTeardown(): void {
  const dir = process.env[recordsDirVariable];
  if (!dir) return;
  const records = readRecords(dir);
  rmSync(dir, { recursive: true, force: true });
  const figures: FigureTable[] = [];
  const faults: FaultRecord[] = [];
  const files: { file: string; seconds: number }[] = [];
  for (const record of records) {
    if (record.kind === 'figures') figures.push(record.table);
    else if (record.kind === 'fault') faults.push(record.fault);
    else files.push(record);
  }
  const blocks = [
    ...figures.map(
      (t) =>
        `${t.title}\n${renderTable(
          t.columns,
          t.rows.map((r) => r.map(String)),
        )}`,
    ),
    ...(faults.length > 0 ? [renderFaultTable(faults)] : []),
  ];
  if (blocks.length > 0) console.log(`\n=== reliability summary ===\n\n${blocks.join('\n\n')}\n`);
  if (files.length === 0) return;
  files.sort((a, b) => b.seconds - a.seconds);
  const total = files.reduce((sum, f) => sum + f.seconds, 0);
  console.log(`\n  slowest test files (of ${files.length}, ${(total / 60).toFixed(1)} min of file time in all):`);
  for (const { file, seconds } of files.slice(0, 15)) console.log(`    ${seconds.toFixed(1).padStart(7)} s  ${file}`);
}
