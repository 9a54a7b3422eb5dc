// 1. cold apply: each tool applies `n` objects to an empty namespace; the median of `reps` runs.
import { join } from 'node:path';
import type { KubeObject } from '../../src/manifests/object.ts';
import { rawApply, rawDryRun } from '../floor.ts';
import { mix, writeDir } from '../objects.ts';
import {
  type Bench,
  createNamespace,
  flux,
  kubectl,
  log,
  median,
  nsFor,
  ours,
  type Result,
  reps,
  round,
  settle,
  sizes,
  timed,
} from '../setup.ts';

export const name = 'cold apply';

export async function run(b: Bench): Promise<Result[]> {
  const results: Result[] = [];
  let best = 32;
  for (const n of sizes) {
    const objects = mix(n);
    const dir = join(b.work, `objects-${n}`);
    await writeDir(dir, objects);
    // The floor's concurrency is swept at each size from 500 on (the best at 500 is not the best
    // at 2,000 on the same apiserver); 100 objects use 32.
    if (n >= 500) best = await bestConcurrency(b, objects);
    const t: Record<string, number[]> = {
      ours: [],
      'ours-reconcile': [],
      kubectl: [],
      'kubectl-ssa': [],
      flux: [],
      floor: [],
      'floor-dry-run': [],
    };
    for (let r = 0; r < reps; r++) await repetition(b, { n, r, dir, objects, best }, t);
    const m = Object.fromEntries(
      Object.entries(t)
        .filter(([, v]) => v.length)
        .map(([k, v]) => [k, median(v)]),
    );
    results.push(...Object.entries(m).map(([tool, v]) => result(n, tool, v, { m, best })));
    if (n >= 500) results.push(designFloor(n, m));
    log(`cold ${n}: ${JSON.stringify(m)}`);
  }
  return results;
}

/** One run of every tool at `n` objects, each into its own namespace. */
async function repetition(
  b: Bench,
  o: { n: number; r: number; dir: string; objects: KubeObject[]; best: number },
  t: Record<string, number[]>,
): Promise<void> {
  const { n, r, dir } = o;
  // Each tool starts on a quiet control plane: the Deployments the one before created still have
  // their ReplicaSets made by the controllers, which would otherwise be measured with the next.
  await settle(b);
  const run = await ours(b, ['sync', '--once', '--no-wait'], {
    namespaces: nsFor('ours', n, r),
    level: 'debug',
  });
  t.ours?.push(run.seconds);
  t['ours-reconcile']?.push(run.reconcile);
  await settle(b);
  t.kubectl?.push(await timed(b, () => kubectl(b, ['apply', '-n', nsFor('kcsa', n, r), '-f', dir])));
  await settle(b);
  t['kubectl-ssa']?.push(
    await timed(b, () => kubectl(b, ['apply', '--server-side', '-n', nsFor('kssa', n, r), '-f', dir])),
  );
  await settle(b);
  // Flux's client is rate-limited (50 requests/s, kustomize-controller's default): at 2000
  // objects one run takes 80 s give or take 1%, so it runs once there.
  if (n < 2000 || r === 0) t.flux?.push(await timed(b, () => flux(b, dir, nsFor('flux', n, r))));
  await settle(b);
  // The design's floor is both: the whole set dry-run into the empty namespace, then applied.
  t['floor-dry-run']?.push(await rawDryRun(b.api, nsFor('floor', n, r), o.objects, o.best));
  t.floor?.push(await rawApply(b.api, nsFor('floor', n, r), o.objects, o.best));
}

/** Issue 16's goal: the operator's reconcile within 1.15× of the dry-run floor plus the apply floor. */
const designGoal = 1.15;

function designFloor(n: number, m: Record<string, number>): Result {
  const [dry, apply] = [m['floor-dry-run'] as number, m.floor as number];
  const ratio = round((m['ours-reconcile'] as number) / (dry + apply));
  return {
    measure: `cold apply ${n} objects: ours-reconcile / (dry-run floor + floor)`,
    value: ratio,
    unit: '×',
    ratios: { goal: designGoal },
    note: `goal ≤ ${designGoal}: ${ratio <= designGoal ? 'met' : 'missed'}; ${round(dry)} s + ${round(apply)} s = ${round(dry + apply)} s`,
  };
}

function result(n: number, tool: string, v: number, o: { m: Record<string, number>; best: number }): Result {
  const { m, best } = o;
  const oursT = m.ours as number;
  return {
    measure: `cold apply ${n} objects: ${tool}`,
    value: round(v),
    unit: 's',
    ratios:
      tool === 'ours'
        ? Object.fromEntries(
            Object.entries(m)
              .filter(([k]) => k !== 'ours')
              .map(([k, x]) => [`${k}/ours`, round(x / oursT)]),
          )
        : {},
    ...(tool === 'floor' ? { note: `${best} PATCHes in flight, in-process (no process start)` } : {}),
    ...(tool === 'floor-dry-run'
      ? { note: `the same PATCHes with dryRun=All, ${best} in flight, before the floor's apply` }
      : {}),
    ...(tool === 'ours-reconcile'
      ? {
          note: `the operator's own time, git fetch to last apply (no process start); floor/this ${round((m.floor as number) / v)}×`,
        }
      : {}),
  };
}

async function bestConcurrency(b: Bench, objects: KubeObject[]): Promise<number> {
  let best = 16;
  let bestT = Number.POSITIVE_INFINITY;
  for (const c of [8, 16, 32, 64]) {
    const ns = `floor-probe-${objects.length}-${c}`;
    await createNamespace(b, ns);
    await settle(b);
    const t = await rawApply(b.api, ns, objects, c);
    if (t < bestT) [best, bestT] = [c, t];
  }
  log(`floor: best concurrency for ${objects.length} objects is ${best}`);
  return best;
}
