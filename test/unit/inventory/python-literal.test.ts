import { expect } from 'chai';
import { pythonLiteralOrText, ShlexError, shlexSplit } from '../../../src/core/inventory/python-literal.js';

describe('INI values as Python literals', () => {
  // Expected values are what ansible-inventory 2.14 prints for the same text.
  const cases: [string, unknown][] = [
    ['5', 5],
    ['-3', -3],
    ['0x1f', 31],
    ['1e3', 1000],
    ['1.5', 1.5],
    ['1_000', 1000],
    ['007', '007'],
    ['True', true],
    ['true', 'true'],
    ['yes', 'yes'],
    ['None', null],
    ['[1,2]', [1, 2]],
    ['(1,2)', [1, 2]],
    ['(1)', 1],
    ['a,b,c', 'a,b,c'],
    ['True,False', [true, false]],
    ['"10"', '10'],
    ["'it is'", 'it is'],
    ['"a" "b"', 'ab'],
    ["{'k': 'v'}", { k: 'v' }],
    ['{a:1}', '{a:1}'],
    ['hello world', 'hello world'],
    ['5 # comment', 5],
    ['hello # not a comment', 'hello # not a comment'],
    ['', ''],
    ['"a\\tb"', 'a\tb'],
    ["r'a\\tb'", 'a\\tb'],
    ['{1, 2}', '{1, 2}'],
    ['1j', '1j'],
  ];
  for (const [text, value] of cases) {
    it(`given ${JSON.stringify(text)}, when evaluated, then it is ${JSON.stringify(value)}`, () => {
      expect(pythonLiteralOrText(text)).to.deep.equal(value);
    });
  }
});

describe('host lines split like shlex', () => {
  it('given quotes, escapes and a trailing comment, when split, then tokens match POSIX shlex', () => {
    expect(shlexSplit(`h1 a="5" foo="a b c" q='007' d={'a':1} e=a\\ b x=a#b ignored`)).to.deep.equal([
      'h1',
      'a=5',
      'foo=a b c',
      'q=007',
      'd={a:1}',
      'e=a b',
      'x=a',
    ]);
    expect(shlexSplit(`h x="" y=''`)).to.deep.equal(['h', 'x=', 'y=']);
    expect(shlexSplit(`h j="a\\\\tb" k="say \\"hi\\""`)).to.deep.equal(['h', 'j=a\\tb', 'k=say "hi"']);
  });

  it('given an unclosed quote, when split, then it is a ShlexError', () => {
    expect(() => shlexSplit('h x="open')).to.throw(ShlexError, 'No closing quotation');
  });
});
