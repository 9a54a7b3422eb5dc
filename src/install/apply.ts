// `install --apply`: server-side apply of the install objects, cluster-scoped ones included.
import type { KubeClient } from '../kube/client.ts';
import { fieldManager } from '../kube/labels.ts';
import { RestMapper } from '../kube/mapping.ts';

const mappers = new WeakMap<KubeClient, RestMapper>();

export async function applyInstallObject(client: KubeClient, o: Record<string, unknown>): Promise<string> {
  const mapper = mappers.get(client) ?? new RestMapper(client);
  mappers.set(client, mapper);
  const meta = o.metadata as { name: string; namespace?: string };
  const r = await mapper.resource(o.apiVersion as string, o.kind as string);
  const path = r.namespaced
    ? `${r.base}/namespaces/${meta.namespace}/${r.plural}/${meta.name}`
    : `${r.base}/${r.plural}/${meta.name}`;
  await client.json('PATCH', `${path}?fieldManager=${fieldManager}-install&force=true`, {
    body: o,
    contentType: 'application/apply-patch+yaml',
  });
  return `${String(o.kind).toLowerCase()}/${meta.name}${meta.namespace ? ` (${meta.namespace})` : ''} applied`;
}
