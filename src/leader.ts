// Leader election with a coordination.k8s.io/v1 Lease: two replicas never apply at once.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { ApiError, ifFound, type KubeClient } from './kube/client.ts';
import type { Logger } from './log.ts';

export interface LeaseOptions {
  namespace: string;
  name: string;
  /** Seconds a leader's claim lasts without renewal. */
  durationSeconds: number;
  identity?: string;
}

/** A coordination.k8s.io/v1 Lease, the fields this operator reads and writes. */
export interface Lease {
  metadata: {
    name: string;
    namespace: string;
    resourceVersion?: string;
    annotations?: Record<string, string>;
  };
  spec: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
  };
}

/** A Lease's MicroTime (RFC 3339 with microseconds). */
export const microTime = (d = new Date()) => d.toISOString().replace('Z', '000Z');

/** The Lease the operator's replicas compete for. */
export const leaseName = 'git-sync-operator';

/** Who holds the Lease now (a claim that ran out counts as none); undefined when nobody does. */
export async function leaseHolder(
  client: KubeClient,
  namespace: string,
  now = new Date(),
): Promise<string | undefined> {
  const path = `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases/${leaseName}`;
  const lease = await ifFound(client.json<Lease>('GET', path));
  return lease && claimLive(lease, now, 0) ? lease.spec.holderIdentity : undefined;
}

/** The holder's claim has not run out at `now` (`durationSeconds`: when the Lease names none). */
function claimLive(lease: Lease, now: Date, durationSeconds: number): boolean {
  const renewed = Date.parse(lease.spec.renewTime ?? '') || 0;
  return renewed + (lease.spec.leaseDurationSeconds ?? durationSeconds) * 1000 >= now.getTime();
}

export class LeaderElector {
  readonly identity: string;
  private readonly path: string;

  constructor(
    private readonly client: KubeClient,
    private readonly opts: LeaseOptions,
    private readonly log: Logger,
  ) {
    this.identity = opts.identity ?? `${hostname()}-${randomBytes(4).toString('hex')}`;
    this.path = `/apis/coordination.k8s.io/v1/namespaces/${opts.namespace}/leases`;
  }

  /**
   * How long a standby may go without finishing a lease attempt before it counts as wedged
   * (/healthz): three times the longest gap between two, a retry period plus an attempt (each is
   * abandoned after a lease duration). 60 s with the default 15 s lease.
   */
  get standbyStallMs(): number {
    return 3 * (this.retryMs + this.opts.durationSeconds * 1000);
  }

  private get retryMs(): number {
    return (this.opts.durationSeconds * 1000) / 3;
  }

  /**
   * Waits until this replica holds the lease, then renews it until `signal` aborts; the returned
   * `lost` signal fires if a renewal fails for longer than the lease lasts (stop writing then).
   * While waiting, `onStandby` is called after each attempt that did not win the lease, with the
   * error when the attempt failed: a failure the apiserver may get over (unreachable, timed out,
   * 429, 5xx) is logged and tried again at the next retry, any other (403: no RBAC for Leases) is thrown.
   */
  async acquire(
    signal: AbortSignal,
    onStandby?: (err?: Error) => void,
  ): Promise<{ lost: AbortSignal; release: () => Promise<void> }> {
    await this.waitForLease(signal, onStandby);
    this.log.info(
      { lease: `${this.opts.namespace}/${this.opts.name}`, identity: this.identity },
      'became leader',
    );
    const lost = new AbortController();
    const stop = new AbortController();
    void this.keepRenewing(signal, stop.signal, lost);
    return {
      lost: lost.signal,
      release: async () => {
        stop.abort();
        await this.release();
      },
    };
  }

  private async waitForLease(signal: AbortSignal, onStandby?: (err?: Error) => void): Promise<void> {
    for (;;) {
      const { won, failed } = await this.standbyAttempt(signal);
      if (won) return;
      onStandby?.(failed);
      await sleep(this.retryMs, undefined, { signal });
    }
  }

  /** One attempt to take the lease; a failure the apiserver may get over is logged and returned. */
  private async standbyAttempt(signal: AbortSignal): Promise<{ won: boolean; failed?: Error }> {
    const leaseMs = this.opts.durationSeconds * 1000;
    // An attempt slower than a lease duration acts on a stale view of the Lease: give it up.
    const slow = AbortSignal.timeout(leaseMs);
    try {
      return { won: await this.tryAcquireOrRenew(AbortSignal.any([signal, slow])) };
    } catch (err) {
      if (signal.aborted) throw err;
      if (!slow.aborted && !transient(err)) throw err;
      const failed = slow.aborted
        ? new Error(`no answer within the lease duration (${leaseMs / 1000} s)`)
        : (err as Error);
      this.log.warn(
        { lease: `${this.opts.namespace}/${this.opts.name}`, retryInSeconds: this.retryMs / 1000 },
        `lease attempt failed: ${failed.message}`,
      );
      return { won: false, failed };
    }
  }

  /** Renews every retry period until `signal` or `stop` ends it; aborts `lost` when the lease is gone. */
  private async keepRenewing(signal: AbortSignal, stop: AbortSignal, lost: AbortController): Promise<void> {
    const leaseMs = this.opts.durationSeconds * 1000;
    const ended = () => signal.aborted || stop.aborted;
    let lastRenew = Date.now();
    while (!ended()) {
      await sleep(this.retryMs, undefined, { signal: AbortSignal.any([signal, stop]) }).catch(() => {});
      if (ended()) break;
      // A renewal (and the check after it) may take until the lease runs out, never longer: a
      // hung apiserver must not keep a leader writing past its lease.
      const until = AbortSignal.any([
        signal,
        stop,
        AbortSignal.timeout(Math.max(lastRenew + leaseMs - Date.now(), 1)),
      ]);
      const ok = await this.tryAcquireOrRenew(until).catch(() => false);
      if (ended()) break;
      if (ok) lastRenew = Date.now();
      else if (Date.now() - lastRenew >= leaseMs || (await this.heldByOther(until))) {
        this.log.error({ identity: this.identity }, 'lost the leader lease: stopping all writes');
        lost.abort();
        break;
      }
    }
  }

  /** True if we hold the lease after this call. */
  async tryAcquireOrRenew(signal?: AbortSignal): Promise<boolean> {
    const now = new Date();
    const current = await this.client
      .json<Lease>('GET', `${this.path}/${this.opts.name}`, { signal })
      .catch((err: unknown) => {
        if (err instanceof ApiError && err.status === 404) return undefined;
        throw err;
      });
    const spec = {
      holderIdentity: this.identity,
      leaseDurationSeconds: this.opts.durationSeconds,
      renewTime: microTime(now),
    };
    if (!current) {
      return unlessConflict(
        this.client.json('POST', this.path, {
          signal,
          body: {
            apiVersion: 'coordination.k8s.io/v1',
            kind: 'Lease',
            metadata: { name: this.opts.name, namespace: this.opts.namespace },
            spec: { ...spec, acquireTime: microTime(now), leaseTransitions: 0 },
          },
        }),
      );
    }
    if (this.heldByOtherAt(current, now)) return false;
    const takeover = current.spec.holderIdentity !== this.identity;
    return unlessConflict(
      this.client.json('PUT', `${this.path}/${this.opts.name}`, {
        signal,
        body: {
          ...current,
          spec: {
            ...current.spec,
            ...spec,
            ...(takeover
              ? { acquireTime: microTime(now), leaseTransitions: (current.spec.leaseTransitions ?? 0) + 1 }
              : {}),
          },
        },
      }),
    );
  }

  /** Another replica holds the lease and its claim has not run out at `now`. */
  private heldByOtherAt(lease: Lease, now: Date): boolean {
    const held = lease.spec.holderIdentity;
    return !!held && held !== this.identity && claimLive(lease, now, this.opts.durationSeconds);
  }

  private async heldByOther(signal: AbortSignal): Promise<boolean> {
    const l = await this.client
      .json<Lease>('GET', `${this.path}/${this.opts.name}`, { signal })
      .catch(() => undefined);
    return !!l?.spec.holderIdentity && l.spec.holderIdentity !== this.identity;
  }

  /** Gives the lease up on shutdown so the next replica takes over at once. */
  private async release(): Promise<void> {
    try {
      const l = await this.client.json<Lease>('GET', `${this.path}/${this.opts.name}`);
      if (l.spec.holderIdentity !== this.identity) return;
      await this.client.json('PUT', `${this.path}/${this.opts.name}`, {
        body: { ...l, spec: { ...l.spec, holderIdentity: '', renewTime: microTime(new Date(0)) } },
      });
    } catch {
      // best effort: the lease expires by itself
    }
  }
}

/** True once the write went through; false on 409 (someone else won the race). */
export function unlessConflict(write: Promise<unknown>): Promise<boolean> {
  return write.then(
    () => true,
    (err: unknown) => {
      if (err instanceof ApiError && err.status === 409) return false;
      throw err;
    },
  );
}

/** A failure the apiserver may get over: unreachable or timed out (status 0), throttled, 5xx. */
export function transient(err: unknown): boolean {
  return err instanceof ApiError && (err.status === 0 || err.status === 429 || err.status >= 500);
}
