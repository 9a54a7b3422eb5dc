// Kubernetes Events on the Version object: what `kubectl describe version` shows.
import type { KubeClient } from '../kube/client.ts';
import type { Logger } from '../log.ts';
import { redact } from '../source/redact.ts';
import { apiVersion } from './crd.ts';
import type { EventReason } from './reasons.ts';
import type { Version } from './types.ts';

export interface VersionEvent {
  type: 'Normal' | 'Warning';
  reason: EventReason;
  message: string;
}

/** Best effort: an event that cannot be recorded (no RBAC for events) is logged, never fatal. */
export async function recordEvent(
  client: KubeClient,
  log: Logger,
  v: Version,
  { type, reason, message }: VersionEvent,
): Promise<void> {
  const ns = v.metadata.namespace;
  const now = new Date().toISOString();
  try {
    await client.json('POST', `/api/v1/namespaces/${ns}/events`, {
      body: {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { generateName: `${v.metadata.name}.`, namespace: ns },
        involvedObject: {
          apiVersion,
          kind: 'Version',
          name: v.metadata.name,
          namespace: ns,
          uid: v.metadata.uid,
        },
        reason,
        message: redact(message).slice(0, 1024),
        type,
        source: { component: 'git-sync-operator' },
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
        reportingComponent: 'git-sync-operator',
      },
    });
  } catch (err) {
    log.warn({ namespace: ns }, `cannot record event ${reason}: ${(err as Error).message}`);
  }
}
