// Waits, by watching (not polling), until each object's rollout of its current generation is done:
// every kind but the no-rollout ones (ConfigMap, Service…), one LIST+WATCH per kind (status.ts).

import { ApiError, type KubeClient } from '../kube/client.ts';
import { selector } from '../kube/labels.ts';
import type { RestMapper } from '../kube/mapping.ts';
import type { KubeObject, ObjectRef } from '../manifests/object.ts';
import { refKey } from '../manifests/object.ts';
import { type Health, health, waitsFor } from './status.ts';

export interface WaitOptions {
  timeoutMs: number;
  signal?: AbortSignal | undefined;
  /** Called once per object when it first becomes Ready. */
  onReady?: (ref: ObjectRef) => void | Promise<void>;
}

export interface WaitResult {
  ready: ObjectRef[];
  /** Objects not Ready at the end, with why (timeout, failure, or aborted). */
  notReady: { ref: ObjectRef; reason: string; failed: boolean }[];
  timedOut: boolean;
}

export interface Kube {
  client: KubeClient;
  mapper: RestMapper;
}

type WatchEvent = { type: string; object: KubeObject };

/** The health of every object being waited for, and the one signal that ends all watches. */
class Tracker {
  readonly state: Map<string, Health>;
  private readonly done = new Set<string>();
  private readonly stop = new AbortController();
  readonly timeout: AbortSignal;
  readonly signal: AbortSignal;

  constructor(
    readonly targets: readonly ObjectRef[],
    private readonly opts: WaitOptions,
  ) {
    this.state = new Map(
      targets.map((r) => [refKey(r), { state: 'InProgress', reason: `${r.kind}/${r.name}: not seen yet` }]),
    );
    this.timeout = AbortSignal.timeout(opts.timeoutMs);
    this.signal = AbortSignal.any([this.timeout, this.stop.signal, ...(opts.signal ? [opts.signal] : [])]);
  }

  settled(): boolean {
    return [...this.state.values()].every((h) => h.state !== 'InProgress');
  }

  /** `deleted`: the object is gone and `obj` is its last state. */
  async observe(obj: KubeObject, ref: ObjectRef, deleted = false): Promise<void> {
    const key = refKey(ref);
    if (!this.state.has(key)) return;
    const last = health(obj as Parameters<typeof health>[0]);
    // A Job deleted once Complete (its TTL) is done; any other deletion while waited for fails.
    const h: Health =
      deleted && !(ref.kind === 'Job' && last.state === 'Ready')
        ? { state: 'Failed', reason: `${ref.kind}/${ref.name}: deleted while being waited for` }
        : last;
    this.state.set(key, h);
    if (h.state === 'Ready' && !this.done.has(key)) {
      this.done.add(key);
      await this.opts.onReady?.(ref);
    }
    if (this.settled()) this.stop.abort();
  }

  /** Objects of a kind that cannot be listed (forbidden, or no such kind): Failed, with why. */
  cannotWatch(group: readonly ObjectRef[], why: string): void {
    for (const r of group) {
      const key = refKey(r);
      if (this.state.get(key)?.state === 'InProgress')
        this.state.set(key, { state: 'Failed', reason: `${r.kind}/${r.name}: cannot watch it: ${why}` });
    }
    if (this.settled()) this.stop.abort();
  }

  result(): WaitResult {
    const ready: ObjectRef[] = [];
    const notReady: WaitResult['notReady'] = [];
    for (const r of this.targets) {
      const h = this.state.get(refKey(r)) as Health;
      if (h.state === 'Ready') ready.push(r);
      else notReady.push({ ref: r, reason: h.reason, failed: h.state === 'Failed' });
    }
    return { ready, notReady, timedOut: this.timeout.aborted && notReady.some((n) => !n.failed) };
  }
}

export async function waitForRollout(
  kube: Kube,
  namespace: string,
  refs: readonly ObjectRef[],
  opts: WaitOptions,
): Promise<WaitResult> {
  const t = new Tracker(refs.filter(waitsFor), opts);
  const byKind = new Map<string, ObjectRef[]>();
  for (const r of t.targets)
    byKind.set(`${r.apiVersion}|${r.kind}`, [...(byKind.get(`${r.apiVersion}|${r.kind}`) ?? []), r]);
  await Promise.all([...byKind.values()].map((group) => watchKind(kube, namespace, group, t)));
  return t.result();
}

/**
 * LIST then WATCH one kind's objects until all are settled; a dropped watch lists again. A kind
 * the operator may not list (403: its RBAC lacks list/watch) or the server no longer serves (404:
 * its CRD is gone) fails its objects at once, naming the error: no wait until the timeout.
 */
async function watchKind(kube: Kube, namespace: string, group: ObjectRef[], t: Tracker): Promise<void> {
  const { apiVersion, kind } = group[0] as ObjectRef;
  const names = new Map(group.map((r) => [r.name, r]));
  const seen = (obj: KubeObject | undefined, deleted?: boolean) => {
    const ref = names.get(obj?.metadata?.name ?? '');
    // List and watch items carry no kind.
    return ref && obj ? t.observe({ ...obj, apiVersion, kind }, ref, deleted) : undefined;
  };
  while (!t.signal.aborted && !t.settled()) {
    try {
      const coll = await kube.mapper.path(apiVersion, kind, namespace);
      await listAndWatch(kube, `${coll}?labelSelector=${encodeURIComponent(selector)}`, t, seen);
    } catch (err) {
      if (t.signal.aborted) break;
      if (err instanceof ApiError && (err.status === 403 || err.status === 404)) {
        t.cannotWatch(group, err.message);
        break;
      }
      await new Promise((r) => setTimeout(r, 500)); // watch dropped or apiserver blip: relist
    }
  }
}

/** One LIST, then a WATCH from its resourceVersion until settled or the watch ends (410 Gone: relist). */
async function listAndWatch(
  kube: Kube,
  query: string,
  t: Tracker,
  seen: (obj: KubeObject | undefined, deleted?: boolean) => Promise<void> | undefined,
): Promise<void> {
  const list = await kube.client.json<{ metadata: { resourceVersion: string }; items: KubeObject[] }>(
    'GET',
    query,
    { signal: t.signal },
  );
  for (const item of list.items) await seen(item);
  if (t.settled()) return;
  const watch = `${query}&watch=1&allowWatchBookmarks=true&resourceVersion=${list.metadata.resourceVersion}`;
  for await (const ev of kube.client.stream(watch, t.signal) as AsyncGenerator<WatchEvent>) {
    if (ev.type === 'ERROR') return;
    if (ev.type === 'ADDED' || ev.type === 'MODIFIED' || ev.type === 'DELETED')
      await seen(ev.object, ev.type === 'DELETED');
    if (t.signal.aborted) return;
  }
}
