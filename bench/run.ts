// `npm run bench [-- --quick]`: every figure measured in one run, on one fresh local control plane
// (etcd without fsync), side by side: git-sync-operator, kubectl apply (client- and server-side),
// Flux's apply engine (fluxcd/pkg/ssa) and raw server-side-apply PATCHes (the floor).
import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { build, componentDir } from '../test/cluster/binaries.ts';
import { type ControlPlane, startControlPlane } from '../test/cluster/controlplane.ts';
import { type ConfigRepo, createConfigRepo } from '../test/fixtures/git.ts';
import { freePort, removeDir, run, tempDir, waitFor } from '../test/support/proc.ts';
import { rawApply } from './floor.ts';
import { mix, toFiles, writeDir } from './objects.ts';

const quick = process.argv.includes('--quick');
const sizes = quick ? [100, 500] : [100, 500, 2000];
const scales = quick ? [1, 10] : [1, 10, 50];
const memObjects = quick ? 2000 : 10_000;
const reps = 3;
const cluster = 'bench';

interface Result {
  measure: string;
  value: number;
  unit: string;
  ratios?: Record<string, number>;
  note?: string;
}
const results: Result[] = [];
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const began = performance.now();
const log = (s: string) =>
  process.stderr.write(`[bench ${Math.round((performance.now() - began) / 1000)} s] ${s}\n`);

let cp: ControlPlane;
let repo: ConfigRepo;
let work: string;

async function main(): Promise<void> {
  log('compiling the operator (the benchmark runs dist/, as the image does)');
  await run(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json']);
  const flux = fluxBinary();
  work = await tempDir('bench');
  // The controllers that answer each applied Deployment, Service and HPA (ReplicaSets,
  // EndpointSlices, status, events: ~1.2 writes per object at the controller-manager's 20 QPS) are
  // off: otherwise a tool's measurement pays for the previous tool's objects. The apiserver and
  // etcd do all the work an apply causes; rollouts are the integration tests' business.
  cp = await startControlPlane({
    unsafeNoFsync: true,
    controllerManagerArgs: [
      '--controllers=*,-deployment-controller,-replicaset-controller,-horizontal-pod-autoscaler-controller,-endpointslice-controller,-endpoints-controller,-endpointslice-mirroring-controller',
    ],
  });
  const ca = await readFile(cp.caFile);

  // Every namespace's folder is in the repo from the start: one commit, one fetch per sync.
  const files: Record<string, string> = { 'README.md': 'bench\n' };
  const nsFor = (tool: string, n: number, r: number) => `${tool}-${n}-${r}`;
  for (const n of sizes)
    for (let r = 0; r < reps; r++) Object.assign(files, toFiles(mix(n), `${cluster}/${nsFor('ours', n, r)}`));
  for (const k of scales)
    for (let i = 0; i < k; i++) Object.assign(files, toFiles(mix(200), `${cluster}/scale${k}-${i}`));
  // The long-running operators' namespaces hold no workloads: their figures are the operator's own,
  // not the time a busy controller-manager takes to report thousands of rollouts.
  Object.assign(
    files,
    toFiles(configOnly(10), `${cluster}/idle`),
    toFiles(configMaps(memObjects), `${cluster}/mem`),
  );
  repo = await createConfigRepo(files);
  const namespaces = Object.keys(files)
    .filter((f) => f.startsWith(`${cluster}/`))
    .map((f) => f.split('/')[1] as string);
  const others = ['kcsa', 'kssa', 'flux', 'floor'].flatMap((t) =>
    sizes.flatMap((n) => [0, 1, 2].map((r) => nsFor(t, n, r))),
  );
  for (const ns of new Set([...namespaces, ...others])) await createNamespace(ns);

  // 1. cold apply
  let best = 32;
  for (const n of sizes) {
    const objects = mix(n);
    const dir = join(work, `objects-${n}`);
    await writeDir(dir, objects);
    const t: Record<string, number[]> = {
      ours: [],
      'ours-reconcile': [],
      kubectl: [],
      'kubectl-ssa': [],
      flux: [],
      floor: [],
    };
    // The sweep runs at 500 objects; other sizes use what it found (32 before it has run).
    if (n === 500) best = await bestConcurrency(objects, ca);
    for (let r = 0; r < reps; r++) {
      t.ours?.push(await timed(() => ours(['sync', '--once', '--no-wait'], nsFor('ours', n, r), 'debug')));
      t['ours-reconcile']?.push(lastReconcile);
      t.kubectl?.push(await timed(() => kubectl(['apply', '-n', nsFor('kcsa', n, r), '-f', dir])));
      t['kubectl-ssa']?.push(
        await timed(() => kubectl(['apply', '--server-side', '-n', nsFor('kssa', n, r), '-f', dir])),
      );
      // Flux's client is rate-limited (50 requests/s, kustomize-controller's default): at 2000
      // objects one run takes 80 s give or take 1%, so it runs once there.
      if (n < 2000 || r === 0)
        t.flux?.push(
          await timed(() =>
            run(flux, ['-kubeconfig', cp.kubeconfig, '-dir', dir, '-namespace', nsFor('flux', n, r)]),
          ),
        );
      await settle();
      t.floor?.push(await rawApply(cp.server, ca, cp.token, nsFor('floor', n, r), objects, best));
    }
    const m = Object.fromEntries(
      Object.entries(t)
        .filter(([, v]) => v.length)
        .map(([k, v]) => [k, median(v)]),
    );
    const oursT = m.ours as number;
    for (const [tool, v] of Object.entries(m)) {
      results.push({
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
        ...(tool === 'ours-reconcile'
          ? {
              note: `the operator's own time, git fetch to last apply (no process start); floor/this ${round((m.floor as number) / v)}×`,
            }
          : {}),
      });
    }
    log(`cold ${n}: ${JSON.stringify(m)}`);
  }

  log('cold apply done');
  // 2. no-change resync at the largest size: a fresh process (no memo: dry-runs every object)
  const big = sizes[sizes.length - 1] as number;
  const ns = nsFor('ours', big, 0);
  const resync: number[] = [];
  const beyondReads: number[] = [];
  const loading: number[] = [];
  const fluxResync: number[] = [];
  const before = await apiWrites();
  for (let r = 0; r < reps; r++) {
    resync.push(await timed(() => ours(['sync', '--once', '--no-wait'], ns, 'debug')));
    // The plan's time beyond its LISTs: comparing (and, for a changed object, dry-running).
    const planned = lastLines.find((l) => l.msg === 'planned');
    beyondReads.push(Number(planned?.ms) - Number(planned?.listMs));
    loading.push(Number(lastLines.find((l) => l.msg === 'manifests loaded')?.ms));
  }
  const writes = (await apiWrites()) - before;
  // Flux dry-runs every object at 50 requests/s: ~56 s at 2000 objects, once.
  for (let r = 0; r < (big >= 2000 ? 1 : reps); r++)
    fluxResync.push(
      await timed(() =>
        run(flux, [
          '-kubeconfig',
          cp.kubeconfig,
          '-dir',
          join(work, `objects-${big}`),
          '-namespace',
          nsFor('flux', big, 0),
        ]),
      ),
    );
  results.push({
    measure: `no-change resync ${big} objects (new process)`,
    value: round(median(resync)),
    unit: 's',
    ratios: { 'flux/ours': round(median(fluxResync) / median(resync)) },
  });
  results.push({
    measure: `no-change resync ${big} objects: operator time beyond reads`,
    value: median(beyondReads),
    unit: 'ms',
    note: `comparing ${big} objects with their LIST; reading and parsing the files took ${median(loading)} ms more (once per commit in a running operator)`,
  });
  results.push({
    measure: `no-change resync ${big} objects: apiserver writes`,
    value: writes,
    unit: 'requests',
    note: `apiserver_request_total, non-dry-run writes, ${reps} resyncs`,
  });
  results.push({
    measure: `no-change resync ${big} objects: flux`,
    value: round(median(fluxResync)),
    unit: 's',
    note: `${fluxResync.length} run(s); its client is rate-limited to 50 requests/s`,
  });

  log('resync done');
  // 3 + 5. a running operator: idle cost per interval, RSS idle and at memObjects
  // Idle: polls at 0.5 s, with the default drift check at every poll, and with DRIFT_INTERVAL=300
  // (an idle poll is then one ls-remote).
  for (const drift of [300, 0.5]) {
    const idle = await runningOperator('idle', 0.5, undefined, { DRIFT_INTERVAL: String(drift) });
    await sleep(2000);
    const s0 = await idle.sample();
    await sleep(5000);
    const s1 = await idle.sample();
    const intervals = s1.lsRemote - s0.lsRemote;
    const cpu = round(((s1.cpu - s0.cpu) / Math.max(1, intervals)) * 1000);
    if (drift === 300) {
      results.push({
        measure: 'idle: git ls-remote per interval',
        value: round(intervals / 10),
        unit: 'calls',
        note: `${intervals} in 5 s at GIT_SYNC_INTERVAL=0.5`,
      });
      results.push({ measure: 'idle: git fetches while idle', value: s1.fetch - s0.fetch, unit: 'calls' });
      results.push({
        measure: 'idle: operator CPU per interval, DRIFT_INTERVAL=300',
        value: cpu,
        unit: 'ms',
        note: 'one ls-remote (a forked git costs this VM 6-10 ms of the parent CPU)',
      });
      results.push({ measure: 'RSS idle (10 objects)', value: round(s1.rss / 1024), unit: 'MiB' });
    } else {
      results.push({
        measure: 'idle: operator CPU per interval, default DRIFT_INTERVAL (every poll)',
        value: cpu,
        unit: 'ms',
        note: 'ls-remote + drift check: Version GET, one LIST per kind, 10 objects compared',
      });
    }
    await idle.stop();
  }
  const mem = await runningOperator('mem', 60);
  const m1 = await mem.sample();
  results.push({
    measure: `RSS after syncing ${memObjects} objects`,
    value: round(m1.rss / 1024),
    unit: 'MiB',
    note: `peak ${round(m1.hwm / 1024)} MiB`,
  });
  await mem.stop();

  log('idle and memory done');
  // 4. commit → applied: polling vs webhook
  const lat = await runningOperator('idle', 2, 'bench-secret');
  const poll: number[] = [];
  const hook: number[] = [];
  for (let r = 0; r < reps; r++) {
    poll.push(await commitToApplied(`poll ${r}`));
    hook.push(await commitToApplied(`hook ${r}`, lat.port));
  }
  await lat.stop();
  results.push({ measure: 'commit → applied, polling every 2 s', value: round(median(poll)), unit: 's' });
  results.push({ measure: 'commit → applied, webhook', value: round(median(hook)), unit: 's' });

  log('latency done');
  // 6. scale: k namespaces × 200 objects in one sync
  for (const k of scales) {
    const list = Array.from({ length: k }, (_, i) => `scale${k}-${i}`).join(',');
    const s = await timed(() => ours(['sync', '--once', '--no-wait'], list));
    results.push({
      measure: `scale: ${k} namespaces × 200 objects`,
      value: round(s),
      unit: 's',
      note: `${round((s / (k * 200)) * 1000)} ms per object`,
    });
  }

  await writeFile(
    'bench/results.json',
    `${JSON.stringify({ date: new Date().toISOString(), quick, seconds: Math.round((performance.now() - began) / 1000), machine: { cpus: cpus().length, memGiB: Math.round(totalmem() / 2 ** 30) }, results }, null, 2)}\n`,
  );
  printTable();
}

/**
 * ConfigMaps only: what the memory figure depends on is the number and size of objects, and a
 * Service costs the apiserver a ClusterIP allocation (a second write), which only makes it slower.
 */
function configMaps(n: number): ReturnType<typeof mix> {
  return mix(Math.ceil(n / 0.4) + 1)
    .filter((o) => o.kind === 'ConfigMap')
    .slice(0, n);
}

/** ConfigMaps and Services only (no rollout to wait for). */
function configOnly(n: number): ReturnType<typeof mix> {
  return mix(n * 2)
    .filter((o) => o.kind === 'ConfigMap' || o.kind === 'Service')
    .slice(0, n);
}

async function createNamespace(name: string): Promise<void> {
  const res = await cp.request('POST', '/api/v1/namespaces', { metadata: { name } });
  if (res.status !== 201 && res.status !== 409) throw new Error(`namespace ${name}: ${res.status}`);
}

/** Flux's engine driver, built from bench/flux on first use (cached like the control plane). */
function fluxBinary(): string {
  const path = join(componentDir('flux-bench'), 'bin', 'flux-apply');
  if (!existsSync(path)) build(['flux-bench']);
  return path;
}

/** Starts each timing on a quiet control plane: the controllers are done with what came before. */
async function timed(fn: () => Promise<unknown>): Promise<number> {
  await settle();
  const t = performance.now();
  await fn();
  return (performance.now() - t) / 1000;
}

function opEnv(namespaces: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    CONFIG_REPO: repo.fileUrl,
    CLUSTER_NAME: cluster,
    MANAGED_NAMESPACES: namespaces,
    KUBECONFIG: cp.kubeconfig,
    GSO_WORK_DIR: join(work, `op-${Math.random().toString(36).slice(2)}`),
    LEADER_ELECT: 'false',
    LOG_LEVEL: 'warn',
    ...extra,
  };
}

/** Runs the CLI; records the reconcile part (first "new commit" to last "applied" log line). */
async function ours(args: string[], namespaces: string, level = 'info'): Promise<unknown> {
  lastReconcile = 0;
  const { stdout } = await run(process.execPath, ['dist/cli.js', ...args], {
    env: opEnv(namespaces, { LOG_LEVEL: level }),
  });
  lastLines = stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as LogLine);
  const phases = ['version read', 'manifests loaded', 'planned', 'apply requests done'];
  log(
    `ours ${namespaces}: ${lastLines
      .filter((l) => phases.includes(l.msg))
      .map((l) => `${l.msg} ${l.ms} ms`)
      .join(', ')}`,
  );
  const from = lastLines.find((l) => l.msg === 'new commit');
  const to = lastLines.filter((l) => l.msg === 'applied').pop();
  if (from && to) lastReconcile = (Date.parse(to.time) - Date.parse(from.time)) / 1000;
  return stdout;
}
type LogLine = { time: string; msg: string; [k: string]: unknown };
let lastReconcile = 0;
let lastLines: LogLine[] = [];

function kubectl(args: string[]): Promise<unknown> {
  return run('kubectl', ['--kubeconfig', cp.kubeconfig, ...args]);
}

async function bestConcurrency(objects: ReturnType<typeof mix>, ca: Buffer): Promise<number> {
  let best = 16;
  let bestT = Number.POSITIVE_INFINITY;
  for (const c of [8, 16, 32, 64]) {
    const ns = `floor-probe-${objects.length}-${c}`;
    await createNamespace(ns);
    await settle();
    const t = await rawApply(cp.server, ca, cp.token, ns, objects, c);
    if (t < bestT) [best, bestT] = [c, t];
  }
  log(`floor: best concurrency for ${objects.length} objects is ${best}`);
  return best;
}

/**
 * Waits (at most 60 s) until no client writes for 0.5 s: the deployment controller answers each
 * new Deployment with a ReplicaSet and status updates, which would otherwise land on the next tool.
 */
async function settle(): Promise<void> {
  let last = -1;
  for (let i = 0; i < 240; i++) {
    const now = await apiWrites(true);
    if (now === last) return;
    last = now;
    await sleep(250);
  }
  log('control plane still busy after 60 s; measuring anyway');
}

/**
 * Non-dry-run writes the apiserver counted. Ours: leaving out what controllers and kwok write
 * (pods, replicasets, status, heartbeats). `all`: every writer but the kwok node heartbeats.
 */
async function apiWrites(all = false): Promise<number> {
  const res = await cp.request('GET', '/metrics', undefined, 'text/plain');
  let total = 0;
  for (const line of String(res.body).split('\n')) {
    if (!line.startsWith('apiserver_request_total{')) continue;
    if (!/verb="(POST|PUT|PATCH|DELETE|APPLY)"/.test(line) || !/dry_run=""/.test(line)) continue;
    // Controllers' and kwok's own writes; our Version's status writes stay counted.
    const theirs =
      /resource="(leases|events|nodes|pods|replicasets|endpointslices|endpoints)"/.test(line) ||
      (/subresource="status"/.test(line) && !/resource="versions"/.test(line));
    if (all ? /resource="(leases|nodes)"/.test(line) : theirs) continue;
    total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

async function runningOperator(
  ns: string,
  interval: number,
  webhookSecret?: string,
  extra: Record<string, string> = {},
) {
  const port = await freePort();
  const env = opEnv(ns, {
    GIT_SYNC_INTERVAL: String(interval),
    LISTEN_ADDRESS: `127.0.0.1:${port}`,
    ...(webhookSecret ? { WEBHOOK_SECRET: webhookSecret } : {}),
    ...extra,
  });
  const child = spawn(process.execPath, ['dist/cli.js', 'run'], {
    env,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const metric = async (name: string) => {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
    return Number(m?.[1] ?? 0);
  };
  await waitFor(
    'operator ready',
    async () =>
      (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.ok ? true : undefined,
    {
      timeoutMs: 600_000,
      intervalMs: 200,
    },
  );
  return {
    port,
    async sample() {
      const status = await readFile(`/proc/${child.pid}/status`, 'utf8');
      const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
      const stat = (await readFile(`/proc/${child.pid}/stat`, 'utf8')).split(') ')[1]?.split(' ') ?? [];
      return {
        rss: kb('VmRSS'),
        hwm: kb('VmHWM'),
        cpu: (Number(stat[11]) + Number(stat[12])) / 100,
        lsRemote: await metric('gso_git_requests_total\\{op="ls-remote",result="ok"\\}'),
        fetch: await metric('gso_git_requests_total\\{op="fetch",result="ok"\\}'),
      };
    },
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    },
  };
}

let latencyCount = 0;
async function commitToApplied(label: string, webhookPort?: number): Promise<number> {
  // One ConfigMap changes in the watched namespace: the commit is applied, not just recorded.
  const cm = `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: latency}\ndata: {n: "${latencyCount++}"}\n`;
  const sha = await repo.commit({ [`${cluster}/idle/latency.yaml`]: cm }, label);
  const t = performance.now();
  if (webhookPort) {
    const body = JSON.stringify({ ref: 'refs/heads/main', after: sha });
    const sig = `sha256=${createHmac('sha256', 'bench-secret').update(body).digest('hex')}`;
    await fetch(`http://127.0.0.1:${webhookPort}/hooks/git`, {
      method: 'POST',
      body,
      headers: { 'x-hub-signature-256': sig },
    });
  }
  await waitFor(
    'applied',
    async () => {
      const res = await cp.request('GET', '/apis/versions.mozilla.org/v1/namespaces/idle/versions/idle');
      return (res.body as { applied?: string }).applied === sha.slice(0, 7) ? true : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 20 },
  );
  return (performance.now() - t) / 1000;
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

function printTable(): void {
  const w = Math.max(...results.map((r) => r.measure.length));
  process.stdout.write(`\n${'measure'.padEnd(w)}  value       ratios / note\n`);
  for (const r of results) {
    const ratios =
      r.ratios && Object.keys(r.ratios).length
        ? Object.entries(r.ratios)
            .map(([k, v]) => `${k} ${v}×`)
            .join(', ')
        : '';
    process.stdout.write(
      `${r.measure.padEnd(w)}  ${`${r.value} ${r.unit}`.padEnd(11)} ${[ratios, r.note].filter(Boolean).join('; ')}\n`,
    );
  }
}

// Ctrl-C still stops the control plane and operators this run started.
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => process.exit(130));

main()
  .catch((err: unknown) => {
    process.stderr.write(`bench failed: ${(err as Error).stack}\n`);
    process.exitCode = 1;
  })
  .finally(async () => {
    await cp?.stop();
    await repo?.stop();
    if (work) await removeDir(work);
  });
