import { setTimeout as sleep } from 'node:timers/promises';
import { type Config, type Env, hostEnv } from './config.ts';
import { DriftWatcher } from './drift/watcher.ts';
import { KubeClient } from './kube/client.ts';
import { LeaderElector, leaseName } from './leader.ts';
import type { Logger } from './log.ts';
import { refOf } from './manifests/object.ts';
import { Metrics } from './metrics.ts';
import { sinksFor } from './notify/sinks.ts';
import { type ReleaseReason, ShardOwner } from './shard/owner.ts';
import { type Commit, SourceError } from './source/git.ts';
import { short } from './source/sha.ts';
import { buildDeps, notDone, recorderDeps } from './sync/context.ts';
import { type Deps, type ReconcileOptions, type ReconcileResult, reconcile } from './sync/index.ts';
import { Slots } from './sync/slots.ts';
import { isoSeconds } from './time.ts';
import { ensureCrd } from './version/crd.ts';
import { Recorder } from './version/recorder.ts';
import type { LoopView } from './web/status.ts';

export interface OperatorOptions {
  kubeconfig?: string | undefined;
  impersonate?: { user: string; groups?: string[] } | undefined;
  /** Environment for the AWS SDK (default: the process's, see hostEnv). */
  env?: Env | undefined;
}

/** The leader lease while held: `lost` aborts when it runs out. */
type Lease = { lost: AbortSignal; release: () => Promise<void> };

interface Running {
  sha: string;
  abort: AbortController;
  done: Promise<ReconcileResult>;
}

export class Operator {
  readonly deps: Deps;
  private commit: Commit | undefined;
  private readonly running = new Map<string, Running>();
  /** Aborts when run() stops (shutdown or a lost lease), not when a newer commit supersedes a pass. */
  private shutdown: AbortSignal | undefined;
  /** Namespaces found healthy at a sha with nothing left to deliver, and when that check began. */
  private readonly settled = new Map<string, { sha: string; at: number }>();
  private wakeUp: (() => void) | undefined;
  /** A wake-up arrived since the current tick began (it may have missed the pushed commit). */
  private wakeRequested = false;
  /** The source state last written to the Versions: an error message, '' = available, undefined = not yet. */
  private sourceState: string | undefined;
  /** The branch the last ls-remote named, and when the loop last polled (the status page). */
  private branch: string | undefined;
  private lastPollAt: string | undefined;
  private crdReady = false;
  /** Watches the applied objects for hand edits while run() runs (DRIFT_WATCH). */
  private drift: DriftWatcher | undefined;
  /** With SHARDS above 1, while run() runs: which namespaces are this replica's now. */
  private shards: ShardOwner | undefined;
  /** Per shard held: aborted when it is given up, which ends its passes' waits as a shutdown does. */
  private readonly shardStops = new Map<number, AbortController>();
  readonly metrics = new Metrics();
  /** NAMESPACE_CONCURRENCY: passes in their busy part at once. */
  private readonly slots: Slots;
  /** Set after the first successful reconcile (/readyz). */
  ready = false;
  /** Time of the loop's last tick (/healthz); while standing by for the lease, of its last lease attempt. */
  lastTick = Date.now();
  /** While standing by for the leader lease: how long without a lease attempt means wedged (ms, /healthz). */
  standbyStallMs: number | undefined;

  constructor(
    readonly config: Config,
    log: Logger,
    opts: OperatorOptions = {},
  ) {
    const client = new KubeClient({
      kubeconfig: opts.kubeconfig,
      impersonate: opts.impersonate,
      maxSockets: config.applyConcurrency * 2,
      log,
    });
    this.slots = new Slots(config.namespaceConcurrency);
    const sinks = sinksFor(config, opts.env ?? hostEnv());
    this.deps = buildDeps(config, client, log, { sinks, metrics: this.metrics, sourceNotices: true });
    if (!config.s3Bucket) log.info('S3_BUCKET is not set: no completion files will be written');
    if (sinks.length) log.info({ sinks: sinks.map((s) => s.name) }, 'outcomes go to these sinks');
  }

  /** Learns the branch head and fetches it when it moved. Returns the commit to reconcile. */
  async refresh(): Promise<Commit> {
    const { git, log } = this.deps;
    const head = await this.counted('ls-remote', () => git.head());
    this.branch = head.branch;
    if (head.sha !== this.commit?.sha) {
      const sha = await this.counted('fetch', () => git.fetch(head));
      this.commit = { ...(await git.commit(sha)), seenAt: isoSeconds(new Date()) };
      log.info({ sha: short(sha), branch: head.branch, message: this.commit.message }, 'new commit');
    }
    return this.commit;
  }

  /** One pass over every namespace (`sync --once`). */
  async syncOnce(opts: ReconcileOptions = {}): Promise<ReconcileResult[]> {
    if (!opts.dryRun) await this.ensureCrd();
    const commit = await this.refresh();
    return Promise.all(this.config.managedNamespaces.map((ns) => this.reconcileNamespace(ns, commit, opts)));
  }

  /** Runs until `signal` aborts; git failures back off, the cluster is left as it is. */
  async run(signal: AbortSignal): Promise<'stopped' | 'lost-lease'> {
    let lease: Lease | undefined;
    // Shards replace the one leader Lease: every replica runs, each works its shards' namespaces.
    if (this.config.leaderElection.enabled && !this.config.sharding) {
      lease = await this.acquireLease(signal);
      if (!lease) return 'stopped';
    }
    // The shard Leases failing for good (403: no RBAC for Leases) stop the loop like a lost lease.
    const shardsFailed = new AbortController();
    const active = AbortSignal.any([signal, shardsFailed.signal, ...(lease ? [lease.lost] : [])]);
    this.shutdown = active;
    await this.ensureCrd();
    if (this.config.driftWatch)
      this.drift = new DriftWatcher(this.deps.client, this.deps.mapper, this.deps.log, (ns) =>
        this.driftSeen(ns),
      );
    const sharding = this.holdShards(active).catch((err: unknown) => {
      shardsFailed.abort();
      return err;
    });
    let delay = this.config.syncIntervalSeconds;
    while (!active.aborted) {
      this.lastTick = Date.now();
      this.wakeRequested = false;
      delay = await this.tick(delay);
      await this.sleep(delay * 1000, active);
    }
    const shardError = await sharding; // each shard's work stopped, then its Lease given back
    for (const r of this.running.values()) r.abort.abort();
    await Promise.allSettled([...this.running.values()].map((r) => r.done));
    await this.drift?.stop();
    this.drift = undefined;
    if (shardError) throw shardError;
    if (lease?.lost.aborted) return 'lost-lease';
    await lease?.release();
    return 'stopped';
  }

  /** Waits for the leader lease; undefined when stopped while standing by. */
  private async acquireLease(signal: AbortSignal): Promise<Lease | undefined> {
    const { log, client } = this.deps;
    const le = this.config.leaderElection;
    const elector = new LeaderElector(
      client,
      { namespace: le.namespace, name: leaseName, durationSeconds: le.durationSeconds },
      log,
    );
    log.info(
      { lease: `${le.namespace}/git-sync-operator`, identity: elector.identity },
      'waiting for the leader lease',
    );
    // A standby's loop is its lease attempts: each one ticks, so /healthz holds while another
    // replica leads, and fails (standbyStallMs) only if the attempts stop.
    this.standbyStallMs = elector.standbyStallMs;
    this.lastTick = Date.now();
    try {
      return await elector.acquire(signal, (err) => {
        this.lastTick = Date.now();
        // /readyz: a standby that reached the apiserver and found the lease held is ready. The
        // generated Deployment uses readiness only for availability (no Service): an unready
        // standby would keep a 2-replica Deployment from ever being Available (Recreate: every
        // replica must be), hang `kubectl rollout status`, and never be healthy by this operator's
        // own rule for a Deployment (src/health/status.ts). A failed attempt proves nothing yet.
        if (!err) this.ready = true;
      });
    } catch (err) {
      if (signal.aborted) return undefined;
      throw err;
    } finally {
      this.standbyStallMs = undefined;
      this.lastTick = Date.now();
    }
  }

  /** One poll: schedule every namespace at the head. Returns the delay before the next (backs off on git errors). */
  private async tick(delay: number): Promise<number> {
    const { log } = this.deps;
    this.lastPollAt = isoSeconds(new Date());
    try {
      const commit = await this.refresh();
      // Also on the first success: a restart must not leave a stale SourceAvailable=False behind.
      if (this.sourceState !== '') await this.markSource(undefined);
      for (const ns of this.mine()) this.schedule(ns, commit);
      // A replica whose shards hold no namespace (or none yet) is ready once it reaches git.
      if (this.shards) this.ready = true;
      return this.config.syncIntervalSeconds;
    } catch (err) {
      const next = Math.min(delay * 2, Math.max(300, this.config.syncIntervalSeconds));
      const reason = err instanceof SourceError ? err.reason : 'Error';
      log.error({ reason, retryInSeconds: next }, (err as Error).message);
      if (err instanceof SourceError) await this.markSource(err);
      // Keep repairing drift and delivering S3 files from the last good commit.
      if (this.commit) for (const ns of this.mine()) this.schedule(ns, this.commit);
      return next;
    }
  }

  /** What the loop knows of the source and of this replica's role, for the status page. */
  view(): LoopView {
    return {
      head: this.commit,
      branch: this.branch,
      lastPollAt: this.lastPollAt,
      sourceState: this.sourceState,
      standby: this.standbyStallMs !== undefined,
    };
  }

  /** The managed namespaces this replica works now (all of them unless sharded). */
  private mine(): string[] {
    if (!this.config.sharding) return this.config.managedNamespaces;
    const owner = this.shards; // none yet (or it failed to start): nothing is this replica's
    return owner ? this.config.managedNamespaces.filter((ns) => owner.owns(ns)) : [];
  }

  /** What ends a pass's waits as a shutdown: the loop's end, or its shard given up. */
  private stopOf(ns: string): AbortSignal | undefined {
    const shard = this.shards?.shardOf(ns);
    const stop = shard === undefined ? undefined : this.shardStops.get(shard);
    if (!stop || !this.shutdown) return this.shutdown;
    return AbortSignal.any([this.shutdown, stop.signal]);
  }

  /**
   * With SHARDS above 1: holds this replica's shards until `active` aborts. A shard taken is synced
   * at once; a shard given up (handed over, lost, or at shutdown) first has its passes stopped and
   * awaited, so its Lease goes to another replica only when nothing of it runs here.
   */
  private async holdShards(active: AbortSignal): Promise<void> {
    const sh = this.config.sharding;
    if (!sh) return;
    const le = this.config.leaderElection;
    const owner = new ShardOwner(
      this.deps.client,
      { namespace: le.namespace, durationSeconds: le.durationSeconds, ...sh },
      this.deps.log,
    );
    this.shards = owner;
    try {
      await owner.run(active, {
        acquired: (shard) => {
          this.shardStops.set(shard, new AbortController());
          this.metrics.shardsHeld.set(owner.held().size);
          // Its Versions may carry another replica's view of the source: written again next poll.
          this.sourceState = undefined;
          this.wake();
        },
        release: (shard, why) => this.releaseShard(shard, why),
      });
    } finally {
      this.metrics.shardsHeld.set(0);
    }
  }

  private async releaseShard(shard: number, why: ReleaseReason): Promise<void> {
    const owner = this.shards;
    const nss = this.config.managedNamespaces.filter((ns) => owner?.shardOf(ns) === shard);
    this.deps.log.info({ shard, why, namespaces: nss.length }, 'stopping the work of a shard');
    this.shardStops.get(shard)?.abort(); // also a pre phase's wait for its Jobs
    for (const ns of nss) this.running.get(ns)?.abort.abort();
    await Promise.allSettled(nss.map((ns) => this.running.get(ns)?.done));
    for (const ns of nss) this.settled.delete(ns);
    await Promise.all(nss.map((ns) => this.drift?.untrack(ns)));
    this.metrics.shardsHeld.set(owner?.held().size ?? 0);
  }

  /** Starts a sync now instead of at the next interval (webhook). */
  wake(): void {
    this.wakeRequested = true;
    this.wakeUp?.();
  }

  close(): void {
    this.deps.client.close();
  }

  /** Starts a reconcile unless one for this sha is running; a newer sha supersedes an older one. */
  private schedule(ns: string, commit: Commit): void {
    if (this.config.sharding && !this.shards?.owns(ns)) return; // another replica's (or being handed over)
    const cur = this.running.get(ns);
    if (cur?.sha === commit.sha) return;
    // Healthy at this sha, nothing pending: an idle poll costs one ls-remote until drift is due.
    // Half a poll of slack: a check due just after this poll would otherwise wait a whole poll more.
    const s = this.settled.get(ns);
    if (
      s?.sha === commit.sha &&
      Date.now() - s.at < (this.driftCheckSeconds(ns) - this.config.syncIntervalSeconds / 2) * 1000
    )
      return;
    cur?.abort.abort();
    const abort = new AbortController();
    const entry: Running = {
      sha: commit.sha,
      abort,
      done: (async () => {
        await cur?.done.catch(() => {});
        return this.reconcileNamespace(ns, commit, { signal: abort.signal, shutdown: this.stopOf(ns) });
      })(),
    };
    this.running.set(ns, entry);
    // Forget the entry when it ends; its errors are the reconcile's own (logged there), and the
    // next schedule() or run()'s shutdown awaits `done` itself.
    entry.done
      .finally(() => {
        if (this.running.get(ns) !== entry) return;
        this.running.delete(ns);
        this.driftSeen(ns); // an edit seen while the pass ran may postdate its compare
      })
      .catch(() => {});
  }

  /**
   * Seconds between full drift checks of a healthy namespace: where every applied kind is watched,
   * DRIFT_INTERVAL or never; elsewhere DRIFT_INTERVAL or every poll.
   */
  private driftCheckSeconds(ns: string): number {
    const { driftIntervalSeconds: every, syncIntervalSeconds: poll } = this.config;
    if (this.drift?.watching(ns)) return every ?? Number.POSITIVE_INFINITY;
    return every ?? poll;
  }

  /** A watch saw drift in `ns`: repaired by a pass at once, or after the pass under way. */
  private driftSeen(ns: string): void {
    if (!this.drift || !this.commit || this.running.has(ns) || this.shutdown?.aborted) return;
    const seen = this.drift.take(ns);
    if (!seen.length) return;
    const what = seen.map(
      (d) => `${d.kind}/${d.name} ${d.deleted ? 'deleted' : `changed by ${d.by ?? 'another writer'}`}`,
    );
    this.deps.log.info({ namespace: ns, drift: [...new Set(what)] }, 'drift seen: repairing');
    this.metrics.driftSeen.inc({ namespace: ns });
    this.settled.delete(ns);
    this.schedule(ns, this.commit);
  }

  /** After a pass that applied a set, the watches follow that set's objects. */
  private async track(ns: string): Promise<void> {
    const set = await this.deps.manifests.get(ns);
    if (!this.drift || !set || 'error' in set) return;
    // A Job runs once and may be deleted when done (ttlSecondsAfterFinished): that is no drift.
    const refs = set.objects.filter((o) => o.kind !== 'Job').map(refOf);
    try {
      await this.drift.track(ns, refs);
    } catch (err) {
      this.deps.log.warn({ namespace: ns }, `cannot watch for drift: ${(err as Error).message}`);
    }
  }

  private async reconcileNamespace(
    ns: string,
    commit: Commit,
    opts: ReconcileOptions,
  ): Promise<ReconcileResult> {
    // The time waited for a slot is not the pass's; a pass stopped while it waits never starts.
    const release = await this.slots.take(opts.signal);
    if (!release) return { ...notDone(ns, commit.sha), error: 'stopped before it started' };
    const started = performance.now();
    const startedAt = Date.now();
    let r: ReconcileResult;
    try {
      r = await reconcile(this.deps, ns, commit, { ...opts, waiting: release });
    } catch (err) {
      const message = (err as Error).message;
      this.deps.log.error({ namespace: ns }, message);
      r = { ...notDone(ns, commit.sha), error: message };
    } finally {
      release();
    }
    if (!opts.dryRun) {
      const sha7 = short(commit.sha);
      const outcome = {
        ok: r.ok,
        applied: r.changed.length,
        pruned: r.pruned.length,
        // The applied-commit gauge names only a sha that was applied, never one that was refused.
        ...(r.applied ? { sha7 } : {}),
      };
      this.metrics.record(
        ns,
        {
          ...outcome,
          ...(r.ready ? { deployed: sha7 } : {}),
          ...(r.error ? { reason: r.reason ?? 'Error' } : {}),
        },
        (performance.now() - started) / 1000,
      );
      await this.afterPass(r, opts, startedAt);
    }
    return r;
  }

  /** What a finished pass leaves behind: readiness, whether the namespace is settled, its watches. */
  private async afterPass(r: ReconcileResult, opts: ReconcileOptions, startedAt: number): Promise<void> {
    const ns = r.namespace;
    if (r.ok) this.ready = true;
    if (r.ok && !r.pending && !r.suspended && opts.wait !== false)
      this.settled.set(ns, { sha: r.sha, at: startedAt });
    else this.settled.delete(ns);
    if (r.applied) await this.track(ns);
  }

  private async counted<T>(op: 'ls-remote' | 'fetch', fn: () => Promise<T>): Promise<T> {
    try {
      const v = await fn();
      this.metrics.gitRequests.inc({ op, result: 'ok' });
      return v;
    } catch (err) {
      this.metrics.gitRequests.inc({ op, result: 'error' });
      this.metrics.errors.inc({
        namespace: '',
        reason: err instanceof SourceError ? err.reason : 'GitError',
      });
      throw err;
    }
  }

  private async ensureCrd(): Promise<void> {
    if (this.crdReady) return;
    await ensureCrd(this.deps.client);
    this.crdReady = true;
  }

  /** SourceAvailable condition on every Version of this replica's, written only when it changes. */
  private async markSource(err: SourceError | undefined): Promise<void> {
    if ((err?.message ?? '') === this.sourceState) return;
    this.sourceState = err?.message ?? '';
    for (const ns of this.mine()) {
      try {
        const rec = await Recorder.open(recorderDeps(this.deps), ns, this.deps.log);
        await rec.source(err, this.config.configRepo);
      } catch (e) {
        this.deps.log.warn({ namespace: ns }, `cannot record source state: ${(e as Error).message}`);
      }
    }
  }

  private async sleep(ms: number, signal: AbortSignal): Promise<void> {
    if (this.wakeRequested) return; // woken while this tick ran: its ls-remote may predate the push
    const woke = new Promise<void>((resolve) => {
      this.wakeUp = resolve;
    });
    await Promise.race([sleep(ms, undefined, { signal }).catch(() => {}), woke]);
    this.wakeUp = undefined;
  }
}
