// What every measure of `npm run bench` shares: the run's sizes, one fresh local control plane
// (etcd without fsync), one config repo holding every namespace's folder, the tools run against
// them (this project's CLI, kubectl, Flux's engine), quiet-start timing and the results.
import { spawn } from 'node:child_process';
import { existsSync, openSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { build, componentDir } from '../testbed/binaries.ts';
import { type ControlPlane, startControlPlane } from '../testbed/controlplane.ts';
import { type ConfigRepo, createConfigRepo } from '../testbed/git.ts';
import { freePort, run, waitFor } from '../testbed/proc.ts';
import type { ApiTarget } from './floor.ts';
import { mix, toFiles } from './objects.ts';

export const quick = process.argv.includes('--quick');
export const sizes = quick ? [100, 500] : [100, 500, 2000];
export const scales = quick ? [1, 10] : [1, 10, 50];
export const memObjects = quick ? 2000 : 10_000;
export const reps = 3;
export const cluster = 'bench';

export interface Result {
  measure: string;
  value: number;
  unit: string;
  ratios?: Record<string, number>;
  note?: string;
}

/** One measure of the run: measures run in order, and a later one may use what an earlier one applied. */
export interface Measure {
  name: string;
  run(b: Bench): Promise<Result[]>;
}

export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
export const round = (x: number) => Math.round(x * 1000) / 1000;
const began = performance.now();
export const secondsSinceStart = () => Math.round((performance.now() - began) / 1000);
export const log = (s: string) => process.stderr.write(`[bench ${secondsSinceStart()} s] ${s}\n`);

/** The namespace a tool applies `n` objects to in repetition `r`. */
export const nsFor = (tool: string, n: number, r: number) => `${tool}-${n}-${r}`;

export interface Bench {
  cp: ControlPlane;
  repo: ConfigRepo;
  work: string;
  /** Flux's engine driver (bench/flux). */
  flux: string;
  /** The apiserver as the floor PATCHes it. */
  api: ApiTarget;
}

/** Compiles the operator, starts the control plane and the repo, creates every namespace. */
export async function startBench(work: string, started: (b: Partial<Bench>) => void): Promise<Bench> {
  log('compiling the operator (the benchmark runs dist/, as the image does)');
  await run(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json']);
  const flux = fluxBinary();
  // The controllers that answer each applied Deployment, Service and HPA (ReplicaSets,
  // EndpointSlices, status, events: ~1.2 writes per object at the controller-manager's 20 QPS) are
  // off: otherwise a tool's measurement pays for the previous tool's objects. The apiserver and
  // etcd do all the work an apply causes; rollouts are the integration tests' business.
  const cp = await startControlPlane({
    unsafeNoFsync: true,
    controllerManagerArgs: [
      '--controllers=*,-deployment-controller,-replicaset-controller,-horizontal-pod-autoscaler-controller,-endpointslice-controller,-endpoints-controller,-endpointslice-mirroring-controller',
    ],
  });
  started({ cp });
  const files = repoFiles();
  const repo = await createConfigRepo(files);
  started({ cp, repo });
  const b: Bench = {
    cp,
    repo,
    work,
    flux,
    api: { server: cp.server, ca: await readFile(cp.caFile), token: cp.token },
  };
  const namespaces = Object.keys(files)
    .filter((f) => f.startsWith(`${cluster}/`))
    .map((f) => f.split('/')[1] as string);
  const others = ['kcsa', 'kssa', 'flux', 'floor'].flatMap((t) =>
    sizes.flatMap((n) => [0, 1, 2].map((r) => nsFor(t, n, r))),
  );
  for (const ns of new Set([...namespaces, ...others])) await createNamespace(b, ns);
  return b;
}

/** Every namespace's folder is in the repo from the start: one commit, one fetch per sync. */
function repoFiles(): Record<string, string> {
  const files: Record<string, string> = { 'README.md': 'bench\n' };
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
  return files;
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

export async function createNamespace(b: Bench, name: string): Promise<void> {
  const res = await b.cp.request('POST', '/api/v1/namespaces', { metadata: { name } });
  if (res.status !== 201 && res.status !== 409) throw new Error(`namespace ${name}: ${res.status}`);
}

/** Flux's engine driver, built from bench/flux on first use (cached like the control plane). */
function fluxBinary(): string {
  const path = join(componentDir('flux-bench'), 'bin', 'flux-apply');
  if (!existsSync(path)) build(['flux-bench']);
  return path;
}

/** Starts each timing on a quiet control plane: the controllers are done with what came before. */
export async function timed(b: Bench, fn: () => Promise<unknown>): Promise<number> {
  await settle(b);
  const t = performance.now();
  await fn();
  return (performance.now() - t) / 1000;
}

function opEnv(b: Bench, namespaces: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    CONFIG_REPO: b.repo.fileUrl,
    CLUSTER_NAME: cluster,
    MANAGED_NAMESPACES: namespaces,
    KUBECONFIG: b.cp.kubeconfig,
    GSO_WORK_DIR: join(b.work, `op-${Math.random().toString(36).slice(2)}`),
    LEADER_ELECT: 'false',
    LOG_LEVEL: 'warn',
    ...extra,
  };
}

export type LogLine = { time: string; msg: string; [k: string]: unknown };

/** One run of this project's CLI: its JSON log lines and its reconcile time. */
export interface OursRun {
  lines: LogLine[];
  /** First "new commit" to last "applied" log line, in seconds (0 when either is missing). */
  reconcile: number;
}

/** Runs the CLI (`dist/cli/index.js`) on a quiet control plane: its wall time, log lines, reconcile time. */
export async function ours(
  b: Bench,
  args: string[],
  o: { namespaces: string; level?: string },
): Promise<OursRun & { seconds: number }> {
  let out: OursRun = { lines: [], reconcile: 0 };
  const seconds = await timed(b, async () => {
    const { stdout } = await run(process.execPath, ['dist/cli/index.js', ...args], {
      env: opEnv(b, o.namespaces, { LOG_LEVEL: o.level ?? 'info' }),
    });
    out = parseRun(o.namespaces, stdout);
  });
  return { ...out, seconds };
}

function parseRun(namespaces: string, stdout: string): OursRun {
  const lines = stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as LogLine);
  const phases = ['version read', 'manifests loaded', 'planned', 'apply requests done'];
  log(
    `ours ${namespaces}: ${lines
      .filter((l) => phases.includes(l.msg))
      .map((l) => `${l.msg} ${l.ms} ms`)
      .join(', ')}`,
  );
  const from = lines.find((l) => l.msg === 'new commit');
  const to = lines.filter((l) => l.msg === 'applied').pop();
  return { lines, reconcile: from && to ? (Date.parse(to.time) - Date.parse(from.time)) / 1000 : 0 };
}

export function kubectl(b: Bench, args: string[]): Promise<unknown> {
  return run('kubectl', ['--kubeconfig', b.cp.kubeconfig, ...args]);
}

/** Flux's engine applying the objects of `dir` to `namespace`. */
export function flux(b: Bench, dir: string, namespace: string): Promise<unknown> {
  return run(b.flux, ['-kubeconfig', b.cp.kubeconfig, '-dir', dir, '-namespace', namespace]);
}

/**
 * Waits (at most 60 s) until no client writes for 0.5 s: the deployment controller answers each
 * new Deployment with a ReplicaSet and status updates, which would otherwise land on the next tool.
 */
export async function settle(b: Bench): Promise<void> {
  let last = -1;
  for (let i = 0; i < 240; i++) {
    const now = await apiWrites(b, true);
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
export async function apiWrites(b: Bench, all = false): Promise<number> {
  const res = await b.cp.request('GET', '/metrics', undefined, 'text/plain');
  let total = 0;
  for (const line of String(res.body).split('\n')) {
    if (counted(line, all)) total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

function counted(line: string, all: boolean): boolean {
  if (!line.startsWith('apiserver_request_total{')) return false;
  if (!/verb="(POST|PUT|PATCH|DELETE|APPLY)"/.test(line) || !/dry_run=""/.test(line)) return false;
  if (all) return !/resource="(leases|nodes)"/.test(line);
  // Controllers' and kwok's own writes; our Version's status writes stay counted.
  const theirs =
    /resource="(leases|events|nodes|pods|replicasets|endpointslices|endpoints)"/.test(line) ||
    (/subresource="status"/.test(line) && !/resource="versions"/.test(line));
  return !theirs;
}

/** A `Vm…:` line of /proc/PID/status, in KiB. */
const procKiB = (status: string, key: string) =>
  Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);

/** A `run` process of this project (dist/cli/index.js) and what can be read of it while it runs. */
export interface RunningOperator {
  port: number;
  pid: number;
  /** RSS (KiB) from /proc: nothing is asked of the process. */
  rss(): Promise<number>;
  /** RSS and peak (KiB), CPU (s), git calls, and the V8 heap used / total and external memory (KiB). */
  sample(): Promise<{
    rss: number;
    hwm: number;
    cpu: number;
    lsRemote: number;
    fetch: number;
    heapUsed: number;
    heapTotal: number;
    external: number;
  }>;
  stop(): Promise<void>;
}

/**
 * Starts `dist/cli/index.js run` for `ns` (a comma list), polling every `interval` s, and waits until
 * it is ready; `nodeArgs` go to Node itself (e.g. `--cpu-prof`).
 */
let operators = 0;

export async function runningOperator(
  b: Bench,
  ns: string,
  o: { interval: number; webhookSecret?: string; extra?: Record<string, string>; nodeArgs?: string[] },
): Promise<RunningOperator> {
  const port = await freePort();
  const env = opEnv(b, ns, {
    GIT_SYNC_INTERVAL: String(o.interval),
    LISTEN_ADDRESS: `127.0.0.1:${port}`,
    ...(o.webhookSecret ? { WEBHOOK_SECRET: o.webhookSecret } : {}),
    ...o.extra,
  });
  // Its log goes to BENCH_LOG_DIR when set (to see why a figure is what it is), else nowhere.
  const logTo = process.env.BENCH_LOG_DIR
    ? openSync(join(process.env.BENCH_LOG_DIR, `operator-${++operators}.log`), 'w')
    : 'ignore';
  const child = spawn(process.execPath, [...(o.nodeArgs ?? []), 'dist/cli/index.js', 'run'], {
    env,
    stdio: ['ignore', logTo, 'inherit'],
  });
  const procStatus = () => readFile(`/proc/${child.pid}/status`, 'utf8');
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
    pid: child.pid as number,
    rss: async () => procKiB(await procStatus(), 'VmRSS'),
    async sample() {
      const status = await procStatus();
      const kb = (k: string) => procKiB(status, k);
      const stat = (await readFile(`/proc/${child.pid}/stat`, 'utf8')).split(') ')[1]?.split(' ') ?? [];
      return {
        rss: kb('VmRSS'),
        hwm: kb('VmHWM'),
        cpu: (Number(stat[11]) + Number(stat[12])) / 100,
        lsRemote: await metric('gso_git_requests_total\\{op="ls-remote",result="ok"\\}'),
        fetch: await metric('gso_git_requests_total\\{op="fetch",result="ok"\\}'),
        heapUsed: (await metric('gso_nodejs_heap_size_used_bytes')) / 1024,
        heapTotal: (await metric('gso_nodejs_heap_size_total_bytes')) / 1024,
        external: (await metric('gso_nodejs_external_memory_bytes')) / 1024,
      };
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return; // stopped before
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    },
  };
}
