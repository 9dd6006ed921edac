/**
 * Hostile input: a seeded fuzzer over graph files and inventories (YAML and INI). Every case
 * must end in success or in a ConfigError whose problems name the case's files, within the time
 * bound, through the library loaders in a child process; a sample also goes through the built
 * CLI, which must exit 0 or 3 — never 70 (a bug) — with no stack trace.
 *
 *   FUZZ_SEED=123 FUZZ_CASES=1000 npx mocha test/reliability/hostile-input.test.ts
 */
import { expect } from 'chai';
import { randomInt } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import pLimit from 'p-limit';
import { GraftWorld } from '../helpers/cli.js';
import { buildCase, mutationNames, type FuzzCase } from './fuzz/cases.js';
import { LoaderHost, type CaseOutcome } from './fuzz/loader-host.js';
import { reportFigures } from './summary.js';

const seed = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : randomInt(2 ** 31);
const caseCount = process.env.FUZZ_CASES ? Number(process.env.FUZZ_CASES) : 1000;
/**
 * A case whose loading takes more CPU time than this is a hang — a bound for runaway work, not a
 * speed goal: the biggest legitimate cases (60,000 problems in one inventory) take ~2 s on a
 * quiet machine, and a busy one stretches CPU time too (seen: 2 s cases at 4-6 s under load 40)...
 */
const cpuBoundMs = 10_000;
/** ...and so is one still running after this long (twice): blocked, not busy. */
const wallBoundMs = 30_000;
const cliSampleSize = 50;
const stackTrace = /\n\s+at /;

type OutcomeClass = CaseOutcome['class'] | 'config-error-unnamed';
interface Finding {
  index: number;
  kind: string;
  mutations: string[];
  what: OutcomeClass | 'cli';
  detail: string;
}

describe('reliability: hostile graph and inventory files (seeded fuzzer)', function () {
  this.timeout(600_000);
  let root: string;
  const host = new LoaderHost(wallBoundMs);
  const outcomes = new Map<number, { fuzz: FuzzCase; outcome: OutcomeClass; cpuMs: number }>();
  const findings: Finding[] = [];
  const cliCounts = new Map<string, number>();
  const step = Math.max(1, Math.floor(caseCount / cliSampleSize));
  const sampled = (index: number) => index % step === 0;

  before(() => {
    root = mkdtempSync(join(tmpdir(), 'graft-fuzz-'));
    console.log(`      fuzz seed ${seed}, ${caseCount} cases; replay with FUZZ_SEED=${seed} FUZZ_CASES=${caseCount}`);
  });
  after(async () => {
    await host.stop();
    rmSync(root, { recursive: true, force: true });
    summarise();
  });

  const caseDir = (index: number) => join(root, `case-${index}`);
  const mainFile = (fuzz: FuzzCase) => join(caseDir(fuzz.index), fuzz.file);

  function writeCase(fuzz: FuzzCase): void {
    for (const [name, bytes] of Object.entries(fuzz.files)) {
      const path = join(caseDir(fuzz.index), name);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, bytes);
    }
  }

  /**
   * The outcome's class; a config error must say something about files of the case: its own, or
   * one its files name (an inventory at /proc/self/status is a problem of that file).
   */
  function judge(fuzz: FuzzCase, outcome: CaseOutcome): { what: OutcomeClass; detail?: string } {
    if (outcome.class === 'crash' || outcome.class === 'child-died') return { what: outcome.class, detail: outcome.error };
    if (outcome.class === 'config-error') {
      const named = (file: string) => Object.values(fuzz.files).some((bytes) => bytes.includes(file));
      const foreign = outcome.files.filter((f) => !f.startsWith(`${caseDir(fuzz.index)}/`) && !named(f));
      if (outcome.count === 0 || foreign.length > 0 || outcome.emptyMessages > 0) {
        return {
          what: 'config-error-unnamed',
          detail: `${outcome.count} problem(s), files ${JSON.stringify(outcome.files)}, ${outcome.emptyMessages} without a message: ${outcome.sample.join(' | ')}`,
        };
      }
    }
    if (outcome.class === 'hang') return { what: 'hang', detail: `still running after ${wallBoundMs} ms, twice` };
    if (outcome.cpuMs > cpuBoundMs) return { what: 'hang', detail: `${outcome.cpuMs} ms of CPU time (the bound is ${cpuBoundMs} ms)` };
    return { what: outcome.class };
  }

  it(`given ${caseCount} mutated files, when each is loaded by the library, then it loads or fails with a config error naming the file, within ${cpuBoundMs / 1000} s of CPU time`, async () => {
    for (let index = 0; index < caseCount; index++) {
      const fuzz = buildCase(seed, index);
      writeCase(fuzz);
      const outcome = await host.run({ kind: fuzz.kind, file: mainFile(fuzz) });
      const { what, detail } = judge(fuzz, outcome);
      outcomes.set(index, { fuzz, outcome: what, cpuMs: 'cpuMs' in outcome ? outcome.cpuMs : outcome.ms });
      if (detail !== undefined) findings.push({ index, kind: `${fuzz.kind}/${fuzz.format}`, mutations: fuzz.mutations, what, detail });
      if (!sampled(index)) rmSync(caseDir(index), { recursive: true, force: true });
    }
    expect(findings, describeFindings()).to.deep.equal([]);
  });

  it('given a sample of those files, when checked with the built CLI, then it exits as the library decided (0 or 3), never 70, and prints no stack trace', async () => {
    const world = new GraftWorld();
    const limit = pLimit(2);
    const expectedExit: Partial<Record<OutcomeClass, number>> = { ok: 0, 'config-error': 3 };
    try {
      await Promise.all(
        [...outcomes.values()]
          .filter(({ fuzz }) => sampled(fuzz.index))
          .map(({ fuzz, outcome }) =>
            limit(async () => {
              const result = await world.run([fuzz.kind === 'graph' ? 'graph' : 'inventory', 'check', mainFile(fuzz)], {
                cwd: caseDir(fuzz.index),
                timeoutMs: 60_000,
              });
              cliCounts.set(String(result.code), (cliCounts.get(String(result.code)) ?? 0) + 1);
              const problems = [
                result.code === 70 ? 'exit 70 (a bug)' : undefined,
                result.code !== expectedExit[outcome] ? `exit ${result.code}, the library said ${outcome}` : undefined,
                stackTrace.test(result.stderr) ? 'a stack trace on stderr' : undefined,
              ].filter((p): p is string => p !== undefined);
              if (problems.length > 0)
                findings.push({
                  index: fuzz.index,
                  kind: fuzz.kind,
                  mutations: fuzz.mutations,
                  what: 'cli',
                  detail: `${problems.join('; ')}: ${result.stderr.slice(0, 400)}`,
                });
            }),
          ),
      );
    } finally {
      await world.dispose();
    }
    expect(
      findings.filter((f) => f.what === 'cli'),
      describeFindings(),
    ).to.deep.equal([]);
  });

  function describeFindings(): string {
    const shown = findings.slice(0, 20).map((f) => `case ${f.index} (${f.kind}; ${f.mutations.join(', ')}): ${f.what}: ${f.detail}`);
    return `${findings.length} finding(s) with FUZZ_SEED=${seed}:\n${shown.join('\n')}`;
  }

  function summarise(): void {
    const byClass = new Map<string, number>();
    const byMutation = new Map<string, { cases: number; ok: number; config: number; other: number }>();
    let slowest = { cpuMs: 0, index: 0 };
    for (const { fuzz, outcome, cpuMs } of outcomes.values()) {
      byClass.set(outcome, (byClass.get(outcome) ?? 0) + 1);
      if (cpuMs > slowest.cpuMs) slowest = { cpuMs, index: fuzz.index };
      for (const name of new Set(fuzz.mutations.map((m) => m.replace(/^inventory:/, '')))) {
        const row = byMutation.get(name) ?? { cases: 0, ok: 0, config: 0, other: 0 };
        row.cases += 1;
        if (outcome === 'ok') row.ok += 1;
        else if (outcome === 'config-error') row.config += 1;
        else row.other += 1;
        byMutation.set(name, row);
      }
    }
    const classes: OutcomeClass[] = ['ok', 'config-error', 'config-error-unnamed', 'crash', 'hang', 'child-died'];
    reportFigures({
      title: `Hostile input: fuzzer, seed ${seed}, ${outcomes.size} cases in-process (most CPU: case ${slowest.index}, ${slowest.cpuMs} ms), ${[...cliCounts.values()].reduce((a, b) => a + b, 0)} through the CLI`,
      columns: ['outcome', 'cases'],
      rows: [...classes.map((c) => [c, byClass.get(c) ?? 0]), ...[...cliCounts].sort().map(([code, n]) => [`CLI exit ${code}`, n])],
    });
    reportFigures({
      title: 'Hostile input: outcomes by mutation',
      columns: ['mutation', 'cases', 'ok', 'config error', 'finding'],
      rows: mutationNames
        .filter((m) => byMutation.has(m))
        .map((m) => [m, byMutation.get(m)!.cases, byMutation.get(m)!.ok, byMutation.get(m)!.config, byMutation.get(m)!.other]),
    });
    reportFigures({
      title: `Hostile input: findings (${findings.length})`,
      columns: ['case', 'kind', 'class', 'mutations', 'detail'],
      rows: findings.slice(0, 40).map((f) => [f.index, f.kind, f.what, f.mutations.join(','), f.detail.split('\n')[0]!.slice(0, 120)]),
    });
  }
});
