// Prometheus metrics (prom-client), one registry per operator so tests can run several.
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { Reason } from './version/reasons.ts';

export class Metrics {
  readonly registry = new Registry();
  private readonly counter = <L extends string>(name: string, help: string, labelNames: readonly L[]) =>
    new Counter<L>({ name, help, labelNames, registers: [this.registry] });
  private readonly info = (name: string, help: string) =>
    new Gauge<'namespace' | 'sha'>({
      name,
      help,
      labelNames: ['namespace', 'sha'],
      registers: [this.registry],
    });

  readonly syncs = this.counter('gso_syncs_total', 'Reconciles of a namespace, by result (ok, failed).', [
    'namespace',
    'result',
  ]);
  readonly errors = this.counter('gso_errors_total', 'Errors, by namespace ("" for the source) and reason.', [
    'namespace',
    'reason',
  ]);
  readonly duration = new Histogram({
    name: 'gso_sync_duration_seconds',
    help: 'Time of one reconcile, from manifests to record (including the rollout wait).',
    labelNames: ['namespace'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 600],
    registers: [this.registry],
  });
  readonly applied = this.counter('gso_objects_applied_total', 'Objects written by server-side apply.', [
    'namespace',
  ]);
  readonly pruned = this.counter(
    'gso_objects_pruned_total',
    'Objects deleted because git no longer has them.',
    ['namespace'],
  );
  readonly appliedCommit = this.info(
    'gso_applied_commit_info',
    'The short sha last applied in each namespace (value 1).',
  );
  readonly deployedCommit = this.info(
    'gso_deployed_commit_info',
    'The short sha last healthy in each namespace (value 1).',
  );
  readonly gitRequests = this.counter(
    'gso_git_requests_total',
    'git network operations, by kind (ls-remote, fetch) and result.',
    ['op', 'result'],
  );
  readonly deliveries = this.counter(
    'gso_deliveries_total',
    'Outcome deliveries per sink (s3, commit-status, webhook, slack), by result (ok, error, dropped).',
    ['sink', 'result'],
  );
  readonly driftSeen = this.counter(
    'gso_drift_seen_total',
    'Hand edits (or deletions) of applied objects seen by the drift watches, each followed by a repair pass.',
    ['namespace'],
  );
  readonly shardsHeld = new Gauge({
    name: 'gso_shards_held',
    help: 'Shards (SHARDS) this replica holds and works now.',
    registers: [this.registry],
  });
  readonly s3Writes = this.counter('gso_s3_writes_total', 'S3 completion/failure file writes, by result.', [
    'result',
  ]);

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'gso_' });
  }

  /** Records one namespace's result; the info gauges keep only the current sha. */
  record(
    ns: string,
    r: { ok: boolean; applied: number; pruned: number; sha7?: string; deployed?: string; reason?: Reason },
    seconds: number,
  ): void {
    this.syncs.inc({ namespace: ns, result: r.ok ? 'ok' : 'failed' });
    this.duration.observe({ namespace: ns }, seconds);
    if (r.applied) this.applied.inc({ namespace: ns }, r.applied);
    if (r.pruned) this.pruned.inc({ namespace: ns }, r.pruned);
    if (r.reason) this.errors.inc({ namespace: ns, reason: r.reason });
    if (r.sha7) this.setInfo(this.appliedCommit, this.lastApplied, ns, r.sha7);
    if (r.deployed) this.setInfo(this.deployedCommit, this.lastDeployed, ns, r.deployed);
  }

  private readonly lastApplied = new Map<string, string>();
  private readonly lastDeployed = new Map<string, string>();

  private setInfo(g: Gauge<'namespace' | 'sha'>, last: Map<string, string>, ns: string, sha: string): void {
    const prev = last.get(ns);
    if (prev && prev !== sha) g.remove({ namespace: ns, sha: prev });
    g.set({ namespace: ns, sha }, 1);
    last.set(ns, sha);
  }
}
