// Which shards of the managed namespaces this replica works, held on one Lease per shard: each
// round reads every shard Lease, then renews, takes, asks for or hands over shards as plan.ts
// decides. A shard's release hook is awaited before its Lease goes to anyone else, and a shard
// not renewed in time is dropped before its claim runs out, so no two replicas work it at once.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { ApiError, type KubeClient } from '../kube/client.ts';
import { transient } from '../leader.ts';
import type { Logger } from '../log.ts';
import { shardOf } from './hash.ts';
import { type ReadLease, ShardLeases } from './leases.ts';
import {
  apply,
  type Change,
  type Held,
  live,
  overdue,
  plan,
  released,
  type Seen,
  settle,
  type Timings,
  timings,
  unclaimedSince,
  type Write,
} from './plan.ts';

export interface ShardOptions {
  /** Namespace of the shard Leases (the operator's, as for the leader Lease). */
  namespace: string;
  /** How many shards the managed namespaces are split into. */
  shards: number;
  /** Replicas configured (the Deployment's): each aims at ceil(shards / replicas). */
  replicas: number;
  /** Seconds a claim lasts without renewal; rounds run every third, a holder gives up after two. */
  durationSeconds: number;
  identity?: string;
}

/** handover: another replica asked for it; lost: taken or not renewed in time; stopping: shutdown. */
export type ReleaseReason = 'handover' | 'lost' | 'stopping';

export interface ShardHooks {
  /** This replica now works the shard's namespaces. */
  acquired(shard: number): void;
  /**
   * Stop working the shard's namespaces and resolve once nothing of them runs. On `handover` and
   * `stopping` the Lease is held (renewed) until this resolves; on `lost` it must resolve within
   * durationSeconds / 3, before another replica may take the shard.
   */
  release(shard: number, why: ReleaseReason): Promise<void>;
}

export class ShardOwner {
  readonly identity: string;
  /** Shards each replica aims at: ceil(shards / replicas). */
  readonly cap: number;
  readonly timings: Timings;
  private readonly state = new Map<number, Held>();
  private readonly leases: ShardLeases;
  private readonly dead = new AbortController();
  private readonly hooksRunning = new Set<Promise<void>>();
  private wake = new AbortController();
  /** A release hook finished since the last pause: run the next round at once. */
  private poked = false;
  private hooks: ShardHooks | undefined;
  /** Leases as the last round read them (to know when to look again). */
  private lastSeen: Seen[] = [];

  constructor(
    client: KubeClient,
    private readonly opts: ShardOptions,
    private readonly log: Logger,
  ) {
    for (const k of ['shards', 'replicas', 'durationSeconds'] as const)
      if (!Number.isInteger(opts[k]) || opts[k] < 1)
        throw new RangeError(`${k} must be a positive integer, got ${opts[k]}`);
    this.identity = opts.identity ?? `${hostname()}-${randomBytes(4).toString('hex')}`;
    this.cap = Math.ceil(opts.shards / opts.replicas);
    this.timings = timings(opts.durationSeconds);
    this.leases = new ShardLeases(client, { ...opts, identity: this.identity });
  }

  shardOf(namespace: string): number {
    return shardOf(namespace, this.opts.shards);
  }

  /** This replica may work `namespace` now. */
  owns(namespace: string): boolean {
    return this.ownsShard(this.shardOf(namespace));
  }

  /** Owned and renewed within the deadline: true even between two rounds only while the claim is safe. */
  ownsShard(shard: number): boolean {
    const h = this.state.get(shard);
    return (
      !this.dead.signal.aborted && h?.state === 'owned' && Date.now() < h.renewedAt + this.timings.deadlineMs
    );
  }

  /** The shards this replica works now. */
  held(): ReadonlySet<number> {
    return new Set([...this.state.keys()].filter((s) => this.ownsShard(s)));
  }

  /**
   * Holds shards until `signal` aborts, then hands each back (awaiting its release hook, then
   * freeing its Lease) and returns. Rejects on an error retrying cannot cure (403: no RBAC for
   * Leases), after releasing what it held.
   */
  async run(signal: AbortSignal, hooks: ShardHooks): Promise<void> {
    this.hooks = hooks;
    for (;;) {
      if (this.dead.signal.aborted) return;
      const stopping = signal.aborted;
      if (stopping && this.state.size === 0) return;
      const wakeAt = await this.round(stopping);
      await this.pause(wakeAt, signal);
    }
  }

  /** Stops at once: no release hook, no request, the Leases run out by themselves (SIGKILL; tests). */
  crash(): void {
    this.dead.abort();
  }

  /** One round; returns when the next one is due. */
  private async round(stopping: boolean): Promise<number> {
    const now = Date.now();
    const signal = AbortSignal.any([this.dead.signal, AbortSignal.timeout(this.budget(now))]);
    const failures: unknown[] = [];
    const reads = await Promise.all(
      Array.from({ length: this.opts.shards }, (_, i) =>
        this.leases.read(i, signal).catch((err: unknown) => void failures.push(err)),
      ),
    );
    if (this.dead.signal.aborted) return now;
    const read = new Map(reads.filter((r): r is ReadLease => !!r).map((r) => [r.seen.shard, r]));
    this.lastSeen = [...read.values()].map((r) => r.seen);
    const p = plan({ ...this.round0(now, stopping), seen: this.lastSeen, held: this.state });
    for (const c of p.changes) this.change(c);
    await Promise.all(p.writes.map((w) => this.send(w, { read, now, signal }, failures)));
    for (const shard of overdue(this.state, Date.now(), this.timings))
      this.change({ kind: 'lose', shard, why: 'deadline' });
    await this.failed(failures);
    return this.nextRound(now);
  }

  private round0(now: number, stopping: boolean) {
    return { identity: this.identity, now, cap: this.cap, timings: this.timings, stopping };
  }

  /** A round's requests may take until the first claim we hold would pass its deadline. */
  private budget(now: number): number {
    const until = [...this.state.values()].map((h) =>
      h.state === 'lost' ? Infinity : h.renewedAt + this.timings.deadlineMs,
    );
    return Math.max(Math.min(now + this.timings.durationMs, ...until) - now, 1);
  }

  private async send(
    w: Write,
    at: { read: Map<number, ReadLease>; now: number; signal: AbortSignal },
    failures: unknown[],
  ): Promise<void> {
    const write = (lease: ReadLease['lease']) =>
      this.leases
        .write(w, lease, new Date(at.now), at.signal)
        .catch((err: unknown) => void failures.push(err));
    let ok = await write(at.read.get(w.shard)?.lease);
    // A renewal (or transfer) that lost the race to a wish written on the same Lease (409): the
    // Lease is still ours, so read it again and write once more — otherwise one wish could cost us
    // the shard at its deadline.
    if (ok === false && (w.kind === 'renew' || w.kind === 'transfer') && !at.signal.aborted) {
      const fresh = await this.leases.read(w.shard, at.signal).catch(() => undefined);
      if (fresh?.seen.holder === this.identity) ok = await write(fresh.lease);
    }
    if (!ok || this.dead.signal.aborted) return;
    const out = settle(this.state, w, { now: at.now, at: Date.now(), timings: this.timings });
    if (out?.kind === 'acquired') {
      this.log.info({ shard: w.shard, holder: this.identity }, 'shard acquired');
      try {
        this.hooks?.acquired(w.shard);
      } catch (err) {
        this.log.error({ shard: w.shard, err }, 'shard acquired hook failed');
      }
    } else if (out?.kind === 'handedOver') {
      const msg = out.to ? 'shard handed over' : 'shard released';
      this.log.info({ shard: w.shard, from: this.identity, to: out.to || undefined }, msg);
    }
  }

  private change(c: Change): void {
    const was = this.state.get(c.shard);
    apply(this.state, c);
    if (c.kind === 'handOff') {
      this.log.info({ shard: c.shard, holder: this.identity, to: c.to || undefined }, 'shard handing over');
      this.release(c.shard, c.to ? 'handover' : 'stopping');
    } else if (c.kind === 'lose') {
      const holder = this.lastSeen.find((s) => s.shard === c.shard)?.holder || undefined;
      this.log.info({ shard: c.shard, why: c.why, holder }, 'shard lost');
      // A handover's hook already runs; its end removes the lost shard.
      if (was?.state === 'owned') this.release(c.shard, 'lost');
      else if (was?.state === 'handing' && was.released) released(this.state, c.shard);
    }
  }

  private release(shard: number, why: ReleaseReason): void {
    const hook = (async () => {
      try {
        await this.hooks?.release(shard, why);
      } catch (err) {
        this.log.error({ shard, err }, 'shard release hook failed');
      }
    })();
    this.hooksRunning.add(hook);
    void hook.finally(() => {
      this.hooksRunning.delete(hook);
      if (this.dead.signal.aborted) return;
      released(this.state, shard);
      this.poked = true;
      this.wake.abort();
    });
  }

  /** Logs a round's failed requests; one retrying cannot cure drops every shard and throws. */
  private async failed(failures: unknown[]): Promise<void> {
    const errors = failures.filter((e): e is Error => e instanceof Error && e.name !== 'AbortError');
    if (errors.length === 0) return;
    const fatal = errors.find((e) => e instanceof ApiError && !transient(e));
    if (!fatal) {
      const first = errors[0] as Error;
      this.log.warn(
        { failed: errors.length, retryInSeconds: this.timings.renewMs / 1000 },
        `shard lease requests failed: ${first.message}`,
      );
      return;
    }
    for (const [shard, h] of this.state)
      if (h.state === 'owned') this.change({ kind: 'lose', shard, why: 'deadline' });
    await Promise.allSettled([...this.hooksRunning]);
    throw new Error(`shard leases in namespace ${this.opts.namespace}: ${fatal.message}`);
  }

  /**
   * The next round: a renew period on, or sooner when a claim we hold reaches its deadline or a
   * Lease someone else holds runs out (or, at our share, has stayed unclaimed for a round).
   */
  private nextRound(now: number): number {
    const times = [now + this.timings.renewMs];
    // Before the deadline, with time left for the round's requests (not at it: a budget of 0).
    for (const h of this.state.values())
      if (h.state !== 'lost') times.push(h.renewedAt + this.timings.deadlineMs - this.timings.renewMs / 2);
    for (const s of this.lastSeen) {
      if (this.state.has(s.shard) || s.holder === this.identity) continue;
      const since = unclaimedSince(s, now);
      if (live(s, now)) times.push(s.renewedAt + s.durationMs + 1);
      else if (since !== undefined) times.push(since + this.timings.renewMs);
    }
    return Math.min(...times.filter((t) => t > now));
  }

  /** Sleeps until `at`, a release hook finishing, shutdown starting, or a crash. */
  private async pause(at: number, signal: AbortSignal): Promise<void> {
    this.wake = new AbortController();
    if (this.poked) {
      this.poked = false;
      return;
    }
    const stop = signal.aborted ? [] : [signal];
    const ms = Math.max(at - Date.now(), 20);
    await sleep(ms, undefined, {
      signal: AbortSignal.any([this.wake.signal, this.dead.signal, ...stop]),
    }).catch(() => {});
  }
}
