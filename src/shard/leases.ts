// The shard Leases on the apiserver: `git-sync-operator-shard-<i>` in the operator's namespace,
// read by name (GET) and written on the read resourceVersion (PUT; POST when new), so the RBAC
// stays get/create/update on leases, as for the leader Lease.
import { ifFound, type KubeClient } from '../kube/client.ts';
import { type Lease, microTime, unlessConflict } from '../leader.ts';
import { type Seen, type Write, wishValue } from './plan.ts';

export const shardLeaseName = (shard: number): string => `git-sync-operator-shard-${shard}`;

/** Set on a Lease by a replica below its share, asking the holder to hand the shard over. */
export const wantedByAnnotation = 'git-sync-operator.mozilla.org/wanted-by';

export interface ShardLeaseOptions {
  namespace: string;
  identity: string;
  durationSeconds: number;
}

/** A shard Lease as read: what plan() needs, and the object to write back. */
export interface ReadLease {
  seen: Seen;
  lease: Lease | undefined;
}

export class ShardLeases {
  private readonly path: string;

  constructor(
    private readonly client: KubeClient,
    private readonly opts: ShardLeaseOptions,
  ) {
    this.path = `/apis/coordination.k8s.io/v1/namespaces/${opts.namespace}/leases`;
  }

  async read(shard: number, signal: AbortSignal): Promise<ReadLease> {
    const lease = await ifFound(
      this.client.json<Lease>('GET', `${this.path}/${shardLeaseName(shard)}`, { signal }),
    );
    const seen: Seen = {
      shard,
      exists: !!lease,
      holder: lease?.spec.holderIdentity ?? '',
      renewedAt: Date.parse(lease?.spec.renewTime ?? '') || 0,
      durationMs: (lease?.spec.leaseDurationSeconds ?? this.opts.durationSeconds) * 1000,
      wantedBy: lease?.metadata.annotations?.[wantedByAnnotation] ?? '',
    };
    return { seen, lease };
  }

  /** True once the write went through, false on 409 (someone else wrote the Lease first). */
  write(w: Write, lease: Lease | undefined, now: Date, signal: AbortSignal): Promise<boolean> {
    if (!lease) return this.create(w, now, signal);
    if (w.kind === 'open') return Promise.resolve(false);
    const body =
      w.kind === 'want'
        ? wanted(lease, wishValue(this.opts.identity, now.getTime()))
        : { ...lease, spec: this.spec(w, lease, now) };
    if (w.kind === 'take' || w.kind === 'transfer') body.metadata = withoutWish(lease);
    return unlessConflict(this.client.json('PUT', `${this.path}/${lease.metadata.name}`, { signal, body }));
  }

  private create(w: Write, now: Date, signal: AbortSignal): Promise<boolean> {
    // Only a take or an open creates; anything else meant a Lease that has since gone.
    if (w.kind !== 'take' && w.kind !== 'open') return Promise.resolve(false);
    const holder =
      w.kind === 'take' ? { holderIdentity: this.opts.identity, acquireTime: microTime(now) } : {};
    const body = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: shardLeaseName(w.shard), namespace: this.opts.namespace },
      spec: {
        ...holder,
        leaseDurationSeconds: this.opts.durationSeconds,
        renewTime: microTime(now),
        leaseTransitions: 0,
      },
    };
    return unlessConflict(this.client.json('POST', this.path, { signal, body }));
  }

  /** The spec a renew, take or transfer writes. */
  private spec(w: Write, lease: Lease, now: Date): Lease['spec'] {
    const to = w.kind === 'transfer' ? w.to : this.opts.identity;
    const moved = to !== lease.spec.holderIdentity;
    return {
      ...lease.spec,
      holderIdentity: to,
      leaseDurationSeconds: this.opts.durationSeconds,
      renewTime: microTime(now),
      ...(moved
        ? { acquireTime: microTime(now), leaseTransitions: (lease.spec.leaseTransitions ?? 0) + 1 }
        : {}),
    };
  }
}

function wanted(lease: Lease, wish: string): Lease {
  const annotations = { ...lease.metadata.annotations, [wantedByAnnotation]: wish };
  return { ...lease, metadata: { ...lease.metadata, annotations } };
}

function withoutWish(lease: Lease): Lease['metadata'] {
  const { [wantedByAnnotation]: _, ...annotations } = lease.metadata.annotations ?? {};
  return { ...lease.metadata, annotations };
}
