// Exit codes and durations of the CI commands (no SDK here: the CLI reads them before loading it).

/**
 * Exit codes: 0 deployed, 1 failed (a `.failed` file), 2 bad input or S3 rejected the credentials
 * or configuration, 124 timed out (as timeout(1)).
 */
export const exitCode = { deployed: 0, failed: 1, rejected: 2, timeout: 124 } as const;

/** "15m", "90s", "1h", "2m30s" or plain seconds → milliseconds. */
export function parseDuration(raw: string): number | undefined {
  if (/^\d+(\.\d+)?$/.test(raw)) return Number(raw) * 1000;
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/gy;
  let total = 0;
  let pos = 0;
  for (let m = re.exec(raw); m; m = re.exec(raw)) {
    total += Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
    pos = re.lastIndex;
  }
  return pos === raw.length && pos > 0 ? total : undefined;
}
