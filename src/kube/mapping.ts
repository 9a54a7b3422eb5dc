// kind → REST resource, from the apiserver's discovery (cached per group-version).
import { ApiError, type KubeClient } from './client.ts';

export interface Resource {
  /** e.g. /apis/apps/v1 */
  base: string;
  /** plural resource name, e.g. deployments */
  plural: string;
  namespaced: boolean;
}

interface APIResourceList {
  resources: { name: string; kind: string; namespaced: boolean }[];
}

export class RestMapper {
  private readonly cache = new Map<string, Promise<Map<string, Resource>>>();

  constructor(private readonly client: KubeClient) {}

  /** The resource for apiVersion+kind; throws a clear error for an unknown kind. */
  async resource(apiVersion: string, kind: string): Promise<Resource> {
    let found = (await this.groupVersion(apiVersion)).get(kind);
    if (!found) {
      this.cache.delete(apiVersion); // a CRD may have been installed since: look once more
      found = (await this.groupVersion(apiVersion)).get(kind);
    }
    if (!found)
      throw new ApiError(
        404,
        'NotFound',
        `the server has no kind ${kind} in ${apiVersion} (is its CRD installed?)`,
      );
    return found;
  }

  /** Path of a namespaced object (or of its collection when name is omitted). */
  async path(apiVersion: string, kind: string, namespace: string, name?: string): Promise<string> {
    const r = await this.resource(apiVersion, kind);
    if (!r.namespaced) {
      throw new ApiError(
        400,
        'ClusterScoped',
        `${kind} is cluster-scoped; only namespaced objects can be applied from a namespace folder`,
      );
    }
    const coll = `${r.base}/namespaces/${encodeURIComponent(namespace)}/${r.plural}`;
    return name === undefined ? coll : `${coll}/${encodeURIComponent(name)}`;
  }

  private groupVersion(apiVersion: string): Promise<Map<string, Resource>> {
    let p = this.cache.get(apiVersion);
    if (!p) {
      const base = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
      p = this.client.json<APIResourceList>('GET', base).then(
        (list) =>
          new Map(
            list.resources
              .filter((r) => !r.name.includes('/'))
              .map((r) => [r.kind, { base, plural: r.name, namespaced: r.namespaced }] as const),
          ),
        (err: unknown) => {
          if (err instanceof ApiError && err.status === 404) return new Map<string, Resource>();
          throw err;
        },
      );
      p.catch(() => this.cache.delete(apiVersion));
      this.cache.set(apiVersion, p);
    }
    return p;
  }
}
