// The options `wait` and `promote --wait` share: S3 bucket, timeout and poll interval.
import { parseDuration } from '../ci/outcome.ts';
import { ConfigError } from '../config.ts';
import type { Options } from './command.ts';

export const pollOptions = {
  bucket: {
    type: 'string',
    value: 'BUCKET',
    env: 'S3_BUCKET',
    doc: 'the bucket the operator writes its completion files to',
  },
  timeout: {
    type: 'string',
    value: 'DURATION',
    default: '15m',
    doc: 'give up after this long: exit 124 (15m, 90s, 1h, 2m30s or seconds)',
  },
  interval: { type: 'string', value: 'DURATION', default: '5s', doc: 'time between two polls of S3' },
} as const satisfies Options;

export function durations(values: { timeout: string; interval: string }): {
  timeoutMs: number;
  intervalMs: number;
} {
  const timeoutMs = parseDuration(values.timeout);
  const intervalMs = parseDuration(values.interval);
  if (timeoutMs === undefined)
    throw new ConfigError('--timeout', `"${values.timeout}" is not a duration (e.g. 15m, 90s)`);
  if (intervalMs === undefined)
    throw new ConfigError('--interval', `"${values.interval}" is not a duration (e.g. 5s)`);
  return { timeoutMs, intervalMs };
}
