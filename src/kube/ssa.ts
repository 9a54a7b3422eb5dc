// Server-side apply of one object, for real or as a dry-run.
import type { KubeObject } from '../manifests/object.ts';
import type { KubeClient } from './client.ts';
import { fieldManager, managedByLabel, managedByValue } from './labels.ts';
import type { RestMapper } from './mapping.ts';

export interface ApplyOptions {
  dryRun: boolean;
  force: boolean;
  signal?: AbortSignal | undefined;
}

/** The object as we send it: namespace set, ownership label added. */
export function desired(o: KubeObject, namespace: string): KubeObject {
  return {
    ...o,
    metadata: {
      ...o.metadata,
      namespace,
      labels: { ...o.metadata.labels, [managedByLabel]: managedByValue },
    },
  };
}

export async function serverSideApply(
  client: KubeClient,
  mapper: RestMapper,
  obj: KubeObject,
  opts: ApplyOptions,
): Promise<KubeObject> {
  const ns = obj.metadata.namespace ?? '';
  const path = await mapper.path(obj.apiVersion, obj.kind, ns, obj.metadata.name);
  const q = new URLSearchParams({ fieldManager, force: String(opts.force) });
  if (opts.dryRun) q.set('dryRun', 'All');
  return client.json<KubeObject>('PATCH', `${path}?${q}`, {
    body: obj,
    contentType: 'application/apply-patch+yaml',
    signal: opts.signal,
  });
}
