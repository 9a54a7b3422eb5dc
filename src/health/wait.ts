// Waits, by watching (not polling), until each workload's rollout of its current generation is done.

import type { KubeClient } from '../kube/client.ts';
import { selector } from '../kube/labels.ts';
import type { RestMapper } from '../kube/mapping.ts';
import type { KubeObject, ObjectRef } from '../manifests/object.ts';
import { refKey } from '../manifests/object.ts';
import { type Health, health, workloadKinds } from './status.ts';

export interface WaitOptions {
  timeoutMs: number;
  signal?: AbortSignal | undefined;
  /** Called once per workload when it first becomes Ready. */
  onReady?: (ref: ObjectRef) => void | Promise<void>;
}

export interface WaitResult {
  ready: ObjectRef[];
  /** Workloads not Ready at the end, with why (timeout, failure, or aborted). */
  notReady: { ref: ObjectRef; reason: string; failed: boolean }[];
  timedOut: boolean;
}

type WatchEvent = { type: string; object: KubeObject };

export async function waitForRollout(
  client: KubeClient,
  mapper: RestMapper,
  namespace: string,
  refs: readonly ObjectRef[],
  opts: WaitOptions,
): Promise<WaitResult> {
  const targets = refs.filter((r) => workloadKinds.has(r.kind));
  const state = new Map<string, Health>(
    targets.map((r) => [refKey(r), { state: 'InProgress', reason: `${r.kind}/${r.name}: not seen yet` }]),
  );
  const done = new Set<string>();
  const timeout = AbortSignal.timeout(opts.timeoutMs);
  const stop = new AbortController();
  const signal = AbortSignal.any([timeout, stop.signal, ...(opts.signal ? [opts.signal] : [])]);

  const settled = () => [...state.values()].every((h) => h.state !== 'InProgress');
  const observe = async (obj: KubeObject, ref: ObjectRef) => {
    const key = refKey(ref);
    if (!state.has(key)) return;
    const h = health(obj as Parameters<typeof health>[0]);
    state.set(key, h);
    if (h.state === 'Ready' && !done.has(key)) {
      done.add(key);
      await opts.onReady?.(ref);
    }
    if (settled()) stop.abort();
  };

  const byKind = new Map<string, ObjectRef[]>();
  for (const r of targets)
    byKind.set(`${r.apiVersion}|${r.kind}`, [...(byKind.get(`${r.apiVersion}|${r.kind}`) ?? []), r]);

  await Promise.all(
    [...byKind.values()].map(async (group) => {
      const { apiVersion, kind } = group[0] as ObjectRef;
      const names = new Map(group.map((r) => [r.name, r]));
      const coll = await mapper.path(apiVersion, kind, namespace);
      const sel = `labelSelector=${encodeURIComponent(selector)}`;
      while (!signal.aborted && !settled()) {
        try {
          const list = await client.json<{ metadata: { resourceVersion: string }; items: KubeObject[] }>(
            'GET',
            `${coll}?${sel}`,
            { signal },
          );
          for (const item of list.items) {
            const ref = names.get(item.metadata.name);
            if (ref) await observe({ ...item, apiVersion, kind }, ref); // list items carry no kind
          }
          if (settled()) break;
          const watch = `${coll}?${sel}&watch=1&allowWatchBookmarks=true&resourceVersion=${list.metadata.resourceVersion}`;
          for await (const ev of client.stream(watch, signal) as AsyncGenerator<WatchEvent>) {
            if (ev.type === 'ERROR') break; // e.g. 410 Gone: relist
            const ref = names.get(ev.object?.metadata?.name);
            if (ref && (ev.type === 'ADDED' || ev.type === 'MODIFIED'))
              await observe({ ...ev.object, apiVersion, kind }, ref);
            if (signal.aborted) break;
          }
        } catch (err) {
          if (signal.aborted) break;
          await new Promise((r) => setTimeout(r, 500)); // watch dropped or apiserver blip: relist
          void err;
        }
      }
    }),
  );

  const ready: ObjectRef[] = [];
  const notReady: WaitResult['notReady'] = [];
  for (const r of targets) {
    const h = state.get(refKey(r)) as Health;
    if (h.state === 'Ready') ready.push(r);
    else notReady.push({ ref: r, reason: h.reason, failed: h.state === 'Failed' });
  }
  return { ready, notReady, timedOut: timeout.aborted && notReady.some((n) => !n.failed) };
}
