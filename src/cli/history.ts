// history NS: the last syncs of a namespace from its Version, as a timeline in seconds from the
// commit (commit → seen → applied → healthy → CI notified), or as JSON.
import { groups } from '../config/variables.ts';
import type { Env } from '../config.ts';
import { short } from '../source/sha.ts';
import type { HistoryEntry } from '../version/types.ts';
import { type Options, parse, UsageError } from './command.ts';
import { withVersions } from './versions.ts';

export const name = 'history';
export const summary =
  'the last 10 syncs of a namespace: commit → seen → applied → healthy → CI notified, in seconds';
export const positionals = 'NS';
export const options = {
  output: { type: 'string', value: 'FORMAT', default: 'table', doc: 'table or json' },
} as const satisfies Options;
export const environment = groups('kube');

export async function run(args: string[], env: Env): Promise<number> {
  const { values, positionals: given } = parse({ name, options, positionals }, args, env);
  const ns = given[0];
  if (!ns || given.length > 1)
    throw new UsageError(name, 'needs one namespace: git-sync-operator history NAMESPACE');
  if (values.output !== 'table' && values.output !== 'json')
    throw new UsageError(name, `--output is table or json, not "${values.output}"`);
  const v = await withVersions(env, (versions) => versions.find(ns));
  if (!v) {
    process.stderr.write(`history: ${ns} has no Version: it is not managed here, or was never synced\n`);
    return 1;
  }
  const history = v.status?.history ?? [];
  process.stdout.write(
    values.output === 'json' ? `${JSON.stringify(history, null, 2)}\n` : table(ns, history),
  );
  return 0;
}

/** Whole seconds from `from` to `to` (the times are to the second); '-' when either is unknown. */
const secs = (from: string | undefined, to: string | undefined) =>
  from && to ? ((Date.parse(to) - Date.parse(from)) / 1000).toFixed(0) : '-';

function table(ns: string, history: readonly HistoryEntry[]): string {
  if (history.length === 0) return `${ns}: no sync recorded yet\n`;
  const rows = [...history].reverse().map((e) => {
    const t0 = e.committedAt ?? e.seenAt;
    const times = [e.seenAt, e.appliedAt, e.healthyAt, e.notifiedAt].map((t) => secs(t0, t).padStart(9));
    const what = `${e.subject} (${e.author})${e.reason ? ` — ${e.reason}` : ''}`;
    return `${short(e.sha)}  ${e.result.padEnd(11)} ${(t0 ?? '').padEnd(20)}${times.join('')}  ${what}`;
  });
  const head = `${'SHA'.padEnd(7)}  ${'RESULT'.padEnd(11)} ${'COMMITTED (UTC)'.padEnd(20)}${['SEEN', 'APPLIED', 'HEALTHY', 'NOTIFIED'].map((h) => h.padStart(9)).join('')}  COMMIT`;
  return `${ns}: the last ${history.length} syncs, newest first; seconds from the commit\n${head}\n${rows.join('\n')}\n`;
}
