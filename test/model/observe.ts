// Reading the real world: what the operator logged (the shas it saw as head, what it applied),
// the S3 keys and bodies, the Version, and the namespace's objects.
import type { ControlPlane } from '../../testbed/controlplane.ts';
import type { S3Fixture } from '../../testbed/s3.ts';
import { CLUSTER, type LogEntry } from './world.ts';

export interface Seen {
  sha7: string;
  at: number;
  incarnation: number;
}

/** Every `new commit` line: the shas the operator saw as head, in time order (repeats kept). */
export function seenList(logs: LogEntry[]): Seen[] {
  return logs
    .filter((l) => l.msg === 'new commit' && typeof l.sha === 'string')
    .map((l) => ({
      sha7: l.sha as string,
      at: Date.parse(l.time ?? ''),
      incarnation: Number(l.incarnation),
    }));
}

export interface AppliedLine {
  at: number;
  sha7: string;
  /** pre, main (the set: `applied` moves after it) or post; main when the line has none. */
  phase: 'pre' | 'main' | 'post';
}

/** Every `applied` line for `ns` (logged when objects of a phase changed), in time order. */
export function appliedLogged(logs: LogEntry[], ns: string): AppliedLine[] {
  return logs
    .filter((l) => l.msg === 'applied' && l.namespace === ns && typeof l.sha === 'string')
    .map((l) => ({
      at: Date.parse(l.time ?? ''),
      sha7: l.sha as string,
      phase: l.phase === 'pre' || l.phase === 'post' ? l.phase : 'main',
    }));
}

/** Error lines for (ns, sha7): the operator recorded a failure of that sha. */
export function errorLogged(logs: LogEntry[], ns: string, sha7: string): boolean {
  return logs.some((l) => l.level === 'error' && l.namespace === ns && l.sha === sha7);
}

export interface S3Key {
  key: string;
  deployment: string;
  sha7: string;
  failed: boolean;
}

const keyRe = /^([^/]+)\/([^/]+)\/([^/]+)\/([0-9a-f]{7})(\.failed)?$/;

export function parseKey(key: string): S3Key | undefined {
  const m = keyRe.exec(key);
  if (!m) return undefined;
  return { key, deployment: m[3] as string, sha7: m[4] as string, failed: !!m[5] };
}

/** Keys under CLUSTER/ns/ with their bodies; bodies are read once and cached by the caller. */
export async function s3Keys(
  s3: S3Fixture,
  ns: string,
  bodies: Map<string, string>,
): Promise<Map<string, string>> {
  const keys = await s3.listKeys(`${CLUSTER}/${ns}/`);
  const out = new Map<string, string>();
  for (const k of keys) {
    let body = bodies.get(k);
    if (body === undefined) {
      body = (await s3.getObject(k)) ?? '';
      bodies.set(k, body);
    }
    out.set(k, body);
  }
  return out;
}

export interface VersionView {
  applied?: string;
  deployed?: string;
  status?: {
    lastError?: string;
    pending?: { key: string }[];
    conditions?: { type: string; status: string; reason?: string; message?: string }[];
  };
}

export async function readVersion(cp: ControlPlane, ns: string): Promise<VersionView | undefined> {
  const res = await cp.request('GET', `/apis/versions.mozilla.org/v1/namespaces/${ns}/versions/${ns}`);
  if (res.status === 404) return undefined;
  if (res.status !== 200) throw new Error(`GET Version ${ns}: ${res.status}`);
  return res.body as VersionView;
}

export interface LiveObject {
  kind: string;
  name: string;
  labels: Record<string, string>;
  resourceVersion: string;
  generation?: number;
  image?: string;
  nodeSelector?: Record<string, string>;
  data?: Record<string, string>;
  port?: number;
  /** A Deployment's selector labels. */
  selector?: Record<string, string>;
  /** A Job: complete, failed or still active; when it was created and completed (ms, whole seconds). */
  job?: 'complete' | 'failed' | 'active';
  created?: number;
  completed?: number;
  managers: string[];
}

interface RawObject {
  metadata: {
    name: string;
    labels?: Record<string, string>;
    resourceVersion: string;
    generation?: number;
    creationTimestamp?: string;
    managedFields?: { manager?: string }[];
  };
  data?: Record<string, string>;
  status?: { completionTime?: string; conditions?: { type: string; status: string }[] };
  spec?: {
    ports?: { port: number }[];
    selector?: { matchLabels?: Record<string, string> };
    template?: {
      spec?: { containers?: { name: string; image: string }[]; nodeSelector?: Record<string, string> };
    };
  };
}

/** Deployments, ConfigMaps and Services of the namespace (admin view). */
export async function liveObjects(cp: ControlPlane, ns: string): Promise<LiveObject[]> {
  const kinds: [string, string][] = [
    ['Deployment', `/apis/apps/v1/namespaces/${ns}/deployments`],
    ['ConfigMap', `/api/v1/namespaces/${ns}/configmaps`],
    ['Service', `/api/v1/namespaces/${ns}/services`],
    ['Job', `/apis/batch/v1/namespaces/${ns}/jobs`],
  ];
  const out: LiveObject[] = [];
  for (const [kind, path] of kinds) {
    const res = await cp.request('GET', path);
    if (res.status !== 200) throw new Error(`LIST ${kind} in ${ns}: ${res.status}`);
    for (const o of (res.body as { items: RawObject[] }).items) out.push(liveObject(kind, o));
  }
  return out;
}

/** The fields of one listed object the invariants compare. */
function liveObject(kind: string, o: RawObject): LiveObject {
  const pod = o.spec?.template?.spec;
  return {
    kind,
    name: o.metadata.name,
    labels: o.metadata.labels ?? {},
    resourceVersion: o.metadata.resourceVersion,
    ...(o.metadata.generation !== undefined ? { generation: o.metadata.generation } : {}),
    ...(pod
      ? { image: pod.containers?.find((c) => c.name === 'app')?.image ?? pod.containers?.[0]?.image }
      : {}),
    ...(pod?.nodeSelector ? { nodeSelector: pod.nodeSelector } : {}),
    ...(o.data ? { data: o.data } : {}),
    ...(o.spec?.ports?.[0] ? { port: o.spec.ports[0].port } : {}),
    ...(kind === 'Deployment' && o.spec?.selector?.matchLabels
      ? { selector: o.spec.selector.matchLabels }
      : {}),
    ...(kind === 'Job' ? jobFields(o) : {}),
    managers: (o.metadata.managedFields ?? []).map((f) => f.manager ?? ''),
  };
}

/** A Job's state and times. */
function jobFields(o: RawObject): Pick<LiveObject, 'job' | 'created' | 'completed'> {
  const is = (type: string) => o.status?.conditions?.some((c) => c.type === type && c.status === 'True');
  return {
    job: is('Complete') ? 'complete' : is('Failed') ? 'failed' : 'active',
    ...(o.metadata.creationTimestamp ? { created: Date.parse(o.metadata.creationTimestamp) } : {}),
    ...(o.status?.completionTime ? { completed: Date.parse(o.status.completionTime) } : {}),
  };
}
