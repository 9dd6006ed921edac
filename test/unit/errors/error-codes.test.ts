import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import { ExitCode, GraftError, ProviderError, errorCodes, exitCodeOf } from '../../../src/core/errors.js';

const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');

describe('error codes', () => {
  it('given the registry, then README lists every code with its exit code and meaning, and nothing else', () => {
    const section = readme.slice(readme.indexOf('## Error codes'), readme.indexOf('## Layout'));
    const listed = [...section.matchAll(/^\| `([A-Z0-9_]+)` \| (\d+) \| (.+) \|$/gm)].map((m) => [m[1], Number(m[2]), m[3]]);
    const expected = Object.entries(errorCodes).map(([code, [exit, means]]) => [code, ExitCode[exit], means]);
    expect(listed).to.deep.equal(expected);
  });

  it("given an error with only a code, then its exit code is the registry's, and a cloud API code exits 7", () => {
    expect(new GraftError('x', { code: 'SSH_AUTH' }).exitCode).to.equal(ExitCode.unreachable);
    expect(new GraftError('x', { code: 'MERGE_CONFLICT' }).exitCode).to.equal(ExitCode.conflict);
    expect(new ProviderError('x', { code: 'GCE_QUOTA_EXCEEDED' }).exitCode).to.equal(ExitCode.provider);
    expect(exitCodeOf('EC2_INSUFFICIENT_INSTANCE_CAPACITY')).to.equal(ExitCode.provider);
  });

  it("given the sources, then no error names a code with an exit code other than the registry's", () => {
    const out = new Set<string>();
    for (const file of listSources(new URL('../../../src/', import.meta.url))) {
      for (const m of readFileSync(file, 'utf8').matchAll(/code: '([A-Z0-9_]+)',?\s*exitCode: ExitCode\.([a-zA-Z]+)/g)) {
        const registered = errorCodes[m[1] as keyof typeof errorCodes];
        if (!registered || registered[0] !== m[2]) out.add(`${file.pathname}: ${m[1]} with ${m[2]}`);
      }
    }
    expect([...out]).to.deep.equal([]);
  });
});

function listSources(dir: URL): URL[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? listSources(new URL(`${e.name}/`, dir)) : e.name.endsWith('.ts') ? [new URL(e.name, dir)] : [],
  );
}
