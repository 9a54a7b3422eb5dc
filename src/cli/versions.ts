// The Version store of the cluster the environment points at (KUBECONFIG or in-cluster), for the
// commands that read or annotate Versions. The Kubernetes client loads only here.
import type { Env } from '../config.ts';
import type { VersionStore } from '../version/store.ts';

export async function withVersions<T>(env: Env, fn: (versions: VersionStore) => Promise<T>): Promise<T> {
  const [{ KubeClient }, { VersionStore }] = await Promise.all([
    import('../kube/client.ts'),
    import('../version/store.ts'),
  ]);
  const client = new KubeClient({ kubeconfig: env.KUBECONFIG, env });
  try {
    return await fn(new VersionStore(client));
  } finally {
    client.close();
  }
}
