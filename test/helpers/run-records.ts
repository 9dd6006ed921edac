/**
 * What test files leave for the end of the run to print: the reliability suite's figures and
 * faults, and how long each file took. mocha runs files in parallel worker processes, so these
 * are JSON lines in a directory the run's global fixture (run-report.ts) makes, one file per
 * process, read back once every file has run.
 */
import { appendFileSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The environment variable that names the directory (set by the global fixture, inherited by workers). */
export const recordsDirVariable = 'GRAFT_TEST_RECORDS';

export interface FigureTable {
  title: string;
  columns: string[];
  rows: (string | number)[][];
}

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

export type RunRecord = { kind: 'figures'; table: FigureTable } | { kind: 'fault'; fault: FaultRecord } | { kind: 'file'; file: string; seconds: number };

/**
 * Appends a record for the end of the run. Without the fixture (mocha started with another
 * config) there is nowhere to print it from, and it is dropped.
 */
export function appendRecord(record: RunRecord): void {
  const dir = process.env[recordsDirVariable];
  if (dir) appendFileSync(join(dir, `${process.pid}.jsonl`), `${JSON.stringify(record)}\n`);
}

/** Every record the run's processes left in `dir`. */
export function readRecords(dir: string): RunRecord[] {
  return readdirSync(dir)
    .filter((name) => name.endsWith('.jsonl'))
    .flatMap((name) => readFileSync(join(dir, name), 'utf8').split('\n').filter(Boolean))
    .map((line) => JSON.parse(line) as RunRecord);
}
