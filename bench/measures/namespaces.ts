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
import { formatHeap, type HeapSnapshot, type HeapSummary, summariseHeap } from '../heap-summary.ts';
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
  median,
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
    const idleProf = await idleProfile(b, f);
    const fluxSeconds = await fluxFleet(b, f);
    return results({ cold, idle: { ...idle, profile: idleProf }, fluxSeconds });
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
  // BENCH_NODE_ARGS: node options for the operator only (to try a V8 setting against the defaults).
  const args = [...(process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? []), ...(nodeArgs ?? [])];
  return runningOperator(fb, f.namespaces.join(','), { interval, extra, nodeArgs: args });
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
  const profile = await readProfile(dir, { untilUs }, 'cold');
  await removeDir(dir);
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
  /** RSS (KiB) sampled every 5 s over the window: the median (one sample is wherever the GC cycle is) and the highest. */
  rssKiB: number;
  rssMaxKiB: number;
  /** V8 heap used and total, and external memory (KiB): what the RSS is made of. */
  heap: { used: number; total: number; external: number };
  /** A heap snapshot taken at the end of the window: what the used heap holds. */
  snapshot: HeapSummary;
}

/**
 * A baseline window with no operator (controllers and kwok alone), then a fresh operator, settled
 * after its first pass, over `idleSeconds` of polls with nothing new in git.
 */
async function idleHour(b: Bench, f: Fleet): Promise<Idle> {
  const base0 = await requestCounts(f.cp);
  await sleep(20_000);
  const baseline = countsSince(base0, await requestCounts(f.cp));
  const snapDir = await tempDir('ns-heap');
  const op = await operatorOn(b, f, ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${snapDir}`]);
  try {
    await firstPass(op, f);
    const [c0, s0] = [await requestCounts(f.cp), await op.sample()];
    const rss = await rssEvery(op, 5, idleSeconds);
    const [c1, s1] = [await requestCounts(f.cp), await op.sample()];
    const snapshot = await heapSnapshot(op, snapDir);
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
      rssKiB: median(rss),
      rssMaxKiB: Math.max(...rss),
      heap: { used: s1.heapUsed, total: s1.heapTotal, external: s1.external },
      snapshot,
    };
  } finally {
    await op.stop();
    await removeDir(snapDir);
  }
}

/**
 * What an idle interval's CPU goes to: another operator, profiled (the profiler's own cost would
 * skew the measured window, so it is not that one), over 20 s of idle polls after its first pass.
 */
async function idleProfile(b: Bench, f: Fleet): Promise<Summary> {
  const dir = await tempDir('ns-idle-prof');
  const op = await operatorOn(b, f, ['--cpu-prof', `--cpu-prof-dir=${dir}`]);
  try {
    await firstPass(op, f);
    const fromUs = Number(process.hrtime.bigint() / 1000n);
    await sleep(20_000);
    const untilUs = Number(process.hrtime.bigint() / 1000n);
    await op.stop();
    return await readProfile(dir, { fromUs, untilUs }, 'idle');
  } finally {
    await op.stop();
    await removeDir(dir);
  }
}

/** The CPU profile the stopped operator wrote in `dir`, kept in the temp folder, summarised for a window. */
async function readProfile(dir: string, window: { fromUs?: number; untilUs: number }, what: string) {
  const file = (await readdir(dir)).find((n) => n.endsWith('.cpuprofile'));
  if (!file) throw new Error(`no CPU profile in ${dir}`);
  // Kept for a closer look (chrome://inspect, or `bench/profile-summary.ts FILE`).
  const kept = join(tmpdir(), `gso-bench-namespaces-${count}-${what}.cpuprofile`);
  await rename(join(dir, file), kept);
  const profile = summarise(JSON.parse(await readFile(kept, 'utf8')) as CpuProfile, window);
  log(`namespaces: ${what} CPU profile (${count} namespaces, ${kept})\n${formatSummary(profile)}`);
  return profile;
}

/** The operator's RSS (KiB) every `everyS` seconds for `forS` seconds, from /proc (nothing asked of the process). */
async function rssEvery(op: RunningOperator, everyS: number, forS: number): Promise<number[]> {
  const out: number[] = [];
  for (let t = 0; t < forS; t += everyS) {
    await sleep(everyS * 1000);
    out.push(await op.rss());
  }
  return out;
}

/** A heap snapshot of the operator (SIGUSR2), summarised; the process answers again once it is written. */
async function heapSnapshot(op: RunningOperator, dir: string): Promise<HeapSummary> {
  process.kill(op.pid, 'SIGUSR2');
  const file = await waitFor(
    'the heap snapshot written',
    async () => {
      const name = (await readdir(dir)).find((n) => n.endsWith('.heapsnapshot'));
      // Written on the main thread: /metrics answers only when the file is whole.
      return name && (await fetch(`http://127.0.0.1:${op.port}/metrics`)).ok ? join(dir, name) : undefined;
    },
    { timeoutMs: 120_000, intervalMs: 500 },
  );
  const summary = summariseHeap(JSON.parse(await readFile(file, 'utf8')) as HeapSnapshot);
  log(`namespaces: idle operator's ${formatHeap(summary)}`);
  return summary;
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

function results(o: { cold: Cold; idle: Idle & { profile: Summary }; fluxSeconds: number }): Result[] {
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
      note: `goal ≤ 10 ms; ${idle.polls} polls in ${idleSeconds} s at GIT_SYNC_INTERVAL=${interval}; top self time: ${top(idle.profile.functions).join(', ')}`,
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
      note: `goal ≤ 300 MiB; median of ${idleSeconds / 5} samples over the idle window, highest ${mib(idle.rssMaxKiB)} MiB; V8 heap ${mib(idle.heap.used)} MiB used of ${mib(idle.heap.total)}, external ${mib(idle.heap.external)} MiB; the rest is native (TLS, HTTP/2 streams, code). Heap snapshot, largest: ${idle.snapshot.top
        .slice(0, 6)
        .map((e) => `${e.name} ${mib(e.bytes / 1024)} MiB`)
        .join(', ')}`,
    },
    {
      measure: `${p}: flux`,
      value: round(fluxSeconds),
      unit: 's',
      note: `fluxcd/pkg/ssa ApplyAllStaged, one namespace per invocation (process start and discovery each), 4 at once; apply only, no health wait. Published: 1,000 Kustomizations in 4 m 16 s at 175 MiB on a 16-core runner (a note, not this machine). Controller QPS ${controllerQps}`,
    },
  ];
}
