// The real stack the model drives: one control plane with kwok nodes and one MinIO, shared by the
// runs of a test file (starting them costs most of a minute on 2 cores); per run a fresh config
// repo, fresh namespaces (so runs cannot see each other's S3 keys or objects) and a real
// `git-sync-operator run` process under a kubelet-like supervisor.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { type ControlPlane, startControlPlane } from '../../testbed/controlplane.ts';
import { operatorEnv } from '../../testbed/env.ts';
import { type ConfigRepo, createConfigRepo } from '../../testbed/git.ts';
import { freePort, removeDir, type Service, startService, tempDir } from '../../testbed/proc.ts';
import { type S3Fixture, startS3 } from '../../testbed/s3.ts';
import { logLines } from '../support/processes.ts';
import { type Receiver, startReceiver } from '../support/receiver.ts';
import { folderChanges, initialNs } from './model.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
export const CLUSTER = 'iowa-a';
export const MANAGED_BY = 'git-sync-operator.mozilla.org/managed-by';

/** Timing knobs of the operator under test (short, so that a step costs seconds). */
export const POLL_S = Number(process.env.MODEL_POLL ?? 1);
export const ROLLOUT_TIMEOUT_S = Number(process.env.MODEL_ROLLOUT_TIMEOUT ?? 20);
export const LEASE_S = 2;

export interface Stack {
  cp: ControlPlane;
  s3: S3Fixture;
  stop(): Promise<void>;
}

export async function startStack(): Promise<Stack> {
  const [cp, s3] = await Promise.all([startControlPlane({ nodes: 2 }), startS3({ bucket: 'deploys' })]);
  await cp.createNamespace(CANARY_NS);
  const res = await cp.request('POST', `/apis/apps/v1/namespaces/${CANARY_NS}/deployments`, canary(0));
  if (res.status !== 201) throw new Error(`creating the canary Deployment: ${res.status}`);
  return {
    cp,
    s3,
    async stop() {
      await Promise.allSettled([cp.stop(), s3.stop()]);
    },
  };
}

// A Deployment of the harness's own, outside the operator's namespaces. After an apiserver
// restart the stock controllers can stay blind for a while (measured: a rollout finished 10-62 s
// after the apiserver was back, client-go backing off its re-lists); the harness rolls the canary
// out to learn when the cluster itself works again.
const CANARY_NS = 'model-canary';
let canaryGen = 0;

function canary(n: number) {
  const labels = { app: 'canary' };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'canary' },
    spec: {
      replicas: 1,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: { containers: [{ name: 'c', image: `registry.example.invalid/canary:${n}` }] },
      },
    },
  };
}

/** Rolls the canary to a new image; resolves with the ms it took, or undefined after `timeoutMs`. */
export async function canaryRollout(cp: ControlPlane, timeoutMs: number): Promise<number | undefined> {
  const start = Date.now();
  const path = `/apis/apps/v1/namespaces/${CANARY_NS}/deployments/canary`;
  const n = ++canaryGen;
  for (;;) {
    const res = await cp.request('PUT', path, canary(n)).catch(() => undefined);
    if (res?.status === 200) break;
    if (Date.now() - start > timeoutMs) return undefined;
    await sleep(500);
  }
  for (;;) {
    const d = (await cp.request('GET', path).catch(() => undefined))?.body as
      | { metadata: { generation: number }; status?: Record<string, number> }
      | undefined;
    const st = d?.status;
    if (
      d &&
      st?.observedGeneration === d.metadata.generation &&
      st.replicas === 1 &&
      st.updatedReplicas === 1 &&
      st.readyReplicas === 1
    ) {
      return Date.now() - start;
    }
    if (Date.now() - start > timeoutMs) return undefined;
    await sleep(500);
  }
}

export interface LogEntry {
  msg?: string;
  time?: string;
  level?: string;
  sha?: string;
  namespace?: string;
  [k: string]: unknown;
}

interface Incarnation {
  n: number;
  svc: Service;
  startedAt: number;
  /** Set when the harness kills or stops it: any other exit is a crash. */
  expected: boolean;
  exit?: { code: number | null; signal: string | null; at: number };
}

export interface Crash {
  incarnation: number;
  at: number;
  code: number | null;
  signal: string | null;
  tail: string;
}

/**
 * A real operator process, restarted 1 s after it exits on its own (as the kubelet restarts a
 * crashed container; the work dir survives, as an emptyDir does). Restarts are bounded.
 */
export class OperatorProcess {
  readonly incarnations: Incarnation[] = [];
  readonly crashes: Crash[] = [];
  private stopping = false;
  private restartTimer: NodeJS.Timeout | undefined;
  private static readonly maxCrashes = 40;

  constructor(
    private readonly env: NodeJS.ProcessEnv,
    readonly dir: string,
  ) {}

  running(): boolean {
    const cur = this.incarnations.at(-1);
    return !!cur && cur.exit === undefined;
  }

  start(): void {
    if (this.running() || this.stopping) return;
    clearTimeout(this.restartTimer);
    const n = this.incarnations.length;
    const svc = startService(
      `operator-${n}`,
      process.execPath,
      [join(root, 'bin', 'git-sync-operator.js'), 'run'],
      {
        logDir: this.dir,
        env: this.env,
        cwd: root,
      },
    );
    const inc: Incarnation = { n, svc, startedAt: Date.now(), expected: false };
    this.incarnations.push(inc);
    svc.child.on('exit', (code, signal) => {
      inc.exit = { code, signal, at: Date.now() };
      if (inc.expected || this.stopping) return;
      void readFile(svc.logFile, 'utf8')
        .catch(() => '')
        .then((text) => {
          this.crashes.push({
            incarnation: n,
            at: inc.exit?.at ?? Date.now(),
            code,
            signal,
            tail: text.split('\n').slice(-6).join('\n'),
          });
          if (this.crashes.length >= OperatorProcess.maxCrashes || this.stopping) return;
          this.restartTimer = setTimeout(() => this.start(), 1000);
        });
    });
  }

  /** SIGKILL: no clean-up, like an OOM kill or a node failure. */
  async kill(): Promise<void> {
    clearTimeout(this.restartTimer);
    const cur = this.incarnations.at(-1);
    if (!cur || cur.exit) return;
    cur.expected = true;
    cur.svc.child.kill('SIGKILL');
    await cur.svc.exited.catch(() => {});
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.restartTimer);
    for (const inc of this.incarnations) {
      inc.expected = true;
      await inc.svc.stop();
    }
  }

  /** Every JSON log line of every incarnation, in time order. */
  async logs(): Promise<LogEntry[]> {
    const all: LogEntry[] = [];
    for (const inc of this.incarnations) {
      const text = await readFile(inc.svc.logFile, 'utf8').catch(() => '');
      for (const l of logLines(text)) all.push({ ...(l as LogEntry), incarnation: inc.n });
    }
    return all.sort((a, b) => Date.parse(a.time ?? '') - Date.parse(b.time ?? ''));
  }
}

/** One run's world: a fresh repo and namespaces on the shared stack, and the operator process. */
export interface RunWorld {
  stack: Stack;
  repo: ConfigRepo;
  namespaces: string[];
  /** Repo folders of the namespaces: CLUSTER/ns. */
  folders: string[];
  op: OperatorProcess;
  /** A generic-webhook sink of the operator (signed; I5). */
  hook: Receiver;
  /** Objects made by hand in each namespace (no managed-by label): must never be touched. */
  handmade: Record<string, { cmResourceVersion: string; deployGeneration: number }>;
  firstSha: string;
  stop(): Promise<void>;
}

let runCounter = 0;
const HOOK_SECRET = 'model-webhook-secret';

export async function startRunWorld(stack: Stack, nsCount: number): Promise<RunWorld> {
  const k = ++runCounter;
  const namespaces = Array.from({ length: nsCount }, (_, i) => `m${process.pid % 1000}-${k}-app${i || ''}`);
  const folders = namespaces.map((ns) => `${CLUSTER}/${ns}`);
  const initial = Array.from({ length: nsCount }, initialNs);
  const files = {
    'README.md': '# model-test config repo\n',
    ...(folderChanges(folders, undefined, initial) as Record<string, string>),
  };
  const repo = await createConfigRepo(files);
  const { cp, s3 } = stack;
  const handmade: RunWorld['handmade'] = {};
  for (const ns of namespaces) {
    await cp.createNamespace(ns);
    handmade[ns] = await makeHandmade(cp, ns);
  }
  const dir = await tempDir(`model-run-${k}`);
  const port = await freePort();
  const hook = await startReceiver(HOOK_SECRET);
  const env = {
    ...process.env,
    ...operatorEnv({ repo, s3, cp, cluster: CLUSTER, namespaces }),
    GIT_SYNC_INTERVAL: String(POLL_S),
    ROLLOUT_TIMEOUT: String(ROLLOUT_TIMEOUT_S),
    LEASE_DURATION: String(LEASE_S),
    LISTEN_ADDRESS: `127.0.0.1:${port}`,
    GSO_WORK_DIR: join(dir, 'work'),
    LOG_LEVEL: 'info',
    NOTIFY_WEBHOOK_URL: `${hook.url}/outcomes`,
    NOTIFY_WEBHOOK_SECRET: HOOK_SECRET,
  };
  const op = new OperatorProcess(env, dir);
  op.start();
  return {
    stack,
    repo,
    namespaces,
    folders,
    op,
    hook,
    handmade,
    firstSha: await repo.head(),
    async stop() {
      await op.stop();
      await hook.stop();
      await repo.stop();
      // Free kwok and the controllers for the next run; nothing waits for the deletion.
      for (const ns of namespaces) await cp.request('DELETE', `/api/v1/namespaces/${ns}`).catch(() => {});
      if (!process.env.MODEL_KEEP) await removeDir(dir);
    },
  };
}

/** A ConfigMap and a Deployment made by hand, without the operator's label. */
async function makeHandmade(cp: ControlPlane, ns: string) {
  const cm = await cp.request('POST', `/api/v1/namespaces/${ns}/configmaps`, {
    metadata: { name: 'not-ours' },
    data: { owner: 'a human' },
  });
  const labels = { app: 'handmade' };
  const dep = await cp.request('POST', `/apis/apps/v1/namespaces/${ns}/deployments`, {
    metadata: { name: 'handmade', labels },
    spec: {
      replicas: 1,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: { containers: [{ name: 'c', image: 'registry.example.invalid/handmade:1' }] },
      },
    },
  });
  if (cm.status !== 201 || dep.status !== 201) {
    throw new Error(`creating hand-made objects in ${ns}: ${cm.status} ${dep.status}`);
  }
  const meta = (b: unknown) => (b as { metadata: { resourceVersion: string; generation?: number } }).metadata;
  return {
    cmResourceVersion: meta(cm.body).resourceVersion,
    deployGeneration: meta(dep.body).generation ?? 1,
  };
}
