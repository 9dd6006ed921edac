import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../../src/core/errors.js';
import { formatUsd, parseBudget, parseMicros, picoToUsd } from '../../../src/core/gateway/money.js';
import { costOf, PriceTable, type ModelPrice } from '../../../src/core/gateway/prices.js';

const price = (pattern: string, rates: Partial<ModelPrice> = {}): ModelPrice => ({
  pattern,
  input: 3_000_000,
  output: 15_000_000,
  cacheRead: 300_000,
  cacheWrite: 3_750_000,
  cacheWrite1h: 6_000_000,
  source: 'test',
  checked: '2026-12-04',
  file: 'test',
  ...rates,
});
const usage = (u: Partial<Record<'inputTokens' | 'outputTokens' | 'cacheReadTokens' | 'cacheWriteTokens' | 'cacheWrite1hTokens', number>>) => ({
  inputTokens: 0,
  outputTokens: 0,
  cacheReadTokens: 0,
  cacheWriteTokens: 0,
  cacheWrite1hTokens: 0,
  ...u,
});

describe('gateway money: exact prices and costs', () => {
  it('given amounts as text and numbers, when parsed, then they are exact micro-units and anything else is refused', () => {
    expect(parseMicros('3')).to.equal(3_000_000);
    expect(parseMicros('0.30')).to.equal(300_000);
    expect(parseMicros(0.075)).to.equal(75_000);
    expect(parseMicros('0.000001')).to.equal(1);
    for (const bad of ['0.0000001', '-1', '1e3', '', 'three', '$2']) expect(parseMicros(bad), bad).to.equal(undefined);
    expect(parseMicros(1e-7)).to.equal(undefined);
    expect(parseBudget('$2')).to.equal(2_000_000);
    expect(parseBudget('$ 0.50')).to.equal(500_000);
    expect(parseBudget(5)).to.equal(5_000_000);
    expect(parseBudget('$0')).to.equal(undefined);
  });

  it('given token counts, when priced, then the cost is the exact integer sum of tokens × rate and reads back as the exact dollars', () => {
    // 1200 × $3 + 87 × $15 + 3000 × $0.30 + 200 × $3.75 + 300 × $6 (per million), in pico-dollars.
    const cost = costOf(price('m'), usage({ inputTokens: 1200, outputTokens: 87, cacheReadTokens: 3000, cacheWriteTokens: 500, cacheWrite1hTokens: 300 }));
    expect(cost).to.equal(1200n * 3_000_000n + 87n * 15_000_000n + 3000n * 300_000n + 200n * 3_750_000n + 300n * 6_000_000n);
    expect(picoToUsd(cost)).to.equal(0.008355);
    expect(formatUsd(picoToUsd(cost))).to.equal('$0.008355');
    expect(formatUsd(2)).to.equal('$2.00');
    // Floating point would say 0.30000000000000004 for 0.1 + 0.2; the integers do not.
    expect(
      picoToUsd(
        costOf(price('m', { input: 100_000 }), usage({ inputTokens: 1_000_000 })) + costOf(price('m', { input: 200_000 }), usage({ inputTokens: 1_000_000 })),
      ),
    ).to.equal(0.3);
  });

  it('given a long-context tier, when a prompt (cache included) is above it, then every rate comes from that tier', () => {
    const tiered = price('m', {
      longContext: { above: 200_000, input: 6_000_000, output: 22_500_000, cacheRead: 600_000, cacheWrite: 7_500_000, cacheWrite1h: 12_000_000 },
    });
    expect(costOf(tiered, usage({ inputTokens: 150_000, cacheReadTokens: 50_000, outputTokens: 10 }))).to.equal(
      150_000n * 3_000_000n + 50_000n * 300_000n + 10n * 15_000_000n,
    );
    expect(costOf(tiered, usage({ inputTokens: 150_000, cacheReadTokens: 50_001, outputTokens: 10 }))).to.equal(
      150_000n * 6_000_000n + 50_001n * 600_000n + 10n * 22_500_000n,
    );
  });

  it('given patterns, when a model is looked up, then its exact name wins, else the longest matching pattern, else it has no price', () => {
    const table = PriceTable.of([
      price('claude-sonnet-4*', { input: 1 }),
      price('claude-sonnet-4-6*', { input: 2 }),
      price('claude-sonnet-4-6-exact', { input: 3 }),
      price('*-mini', { input: 4 }),
    ]);
    expect(table.lookup('claude-sonnet-4-6')?.input).to.equal(2);
    expect(table.lookup('claude-sonnet-4-5-20250929')?.input).to.equal(1);
    expect(table.lookup('claude-sonnet-4-6-exact')?.input).to.equal(3);
    expect(table.lookup('gpt-5-mini')?.input).to.equal(4);
    expect(table.lookup('mystery-model')).to.equal(undefined);
    expect(table.cost('mystery-model', usage({ inputTokens: 5 }))).to.equal(undefined);
  });

  describe('the price files', () => {
    let dir: string;
    beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'graft-prices-'))));
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    it('given the shipped table, when loaded, then every entry has a source and a date and the current models are priced', () => {
      const table = PriceTable.load();
      for (const model of ['claude-sonnet-5-5', 'claude-haiku-4-5-20251001', 'claude-opus-4-8', 'gpt-5.1-codex', 'gemini-2.5-pro', 'gemini-2.5-flash-lite']) {
        const entry = table.lookup(model);
        expect(entry, model).to.not.equal(undefined);
        expect(entry!.source, model).to.match(/^https:\/\//);
        expect(entry!.checked, model).to.match(/^\d{4}-\d{2}-\d{2}$/);
      }
    });

    it('given a GRAFT_PRICES file, when loaded, then its entries replace and add to the shipped ones, and omitted cache rates fall back to the input rate', () => {
      const file = join(dir, 'prices.yaml');
      writeFileSync(
        file,
        'models:\n  claude-sonnet-5-5*: { input: "9", output: 10, source: https://example.test/p, checked: 2026-12-01 }\n  in-house-*: { input: 0.5, output: 1, source: internal, checked: 2026-12-02 }\n',
      );
      const table = PriceTable.load(file);
      expect(table.lookup('claude-sonnet-5-5')).to.include({ input: 9_000_000, output: 10_000_000, cacheRead: 9_000_000, cacheWrite: 9_000_000, file });
      expect(table.lookup('in-house-7b')).to.include({ input: 500_000, output: 1_000_000 });
      expect(table.lookup('gemini-2.5-pro')?.input).to.equal(1_250_000);
    });

    it('given a bad GRAFT_PRICES file, when loaded, then every problem is a config error naming the file and the path in it', () => {
      const file = join(dir, 'bad.json');
      writeFileSync(
        file,
        JSON.stringify({
          models: {
            m: { input: '1.2345678', output: 'x', source: '', checked: 'yesterday' },
            n: { input: 1, output: 1, source: 's', checked: '2026-01-01', extra: 1 },
          },
        }),
      );
      let thrown: unknown;
      try {
        PriceTable.load(file);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).to.be.instanceOf(ConfigError);
      const paths = (thrown as ConfigError).problems.map((p) => `${p.file}: ${p.path}`);
      expect(paths).to.include.members([
        `${file}: models.m.input`,
        `${file}: models.m.output`,
        `${file}: models.m.source`,
        `${file}: models.m.checked`,
        `${file}: models.n`,
      ]);
      expect(() => PriceTable.load(join(dir, 'missing.json'))).to.throw(ConfigError, /missing\.json: cannot read the price table: ENOENT/);
    });
  });
});
