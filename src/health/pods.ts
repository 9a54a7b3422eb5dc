// Why a Job failed, in its pod's words: the Job's condition says "BackoffLimitExceeded"; the pod
// says which container exited how, and the termination message the program left.
import type { KubeClient } from '../kube/client.ts';

interface Pod {
  metadata: { name: string; creationTimestamp?: string };
  status?: {
    phase?: string;
    reason?: string;
    message?: string;
    containerStatuses?: {
      name: string;
      state?: { terminated?: { exitCode?: number; reason?: string; message?: string } };
    }[];
  };
}

/** The newest failed pod of the Job, told in one line; undefined when there is none to read. */
export async function failedPodMessage(
  client: KubeClient,
  namespace: string,
  job: string,
): Promise<string | undefined> {
  const selector = encodeURIComponent(`batch.kubernetes.io/job-name=${job}`);
  const pods = await client
    .json<{ items: Pod[] }>('GET', `/api/v1/namespaces/${namespace}/pods?labelSelector=${selector}`)
    .catch(() => ({ items: [] as Pod[] })); // no right to read pods: the Job's own reason stands
  const failed = pods.items
    .filter((p) => p.status?.phase === 'Failed')
    .sort((a, b) => (b.metadata.creationTimestamp ?? '').localeCompare(a.metadata.creationTimestamp ?? ''));
  const pod = failed[0];
  return pod ? `pod ${pod.metadata.name}: ${podMessage(pod)}` : undefined;
}

function podMessage(pod: Pod): string {
  const s = pod.status ?? {};
  const exits = (s.containerStatuses ?? []).flatMap((c) => {
    const t = c.state?.terminated;
    if (!t || t.exitCode === 0) return [];
    const why = [t.reason, t.message?.trim()].filter(Boolean).join(': ');
    return [`container ${c.name} exited ${t.exitCode}${why ? ` (${why})` : ''}`];
  });
  const own = [s.reason, s.message].filter(Boolean).join(': ');
  return [...exits, own].filter(Boolean).join('; ') || 'failed';
}
