import { expect } from 'chai';
import { durationMs, parseDuration } from '../../../src/core/duration.js';
import { UsageError } from '../../../src/core/errors.js';

describe('durations', () => {
  it('given an empty or blank duration (a graph timeout, --ttl "", GRAFT_TTL=), when parsed, then it is no duration and the flag is a usage error, not a crash', () => {
    expect(durationMs('')).to.equal(undefined);
    expect(durationMs('   ')).to.equal(undefined);
    expect(() => parseDuration('ttl', '')).to.throw(UsageError, '--ttl "" is not a duration');
    expect(durationMs('90s')).to.equal(90_000);
    expect(durationMs(30)).to.equal(30_000);
  });
});
