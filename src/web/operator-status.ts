// The status page's data for a running Operator: its Versions read through its own client, at most
// once a second however many browsers poll (cache.ts), plus what its loop knows.
import { leaseHolder } from '../leader.ts';
import type { Operator } from '../operator.ts';
import { cachedFor } from './cache.ts';
import { type StatusSnapshot, takeSnapshot } from './status.ts';

/** How long one snapshot serves every view. */
export const snapshotTtlMs = 1000;

export function operatorStatus(op: Operator, ttlMs = snapshotTtlMs): () => Promise<StatusSnapshot> {
  const { config, deps } = op;
  return cachedFor(ttlMs, () =>
    takeSnapshot({
      cluster: config.clusterName,
      repo: config.configRepo,
      namespaces: config.managedNamespaces,
      leaderElection: config.leaderElection.enabled,
      loop: () => op.view(),
      version: (ns) => deps.versions.find(ns),
      leader: () => leaseHolder(deps.client, config.leaderElection.namespace),
    }),
  );
}
