// suspend / resume: set or remove the suspend annotation on each namespace's Version. The running
// operator reads it at its next poll; nothing else changes here.
import { groups } from '../config/variables.ts';
import type { Env } from '../config.ts';
import { suspendAnnotation } from '../kube/labels.ts';
import { UsageError } from './command.ts';

/** What both commands read: the Kubernetes client's variables (KUBECONFIG or in-cluster). */
export const environment = groups('kube');

/** Annotates (suspend) or un-annotates (resume) the Version of each namespace; exit 0. */
export async function setSuspended(command: string, namespaces: readonly string[], env: Env, on: boolean) {
  if (namespaces.length === 0)
    throw new UsageError(command, `needs a namespace: git-sync-operator ${command} NAMESPACE…`);
  const [{ KubeClient }, { VersionStore }] = await Promise.all([
    import('../kube/client.ts'),
    import('../version/store.ts'),
  ]);
  const client = new KubeClient({ kubeconfig: env.KUBECONFIG, env });
  try {
    const versions = new VersionStore(client);
    for (const ns of namespaces) {
      const v = await versions.get(ns);
      await versions.annotate(v, { [suspendAnnotation]: on ? 'true' : null });
      process.stdout.write(
        on
          ? `${ns}: suspended; apply, prune and drift repair stop at the next poll\n`
          : `${ns}: resumed; the next poll takes up the head commit\n`,
      );
    }
    return 0;
  } finally {
    client.close();
  }
}
