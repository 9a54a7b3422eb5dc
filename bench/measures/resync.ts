// 2. no-change resync at the largest size: a fresh process (no memo: dry-runs every object) on
// the namespace the cold apply filled, against Flux's engine on its own.
import { join } from 'node:path';
import {
  apiWrites,
  type Bench,
  flux,
  median,
  nsFor,
  ours,
  type Result,
  reps,
  round,
  sizes,
  timed,
} from '../setup.ts';

export const name = 'resync';

export async function run(b: Bench): Promise<Result[]> {
  const big = sizes[sizes.length - 1] as number;
  const resync: number[] = [];
  const beyondReads: number[] = [];
  const loading: number[] = [];
  const fluxResync: number[] = [];
  const before = await apiWrites(b);
  for (let r = 0; r < reps; r++) {
    const { seconds, lines } = await ours(b, ['sync', '--once', '--no-wait'], {
      namespaces: nsFor('ours', big, 0),
      level: 'debug',
    });
    resync.push(seconds);
    // The plan's time beyond its LISTs: comparing (and, for a changed object, dry-running).
    const planned = lines.find((l) => l.msg === 'planned');
    beyondReads.push(Number(planned?.ms) - Number(planned?.listMs));
    loading.push(Number(lines.find((l) => l.msg === 'manifests loaded')?.ms));
  }
  const writes = (await apiWrites(b)) - before;
  // Flux dry-runs every object at 50 requests/s: ~56 s at 2000 objects, once.
  for (let r = 0; r < (big >= 2000 ? 1 : reps); r++)
    fluxResync.push(await timed(b, () => flux(b, join(b.work, `objects-${big}`), nsFor('flux', big, 0))));
  return [
    {
      measure: `no-change resync ${big} objects (new process)`,
      value: round(median(resync)),
      unit: 's',
      ratios: { 'flux/ours': round(median(fluxResync) / median(resync)) },
    },
    {
      measure: `no-change resync ${big} objects: operator time beyond reads`,
      value: median(beyondReads),
      unit: 'ms',
      note: `comparing ${big} objects with their LIST; reading and parsing the files took ${median(loading)} ms more (once per commit in a running operator)`,
    },
    {
      measure: `no-change resync ${big} objects: apiserver writes`,
      value: writes,
      unit: 'requests',
      note: `apiserver_request_total, non-dry-run writes, ${reps} resyncs`,
    },
    {
      measure: `no-change resync ${big} objects: flux`,
      value: round(median(fluxResync)),
      unit: 's',
      note: `${fluxResync.length} run(s); its client is rate-limited to 50 requests/s`,
    },
  ];
}
