// `status`'s two human views of the latest outcomes: a table (one row per cluster × namespace ×
// deployment) and a matrix (one row per namespace/deployment, one column per cluster).
import type { Outcome } from '../ci/outcome-files.ts';
import { clipped } from '../version/reasons.ts';

/** Like kubectl's AGE: 45s, 12m, 3h, 5d (one unit; two of the smaller before switching). */
export function age(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 120) return `${m}m`;
  const h = Math.floor(m / 60);
  return h < 48 ? `${h}h` : `${Math.floor(h / 24)}d`;
}

/** Rows in columns two spaces apart, each padded to its widest cell; no trailing spaces. */
function columns(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const r of rows)
    for (const [i, cell] of r.entries()) widths[i] = Math.max(widths[i] ?? 0, cell.length);
  return rows
    .map(
      (r) =>
        `${r
          .map((c, i) => c.padEnd(widths[i] ?? 0))
          .join('  ')
          .trimEnd()}\n`,
    )
    .join('');
}

const messageWidth = 60;

/** Why it failed: `Reason: the message`. */
const why = (o: Outcome) => (o.state === 'deployed' ? '' : [o.reason, o.message].filter(Boolean).join(': '));

export function table(outcomes: readonly Outcome[], now: number): string {
  const head = ['CLUSTER', 'NAMESPACE', 'DEPLOYMENT', 'SHA', 'AGE', 'AT (UTC)', 'STATE', 'REASON'];
  return columns([
    head,
    ...outcomes.map((o) => [
      o.cluster,
      o.namespace,
      o.deployment,
      o.sha,
      age(now - Date.parse(o.at)),
      o.at,
      o.state,
      clipped(why(o), messageWidth), // cut to fit a terminal; the matrix and JSON have it whole
    ]),
  ]);
}

/**
 * NAMESPACE DEPLOYMENT and a column per cluster holding `sha7 age` (`sha7 FAILED age`, `-` for
 * none), then the failures with their reasons: whether every cluster runs the same commit, at a glance.
 */
export function matrix(outcomes: readonly Outcome[], now: number): string {
  const clusters = [...new Set(outcomes.map((o) => o.cluster))].sort();
  const rows = new Map<string, Map<string, Outcome>>();
  for (const o of outcomes) {
    const id = `${o.namespace}\n${o.deployment}`;
    rows.set(id, (rows.get(id) ?? new Map()).set(o.cluster, o));
  }
  const cell = (o: Outcome | undefined) =>
    o
      ? [o.sha, o.state === 'deployed' ? '' : o.state.toUpperCase(), age(now - Date.parse(o.at))]
          .filter(Boolean)
          .join(' ')
      : '-';
  const body = [...rows.keys()].sort().map((id) => {
    const byCluster = rows.get(id) as Map<string, Outcome>;
    return [...id.split('\n'), ...clusters.map((c) => cell(byCluster.get(c)))];
  });
  const failures = outcomes
    .filter((o) => o.state !== 'deployed')
    .map((o) => `  ${o.cluster} ${o.namespace}/${o.deployment} ${o.sha} at ${o.at}: ${why(o)}\n`);
  const grid = columns([['NAMESPACE', 'DEPLOYMENT', ...clusters], ...body]);
  return failures.length ? `${grid}\nfailed:\n${failures.join('')}` : grid;
}
