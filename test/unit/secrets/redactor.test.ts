import { expect } from 'chai';
import { Redactor } from '../../../src/core/secrets/redactor.js';

describe('redactor: bytes and overlapping values', () => {
  it('given output that is not UTF-8 around a value, when its bytes are redacted, then the value goes and every other byte stays as it was', () => {
    const redactor = new Redactor();
    redactor.add('tøken-value');
    const bytes = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('a tøken-value b tøken-value'), Buffer.from([0xc3])]);
    expect(redactor.redactBytes(bytes)).to.deep.equal(
      Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('a [redacted] b [redacted]'), Buffer.from([0xc3])]),
    );
    expect(redactor.redactBytes(Buffer.from('nothing here'))).to.deep.equal(Buffer.from('nothing here'));
  });

  it('given a value that contains another, when redacted, then the longer is replaced whole, whichever was granted first', () => {
    const redactor = new Redactor();
    redactor.add('abcd');
    redactor.add('abcdef-longer');
    expect(redactor.redact('x abcdef-longer y abcd')).to.equal('x [redacted] y [redacted]');
    expect(redactor.redactBytes(Buffer.from('x abcdef-longer y'))).to.deep.equal(Buffer.from('x [redacted] y'));
    redactor.add('abcd');
    expect(redactor.size).to.equal(2);
  });
});
