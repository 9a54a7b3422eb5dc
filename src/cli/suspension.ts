// suspend / resume: set or remove the suspend annotation on each namespace's Version. The running
// operator reads it at its next poll; nothing else changes here.
import { groups } from '../config/variables.ts';
import type { Env } from '../config.ts';
import { suspendAnnotation } from '../kube/labels.ts';
import { UsageError } from './command.ts';
import { withVersions } from './versions.ts';

/** What both commands read: the Kubernetes client's variables (KUBECONFIG or in-cluster). */
export const environment = groups('kube');

/**
 * Annotates (suspend) or un-annotates (resume) the Version of each namespace; exit 0. Suspend
 * creates a Version not made yet (a namespace may be held before its first sync); resume of a
 * namespace without one changes nothing.
 */
export function setSuspended(command: string, namespaces: readonly string[], env: Env, on: boolean) {
  if (namespaces.length === 0)
    throw new UsageError(command, `needs a namespace: git-sync-operator ${command} NAMESPACE…`);
  return withVersions(env, async (versions) => {
    for (const ns of namespaces) {
      const v = on ? await versions.get(ns) : await versions.find(ns);
      if (v) await versions.annotate(v, { [suspendAnnotation]: on ? 'true' : null });
      process.stdout.write(
        on
          ? `${ns}: suspended; apply, prune and drift repair stop at the next poll\n`
          : `${ns}: resumed; the next poll takes up the head commit\n`,
      );
    }
    return 0;
  });
}
