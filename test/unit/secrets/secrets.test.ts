import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../../../src/core/errors.js';
import { Redactor } from '../../../src/core/secrets/redactor.js';
import { resolveSecrets, secretsEnvFile } from '../../../src/core/secrets/secret-source.js';

describe('secrets', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'graft-secrets-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('given a secrets file and the environment, when resolved, then the file wins and missing names are a usage error naming them', () => {
    writeFileSync(join(dir, '.env'), 'TOKEN=from-file\n# comment\nQUOTED="a b c"\n');
    const values = resolveSecrets(['TOKEN', 'QUOTED', 'ONLY_ENV'], { file: join(dir, '.env'), env: { TOKEN: 'from-env', ONLY_ENV: 'env-value' } });
    expect(Object.fromEntries(values)).to.deep.equal({ TOKEN: 'from-file', QUOTED: 'a b c', ONLY_ENV: 'env-value' });
    expect(() => resolveSecrets(['NOPE'], { env: {} })).to.throw(UsageError, /NOPE/);
    expect(() => resolveSecrets(['lower'], { env: { lower: 'x' } })).to.throw(UsageError, /UPPER_SNAKE_CASE/);
  });

  it('given values with quotes and shell syntax, when the env file is sourced by sh, then each value arrives intact and nothing runs', () => {
    const values = new Map([
      ['A', "it's $(touch /tmp/graft-pwned) `id`"],
      ['B', 'line1\nline2'],
    ]);
    const file = join(dir, 'secrets.env');
    writeFileSync(file, secretsEnvFile(values));
    const out = execFileSync('sh', ['-c', `set -a; . ${file}; set +a; printf '%s|%s' "$A" "$B"`], { encoding: 'utf8' });
    expect(out).to.equal(`${values.get('A')}|${values.get('B')}`);
  });

  it('given registered values, when text and nested JSON are redacted, then no value survives', () => {
    const redactor = new Redactor();
    redactor.add('s3cr3t-value');
    redactor.add('abc'); // too short to redact safely; ignored
    expect(redactor.redact('token=s3cr3t-value; again s3cr3t-value')).to.equal('token=[redacted]; again [redacted]');
    expect(redactor.redactDeep({ a: ['x s3cr3t-value y'], b: { c: 's3cr3t-value' }, n: 1 })).to.deep.equal({
      a: ['x [redacted] y'],
      b: { c: '[redacted]' },
      n: 1,
    });
    expect(redactor.redact('abc')).to.equal('abc');
  });

  it('given values with quotes, backslashes, newlines or only digits, when nested JSON is redacted, then each is found as itself and the JSON stays whole', () => {
    const redactor = new Redactor();
    const values = ['pa"ss\\word', '-----BEGIN KEY-----\nAAAA\n-----END KEY-----', '20261124'];
    for (const v of values) redactor.add(v);
    const out = redactor.redactDeep({ stdout: `x ${values[0]} y`, lines: [values[1]], n: 20261124, note: `id ${values[2]}` });
    expect(out).to.deep.equal({ stdout: 'x [redacted] y', lines: ['[redacted]'], n: 20261124, note: 'id [redacted]' });
  });
});
