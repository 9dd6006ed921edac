import ms from 'ms';
import { UsageError } from './errors.js';

/**
 * Milliseconds in a duration (`500ms`, `30s`, `5m`, `12h`, `2d`), or undefined when it is not a
 * positive duration. A bare number means seconds, as in `timeout 30` and `ssh -o
 * ConnectTimeout=30`, not the milliseconds `ms` would read.
 */
export function durationMs(value: string | number): number | undefined {
  // `ms` throws on an empty string (a bug exit for `timeout: ""` or `--ttl ""`) rather than saying it is no duration.
  if (typeof value === 'string' && value.trim() === '') return undefined;
  const parsed =
    typeof value === 'number' ? value * 1000 : /^\s*\d+(\.\d+)?\s*$/.test(value) ? Number(value) * 1000 : (ms(value as ms.StringValue) as number | undefined);
  return typeof parsed === 'number' && Number.isFinite(parsed) && parsed > 0 ? parsed : undefined;
}

/** Parses a duration flag into milliseconds (see {@link durationMs}), or fails with a usage error naming the flag. */
export function parseDuration(flag: string, value: string): number {
  const name = flag.startsWith('GRAFT_') ? flag : `--${flag}`;
  const parsed = durationMs(value);
  if (parsed === undefined) throw new UsageError(`${name} ${JSON.stringify(value)} is not a duration`, ['Use e.g. 500ms, 30s, 5m, 12h or 2d.']);
  return parsed;
}
