// Times as a person reads them on the status page: ages ("5 min ago"), spans ("12s", "3m05s").

/** Whole seconds from `from` to `to` (both ISO times), never negative; undefined when either is missing. */
export function secondsBetween(from: string | undefined, to: string | undefined): number | undefined {
  if (!from || !to) return undefined;
  const s = (Date.parse(to) - Date.parse(from)) / 1000;
  return Number.isFinite(s) ? Math.max(0, Math.round(s)) : undefined;
}

/** "0s", "45s", "3m05s", "2h10m", "3d4h". */
export function span(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(s / 86_400)}d${Math.floor((s % 86_400) / 3600)}h`;
}

/** "12s ago", "3m05s ago"; '' when the time is unknown. */
export function ago(at: string | undefined, now: string): string {
  const s = secondsBetween(at, now);
  return s === undefined ? '' : `${span(s)} ago`;
}

/** "2025-03-01 10:00:05 UTC" from an ISO time. */
export function utc(at: string): string {
  return `${at.replace('T', ' ').replace(/(\.\d+)?Z$/, '')} UTC`;
}

/** "Ada Lovelace <ada@example.com>" → "Ada Lovelace", where space is short. */
export const name = (author: string | undefined): string => (author ?? '').replace(/\s*<[^>]*>$/, '');
