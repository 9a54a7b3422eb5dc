// The fleet the `namespaces` measure runs on: its own control plane with the controllers ON (a
// Deployment must become Available for the operator to write its S3 file), MinIO, and one config
// repo with a small app in each of many namespace folders. The rest of the bench keeps its
// controllers off to keep the apply floor honest; this one cannot.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type ControlPlane, startControlPlane } from '../testbed/controlplane.ts';
import { type ConfigRepo, createConfigRepo } from '../testbed/git.ts';
import { type S3Fixture, startS3 } from '../testbed/s3.ts';

export const fleetCluster = 'fleet';
export const tenant = (i: number) => `tenant-${String(i).padStart(4, '0')}`;

/**
 * Client QPS of kube-controller-manager and kube-scheduler (defaults 20 and 50): a thousand
 * rollouts are ~5 controller writes and one binding each, which at the defaults would take minutes
 * and make the figure theirs, not the operator's.
 */
export const controllerQps = 300;

export interface Fleet {
  cp: ControlPlane;
  s3: S3Fixture;
  repo: ConfigRepo;
  namespaces: string[];
  stop(): Promise<void>;
}

/** Starts the fleet: `count` namespaces created and in the repo under `fleet/`. */
export async function startFleet(count: number): Promise<Fleet> {
  const namespaces = Array.from({ length: count }, (_, i) => tenant(i));
  const qps = [`--kube-api-qps=${controllerQps}`, `--kube-api-burst=${controllerQps * 2}`];
  const [cp, s3, repo] = await Promise.all([
    startControlPlane({
      unsafeNoFsync: true,
      // 1,000 pods a node: room for the operator's and Flux's copies of every namespace.
      nodes: Math.ceil((2 * count) / 900),
      controllerManagerArgs: [...qps, '--concurrent-deployment-syncs=10', '--concurrent-replicaset-syncs=10'],
      schedulerArgs: qps,
    }),
    startS3({ bucket: 'deploys' }),
    createConfigRepo(repoFiles(namespaces)),
  ]);
  await createNamespaces(cp, namespaces);
  return {
    cp,
    s3,
    repo,
    namespaces,
    async stop() {
      await Promise.allSettled([cp.stop(), s3.stop(), repo.stop()]);
    },
  };
}

/** POSTs the namespaces, 16 at a time (the pods' ServiceAccount is in the folder). */
export async function createNamespaces(cp: ControlPlane, names: string[]): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < names.length) {
      const name = names[next++] as string;
      const res = await cp.request('POST', '/api/v1/namespaces', { metadata: { name } });
      if (res.status !== 201 && res.status !== 409) throw new Error(`namespace ${name}: ${res.status}`);
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
}

function repoFiles(namespaces: string[]): Record<string, string> {
  const files: Record<string, string> = { 'README.md': 'fleet\n' };
  for (const ns of namespaces) Object.assign(files, appFolder(`${fleetCluster}/${ns}`));
  return files;
}

/** Writes each namespace's folder under `dir/<namespace>/` (for Flux's engine, which reads a folder). */
export async function writeFolders(dir: string, namespaces: string[]): Promise<void> {
  for (const ns of namespaces) {
    await mkdir(join(dir, ns), { recursive: true });
    for (const [file, text] of Object.entries(appFolder('.'))) await writeFile(join(dir, ns, file), text);
  }
}

/** One tenant's folder: a Deployment (1 replica) running as its own ServiceAccount, a Service, a ConfigMap. */
export function appFolder(folder: string): Record<string, string> {
  const labels = { app: 'web' };
  const deploy = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', labels },
    spec: {
      replicas: 1,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          serviceAccountName: 'web',
          containers: [
            { name: 'web', image: 'mozmeao/bedrock:1', envFrom: [{ configMapRef: { name: 'web-config' } }] },
          ],
        },
      },
    },
  };
  const objects = {
    'deploy.yaml': deploy,
    'svc.yaml': {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web' },
      spec: { selector: labels, ports: [{ port: 80, targetPort: 8000 }] },
    },
    'configmap.yaml': {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'web-config' },
      data: { DEBUG: 'false' },
    },
    'serviceaccount.yaml': { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'web' } },
  };
  // JSON is YAML: one document per file, as the testbed's seed writes them.
  return Object.fromEntries(
    Object.entries(objects).map(([f, o]) => [`${folder}/${f}`, `${JSON.stringify(o, null, 2)}\n`]),
  );
}

/** apiserver_request_total by `VERB resource[/subresource]`, every client, every code. */
export async function requestCounts(cp: ControlPlane): Promise<Map<string, number>> {
  const res = await cp.request('GET', '/metrics', undefined, 'text/plain');
  const counts = new Map<string, number>();
  for (const line of String(res.body).split('\n')) {
    if (!line.startsWith('apiserver_request_total{')) continue;
    const label = (k: string) => new RegExp(`[{,]${k}="([^"]*)"`).exec(line)?.[1] ?? '';
    const sub = label('subresource');
    const key = `${label('verb')} ${label('resource')}${sub ? `/${sub}` : ''}`;
    counts.set(key, (counts.get(key) ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1)));
  }
  return counts;
}

/** `after − before` per key, leaving out keys that did not change. */
export function countsSince(before: Map<string, number>, after: Map<string, number>): Map<string, number> {
  const diff = new Map<string, number>();
  for (const [k, v] of after) if (v !== (before.get(k) ?? 0)) diff.set(k, v - (before.get(k) ?? 0));
  return diff;
}

export const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
