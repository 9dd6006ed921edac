/**
 * mocha's spec reporter, plus, at the end, the test files that took longest (wall time from a
 * file's first suite starting to its last ending, hooks included): where the suite's minutes go.
 * Named in .mocharc.json; CommonJS, as mocha require()s its reporter.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports -- a CommonJS module: mocha require()s its reporter
import Mocha = require('mocha');

const { EVENT_SUITE_BEGIN, EVENT_SUITE_END, EVENT_RUN_END } = Mocha.Runner.constants;

class TimedSpec extends Mocha.reporters.Spec {
  constructor(runner: Mocha.Runner, options: Mocha.MochaOptions) {
    super(runner, options);
    const files = new Map<string, { start: number; end: number }>();
    runner.on(EVENT_SUITE_BEGIN, (suite) => {
      if (suite.file && !files.has(suite.file)) files.set(suite.file, { start: Date.now(), end: Date.now() });
    });
    runner.on(EVENT_SUITE_END, (suite) => {
      const times = suite.file ? files.get(suite.file) : undefined;
      if (times) times.end = Date.now();
    });
    runner.once(EVENT_RUN_END, () => {
      const rows = [...files].map(([file, t]) => [file.replace(`${process.cwd()}/`, ''), (t.end - t.start) / 1000] as const).sort((a, b) => b[1] - a[1]);
      const total = rows.reduce((sum, [, seconds]) => sum + seconds, 0);
      console.log(`\n  slowest test files (of ${rows.length}, ${(total / 60).toFixed(1)} min in all):`);
      for (const [file, seconds] of rows.slice(0, 15)) console.log(`    ${seconds.toFixed(1).padStart(7)} s  ${file}`);
    });
  }
}

export = TimedSpec;
