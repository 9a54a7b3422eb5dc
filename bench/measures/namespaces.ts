// 7. 1,000 namespaces on one replica (issue 16): one running operator syncs a config repo of
// `count` namespace folders (a Deployment of 1 replica, its ServiceAccount, a Service, a ConfigMap
// each) on a control plane whose controllers and kwok nodes roll the Deployments out; then an idle
// "hour compressed" (polls every 0.5 s, no change); beside it Flux's engine applying the same
// folders, one namespace per invocation, 4 at a time (kustomize-controller's --concurrent=4).
import { readdir, readFile, rename } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { short } from '../../src/source/sha.ts';
import type { Version } from '../../src/version/types.ts';
import { removeDir, tempDir, waitFor } from '../../testbed/proc.ts';
import {
  controllerQps,
  countsSince,
  createNamespaces,
  type Fleet,
  fleetCluster,
  requestCounts,
  startFleet,
  sum,
  writeFolders,
} from '../fleet.ts';
import {
  type CpuProfile,
  formatSummary,
  type SelfTime,
  type Summary,
  summarise,
} from '../profile-summary.ts';
import {
  type Bench,
  flux,
  log,
  quick,
  type Result,
  type RunningOperator,
  round,
  runningOperator,
} from '../setup.ts';

export const name = 'namespaces';

/** BENCH_NAMESPACES overrides the count (to look at one size closely). */
const count = Number(process.env.BENCH_NAMESPACES) || (quick ? 200 : 1000);
const interval = 0.5;
/** The idle window: 120 polls of 0.5 s, "an idle hour compressed". */
const idleSeconds = 60;
const mib = (kb: number) => round(kb / 1024);

export async function run(b: Bench): Promise<Result[]> {
  log(`namespaces: a control plane with its controllers on, MinIO, a repo of ${count} namespaces`);
  const f = await startFleet(count);
  try {
    const head = await f.repo.head();
    const cold = await coldSync(b, f, head);
    const idle = await idleHour(b, f);
    const fluxSeconds = await fluxFleet(b, f);
    return results({ cold, idle, fluxSeconds });
  } finally {
    await f.stop();
  }
}

/** The fleet as the bench's operator helpers see it: its control plane and repo, S3 in the env. */
function operatorOn(b: Bench, f: Fleet, nodeArgs?: string[]): Promise<RunningOperator> {
  const extra = {
    CLUSTER_NAME: fleetCluster,
    S3_BUCKET: f.s3.bucket,
    AWS_ACCESS_KEY_ID: f.s3.putOnly.accessKeyId,
    AWS_SECRET_ACCESS_KEY: f.s3.putOnly.secretAccessKey,
    AWS_REGION: f.s3.region,
    AWS_ENDPOINT_URL_S3: f.s3.endpoint,
  };
  const fb: Bench = { ...b, cp: f.cp, repo: f.repo };
  return runningOperator(fb, f.namespaces.join(','), { interval, extra, ...(nodeArgs ? { nodeArgs } : {}) });
}

interface Progress {
  applied: number;
  deployed: number;
  s3: number;
  s3Failed: number;
}

async function progress(f: Fleet, sha7: string): Promise<Progress> {
  const res = await f.cp.request('GET', '/apis/versions.mozilla.org/v1/versions');
  const items = (res.body as { items?: Version[] }).items ?? [];
  const keys = await f.s3.listKeys(`${fleetCluster}/`);
  return {
    applied: items.filter((v) => v.applied === sha7).length,
    deployed: items.filter((v) => v.deployed === sha7).length,
    s3: keys.filter((k) => !k.endsWith('.failed')).length,
    s3Failed: keys.filter((k) => k.endsWith('.failed')).length,
  };
}

interface Cold {
  /** Seconds from the operator's start until every namespace reached each. */
  at: { applied: number; deployed: number; s3: number };
  rssKiB: number;
  peakKiB: number;
  profile: Summary;
}

/** A fresh operator, profiled (`--cpu-prof`), until every namespace is deployed and told to S3. */
async function coldSync(b: Bench, f: Fleet, head: string): Promise<Cold> {
  const dir = await tempDir('ns-prof');
  const t0 = performance.now();
  const op = await operatorOn(b, f, ['--cpu-prof', `--cpu-prof-dir=${dir}`]);
  const at: Partial<Cold['at']> = {};
  let lastLog = 0;
  await waitFor(
    'every namespace deployed and its S3 file written',
    async () => {
      const p = await progress(f, short(head));
      const s = round((performance.now() - t0) / 1000);
      for (const k of ['applied', 'deployed', 's3'] as const) if (p[k] >= count) at[k] ??= s;
      if (s - lastLog >= 10) [lastLog] = [s, log(`namespaces: ${s} s ${JSON.stringify(p)}`)];
      return at.deployed !== undefined && at.s3 !== undefined ? true : undefined;
    },
    { timeoutMs: 30 * 60_000, intervalMs: 1000 },
  );
  // The profile's clock is the monotonic one every process shares: cut it where the sync ended.
  const untilUs = Number(process.hrtime.bigint() / 1000n);
  const s = await op.sample();
  await op.stop();
  const file = (await readdir(dir)).find((n) => n.endsWith('.cpuprofile'));
  if (!file) throw new Error(`no CPU profile in ${dir}`);
  // Kept for a closer look (chrome://inspect, or `bench/profile-summary.ts FILE`).
  const kept = join(tmpdir(), `gso-bench-namespaces-${count}.cpuprofile`);
  await rename(join(dir, file), kept);
  const profile = summarise(JSON.parse(await readFile(kept, 'utf8')) as CpuProfile, { untilUs });
  await removeDir(dir);
  log(`namespaces: cold sync CPU profile (${count} namespaces, ${kept})\n${formatSummary(profile)}`);
  return { at: at as Cold['at'], rssKiB: s.rss, peakKiB: s.hwm, profile };
}

interface Idle {
  /** Polls made in the window (one ls-remote each). */
  polls: number;
  cpuMsPerPoll: number;
  /** apiserver requests per poll beyond the baseline with no operator running. */
  requestsPerPoll: number;
  /** The busiest `VERB resource` of those, per poll. */
  top: [string, number][];
  rssKiB: number;
  /** V8 heap used and total, and external memory (KiB): what the RSS is made of. */
  heap: { used: number; total: number; external: number };
}

/**
 * A baseline window with no operator (controllers and kwok alone), then a fresh operator, settled
 * after its first pass, over `idleSeconds` of polls with nothing new in git.
 */
async function idleHour(b: Bench, f: Fleet): Promise<Idle> {
  const base0 = await requestCounts(f.cp);
  await sleep(20_000);
  const baseline = countsSince(base0, await requestCounts(f.cp));
  const op = await operatorOn(b, f);
  try {
    await firstPass(op, f);
    const [c0, s0] = [await requestCounts(f.cp), await op.sample()];
    await sleep(idleSeconds * 1000);
    const [c1, s1] = [await requestCounts(f.cp), await op.sample()];
    const polls = s1.lsRemote - s0.lsRemote;
    const ours = countsSince(c0, c1);
    for (const [k, v] of baseline) ours.set(k, (ours.get(k) ?? 0) - (v * idleSeconds) / 20);
    const perPoll = (x: number) => round(x / Math.max(1, polls));
    log(
      `namespaces: idle ${idleSeconds} s: ${polls} polls; requests ${sum(countsSince(c0, c1))}, baseline ${round((sum(baseline) * idleSeconds) / 20)}; by kind beyond baseline ${JSON.stringify([...ours])}`,
    );
    return {
      polls,
      cpuMsPerPoll: perPoll((s1.cpu - s0.cpu) * 1000),
      requestsPerPoll: perPoll(Math.max(0, sum(ours))),
      top: [...ours]
        .sort((x, y) => y[1] - x[1])
        .slice(0, 4)
        .map(([k, v]) => [k, perPoll(v)]),
      rssKiB: s1.rss,
      heap: { used: s1.heapUsed, total: s1.heapTotal, external: s1.external },
    };
  } finally {
    await op.stop();
  }
}

/** Until a restarted operator has reconciled every namespace once and writes have stopped for 3 s. */
async function firstPass(op: RunningOperator, f: Fleet): Promise<void> {
  const t = performance.now();
  await waitFor(
    'the restarted operator reconciled every namespace once',
    async () => ((await syncedNamespaces(op)) >= count ? true : undefined),
    { timeoutMs: 10 * 60_000, intervalMs: 1000 },
  );
  let [last, still] = [-1, 0];
  while (still < 3) {
    const w = writes(await requestCounts(f.cp));
    [last, still] = [w, w === last ? still + 1 : 0];
    await sleep(1000);
  }
  log(`namespaces: restarted operator settled after ${round((performance.now() - t) / 1000)} s`);
}

async function syncedNamespaces(op: RunningOperator): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${op.port}/metrics`)).text();
  return new Set(text.match(/^gso_syncs_total\{namespace="[^"]+"/gm) ?? []).size;
}

/** Writes the apiserver counted, leaving out kwok's node heartbeats (leases, node status). */
const writes = (c: Map<string, number>) =>
  sum(
    new Map([...c].filter(([k]) => /^(POST|PUT|PATCH|DELETE|APPLY) /.test(k) && !/ (leases|nodes)/.test(k))),
  );

/** Flux's engine over the same folders into fresh namespaces, one invocation each, 4 at once. */
async function fluxFleet(b: Bench, f: Fleet): Promise<number> {
  const dir = join(b.work, 'fleet-flux');
  await writeFolders(dir, f.namespaces);
  const target = (ns: string) => `flux-${ns}`;
  await createNamespaces(f.cp, f.namespaces.map(target));
  const fb: Bench = { ...b, cp: f.cp };
  const t = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < f.namespaces.length) {
      const ns = f.namespaces[next++] as string;
      await flux(fb, join(dir, ns), target(ns));
    }
  };
  await Promise.all(Array.from({ length: 4 }, worker));
  const seconds = (performance.now() - t) / 1000;
  log(`namespaces: flux ${count} namespaces in ${round(seconds)} s`);
  return seconds;
}

function results(o: { cold: Cold; idle: Idle; fluxSeconds: number }): Result[] {
  const { cold, idle, fluxSeconds } = o;
  const p = `namespaces: ${count}`;
  const top = (xs: SelfTime[]) => xs.slice(0, 5).map((x) => `${x.name} ${Math.round(x.share * 100)}%`);
  return [
    {
      measure: `${p}, cold sync: all applied`,
      value: cold.at.applied,
      unit: 's',
      ratios: { 'flux/ours': round(fluxSeconds / cold.at.applied) },
      note: 'one running operator from its start; checked every 1 s',
    },
    { measure: `${p}, cold sync: all deployed (healthy)`, value: cold.at.deployed, unit: 's' },
    { measure: `${p}, cold sync: all S3 files written`, value: cold.at.s3, unit: 's' },
    {
      measure: `${p}, RSS after the cold sync`,
      value: mib(cold.rssKiB),
      unit: 'MiB',
      note: `peak ${mib(cold.peakKiB)} MiB (goal ≤ 300 MiB; --cpu-prof on)`,
    },
    {
      measure: `${p}, cold sync CPU profile: busy`,
      value: round((cold.profile.totalMs - cold.profile.idleMs) / 1000),
      unit: 's',
      note: `top self time: ${top(cold.profile.functions).join(', ')}; by package: ${top(cold.profile.files).join(', ')}`,
    },
    {
      measure: `${p}, idle: operator CPU per interval`,
      value: idle.cpuMsPerPoll,
      unit: 'ms',
      note: `goal ≤ 10 ms; ${idle.polls} polls in ${idleSeconds} s at GIT_SYNC_INTERVAL=${interval}`,
    },
    {
      measure: `${p}, idle: apiserver requests per interval`,
      value: idle.requestsPerPoll,
      unit: 'requests',
      note: `goal 0; all verbs, beyond a baseline with no operator; most: ${idle.top.map(([k, v]) => `${k} ${v}`).join(', ')}`,
    },
    {
      measure: `${p}, idle: git ls-remote per interval`,
      value: round(idle.polls / (idleSeconds / interval)),
      unit: 'calls',
    },
    {
      measure: `${p}, RSS idle (restarted, after its first pass)`,
      value: mib(idle.rssKiB),
      unit: 'MiB',
      note: `goal ≤ 300 MiB; V8 heap ${mib(idle.heap.used)} MiB used of ${mib(idle.heap.total)}, external ${mib(idle.heap.external)} MiB; the rest is native (TLS, HTTP/2 streams, code)`,
    },
    {
      measure: `${p}: flux`,
      value: round(fluxSeconds),
      unit: 's',
      note: `fluxcd/pkg/ssa ApplyAllStaged, one namespace per invocation (process start and discovery each), 4 at once; apply only, no health wait. Published: 1,000 Kustomizations in 4 m 16 s at 175 MiB on a 16-core runner (a note, not this machine). Controller QPS ${controllerQps}`,
    },
  ];
}
