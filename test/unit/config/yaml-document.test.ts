import { expect } from 'chai';
import { isAlias, isMap, LineCounter, type Document } from 'yaml';
import { MAX_YAML_DEPTH, parseBoundedYaml, type BoundedYaml } from '../../../src/core/config/yaml-document.js';

/** Regressions found by the fuzzer (test/reliability/hostile-input.test.ts): each input used to take seconds or overflow the stack. */
describe('bounded YAML parsing', () => {
  const lineCounter = () => new LineCounter();
  const parse = (text: string, maxTokens?: number) => {
    const counter = lineCounter();
    return { result: parseBoundedYaml(text, { version: '1.2', lineCounter: counter, maxTokens }), line: (offset: number) => counter.linePos(offset).line };
  };
  const docOf = (result: BoundedYaml): Document.Parsed => {
    if (result.refused) throw new Error(`refused: ${result.refused.message}`);
    return result.doc;
  };

  it('given a mapping of 20,000 keys with one repeated, when parsed, then the repeat is the one DUPLICATE_KEY error, at its own line', () => {
    const keys = Array.from({ length: 20_000 }, (_, i) => `k${i}: ${i}`);
    keys.push('k123: again');
    const { result, line } = parse(keys.join('\n'));
    const errors = docOf(result).errors;
    expect(errors.map((e) => [e.code, line(e.pos[0])])).to.deep.equal([['DUPLICATE_KEY', 20_001]]);
  });

  it('given more tokens than the budget (a list of 300,000 items), when parsed, then it is refused before it is composed', () => {
    const { result } = parse(`x: [${Array(300_000).fill('0').join(',')}]`);
    expect(result.refused?.message).to.match(/too large to be read as configuration: more than 500000 YAML tokens/);
    expect(parse('a: [1, 2, 3]', 5).result.refused?.message).to.match(/more than 5 YAML tokens/);
  });

  it('given nesting far deeper than a config file needs, in flow or in block style, when parsed, then it is refused where it gets too deep instead of overflowing the stack', () => {
    const flow = parse(`a:\n  b: ${'['.repeat(20_000)}${']'.repeat(20_000)}`);
    expect(flow.result.refused?.message).to.equal(`values nest more than ${MAX_YAML_DEPTH} levels deep here; a configuration file needs a handful`);
    expect(flow.line(flow.result.refused!.offset)).to.equal(2);
    expect(parse(`x:\n  ${'- '.repeat(20_000)}y`).result.refused?.message).to.match(/nest more than 100 levels/);
    // Closed by a dedent, the same list overflowed yaml's own parser before there was a tree to measure.
    const closed = parse(`x:\n  ${'- '.repeat(20_000)}y\nz: 1\n`);
    expect(closed.result.refused?.message).to.match(/nest more than 100 levels/);
    expect(closed.line(closed.result.refused!.offset)).to.equal(3);
    expect(docOf(parse(`x: ${'['.repeat(MAX_YAML_DEPTH - 1)}${']'.repeat(MAX_YAML_DEPTH - 1)}`).result).errors).to.deep.equal([]);
  });

  it('given an alias inside the value its anchor names, when parsed, then it is refused (it would nest without end)', () => {
    for (const text of ['a: &r [1, [2, *r]]', 'a: &r {b: *r}']) {
      expect(parse(text).result.refused?.message, text).to.equal('this alias names a value that contains it, which would nest without end');
    }
  });

  it('given aliases, when resolved, then each names the last node before it with its anchor, as yaml resolves them', () => {
    const { result } = parse('a: &x 1\nb: *x\nc: &x {k: v}\nd: *x\n');
    const doc = docOf(result);
    const resolve = (result as { resolve(node: unknown): unknown }).resolve;
    const value = (key: string) => resolve((doc.contents as { get(k: string, keep: true): unknown }).get(key, true));
    expect(isAlias((doc.contents as { get(k: string, keep: true): unknown }).get('b', true))).to.equal(true);
    expect(value('b')).to.have.property('value', 1);
    expect(isMap(value('d'))).to.equal(true);
    expect(resolve('plain')).to.equal('plain');
  });

  it('given two documents, when parsed, then the second is a MULTIPLE_DOCS error, as with yaml.parseDocument', () => {
    expect(docOf(parse('a: 1\n---\nb: 2\n').result).errors.map((e) => e.code)).to.deep.equal(['MULTIPLE_DOCS']);
  });
});
