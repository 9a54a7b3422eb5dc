// Read and write the Version object of a namespace: top-level applied/deployed, and status.
import { isDeepStrictEqual } from 'node:util';
import { ApiError, type KubeClient } from '../kube/client.ts';
import { apiVersion } from './crd.ts';
import type { Version, VersionStatus, VersionStatusPatch } from './types.ts';

const base = (ns: string) => `/apis/${apiVersion}/namespaces/${encodeURIComponent(ns)}/versions`;
const merge = 'application/merge-patch+json';

export class VersionStore {
  constructor(private readonly client: KubeClient) {}

  /** The namespace's Version, or undefined when it does not exist yet (nothing is created). */
  async find(ns: string): Promise<Version | undefined> {
    try {
      return await this.client.json<Version>('GET', `${base(ns)}/${ns}`);
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) return undefined;
      throw permissionHint(err, ns);
    }
  }

  /** The namespace's Version (named after the namespace), created empty when missing. */
  async get(ns: string): Promise<Version> {
    try {
      return await this.client.json<Version>('GET', `${base(ns)}/${ns}`);
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 404)) throw permissionHint(err, ns);
    }
    try {
      return await this.client.json<Version>('POST', base(ns), {
        body: { apiVersion, kind: 'Version', metadata: { name: ns, namespace: ns } },
      });
    } catch (err) {
      if (err instanceof ApiError && err.status === 409)
        return this.client.json<Version>('GET', `${base(ns)}/${ns}`);
      throw permissionHint(err, ns);
    }
  }

  /** Sets top-level applied/deployed (skipped when unchanged: no needless writes). */
  async setTop(v: Version, fields: { applied?: string; deployed?: string }): Promise<Version> {
    const changed = Object.entries(fields).some(([k, val]) => v[k as 'applied' | 'deployed'] !== val);
    if (!changed) return v;
    const out = await this.client.json<Version>('PATCH', `${base(v.metadata.namespace)}/${v.metadata.name}`, {
      body: fields,
      contentType: merge,
    });
    return { ...out, status: v.status };
  }

  /** Sets (a string) or removes (null) annotations of the Version. */
  async annotate(v: Version, annotations: Record<string, string | null>): Promise<Version> {
    return this.client.json<Version>('PATCH', `${base(v.metadata.namespace)}/${v.metadata.name}`, {
      body: { metadata: { annotations } },
      contentType: merge,
    });
  }

  /** Merges into status (maps merge by key, arrays replace); skipped when nothing changes. */
  async patchStatus(v: Version, patch: VersionStatusPatch): Promise<Version> {
    const current = v.status ?? {};
    const changed = Object.entries(patch).some(
      ([k, val]) => !isDeepStrictEqual(current[k as keyof VersionStatus], val),
    );
    if (!changed) return v;
    const out = await this.client.json<Version>(
      'PATCH',
      `${base(v.metadata.namespace)}/${v.metadata.name}/status`,
      {
        body: { status: patch },
        contentType: merge,
      },
    );
    return { ...v, metadata: out.metadata, status: out.status };
  }
}

function permissionHint(err: unknown, ns: string): unknown {
  if (err instanceof ApiError && err.status === 403) {
    return new ApiError(
      403,
      'Forbidden',
      `may not read/write versions.versions.mozilla.org in ${ns}: grant it with \`git-sync-operator install --namespace ${ns}\` (${err.message})`,
    );
  }
  if (err instanceof ApiError && err.status === 404 && /namespaces "[^"]*" not found/.test(err.message))
    return new ApiError(404, 'NotFound', `namespace ${ns} does not exist (${err.message})`);
  if (err instanceof ApiError && err.status === 404) {
    return new ApiError(
      404,
      'NotFound',
      `the Version CRD is not installed: run \`git-sync-operator install --crd-only | kubectl apply -f -\``,
    );
  }
  return err;
}
