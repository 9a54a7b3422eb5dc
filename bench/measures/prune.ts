// 6. prune: 1,000 objects git no longer has (our label on each) deleted by the operator's prune —
// one LIST per kind, then the DELETEs concurrently, each on the resourceVersion it was listed at —
// beside the floor: the same DELETEs, raw, as many in flight. The median of `reps` runs.
import { KubeClient } from '../../src/kube/client.ts';
import { managedByLabel, managedByValue } from '../../src/kube/labels.ts';
import { RestMapper } from '../../src/kube/mapping.ts';
import { prune } from '../../src/kube/prune.ts';
import { refOf } from '../../src/manifests/object.ts';
import { rawApply, rawDelete } from '../floor.ts';
import { mix } from '../objects.ts';
import { type Bench, createNamespace, log, median, type Result, reps, round, timed } from '../setup.ts';

export const name = 'prune';

const n = 1000;
/** APPLY_CONCURRENCY's default: prune sends as many at once. */
const concurrency = 32;

export async function run(b: Bench): Promise<Result[]> {
  const objects = mix(n, 'stale').map((o) => ({
    ...o,
    metadata: { ...o.metadata, labels: { ...o.metadata.labels, [managedByLabel]: managedByValue } },
  }));
  const refs = objects.map(refOf);
  const client = new KubeClient({ kubeconfig: b.cp.kubeconfig, maxSockets: concurrency * 2 });
  const ctx = { client, mapper: new RestMapper(client), concurrency };
  const t: { ours: number[]; floor: number[] } = { ours: [], floor: [] };
  try {
    for (let r = 0; r < reps; r++) {
      const [mine, floor] = [`prune-ours-${r}`, `prune-floor-${r}`];
      for (const ns of [mine, floor]) {
        await createNamespace(b, ns);
        await rawApply(b.api, ns, objects, concurrency);
      }
      t.ours.push(
        await timed(b, async () => {
          const res = await prune(ctx, mine, refs);
          if (res.deleted.length !== n) throw new Error(`prune deleted ${res.deleted.length} of ${n}`);
        }),
      );
      t.floor.push(await timed(b, () => rawDelete(b.api, floor, objects, concurrency)));
    }
  } finally {
    client.close();
  }
  const [ours, floor] = [median(t.ours), median(t.floor)];
  log(`prune ${n}: ours ${ours} s, floor ${floor} s`);
  return [
    {
      measure: `prune ${n} objects: ours`,
      value: round(ours),
      unit: 's',
      ratios: { 'ours/floor': round(ours / floor) },
      note: `one LIST per kind, ${concurrency} DELETEs in flight (goal: within 1.2× of the floor)`,
    },
    {
      measure: `prune ${n} objects: floor`,
      value: round(floor),
      unit: 's',
      note: `the same ${n} DELETEs, ${concurrency} in flight, in-process`,
    },
  ];
}
