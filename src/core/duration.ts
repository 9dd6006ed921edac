import ms from 'ms';
import { UsageError } from './errors.js';

/**
 * Parses a duration flag (`500ms`, `30s`, `5m`, `12h`, `2d`) into milliseconds, or fails with a
 * usage error naming the flag. A bare number means seconds, as in `timeout 30` and `ssh -o
 * ConnectTimeout=30`, not the milliseconds `ms` would read.
 */
export function parseDuration(flag: string, value: string): number {
  const name = flag.startsWith('GRAFT_') ? flag : `--${flag}`;
  const parsed = /^\s*\d+(\.\d+)?\s*$/.test(value) ? Number(value) * 1000 : (ms(value as ms.StringValue) as number | undefined);
  if (typeof parsed !== 'number' || !Number.isFinite(parsed) || parsed <= 0) {
    throw new UsageError(`${name} ${value} is not a duration`, ['Use e.g. 500ms, 30s, 5m, 12h or 2d.']);
  }
  return parsed;
}
