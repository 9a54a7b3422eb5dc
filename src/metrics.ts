// Prometheus metrics (prom-client), one registry per operator so tests can run several.
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export class Metrics {
  readonly registry = new Registry();
  readonly syncs = new Counter({
    name: 'gso_syncs_total',
    help: 'Reconciles of a namespace, by result (ok, failed).',
    labelNames: ['namespace', 'result'] as const,
    registers: [this.registry],
  });
  readonly errors = new Counter({
    name: 'gso_errors_total',
    help: 'Errors, by namespace ("" for the source) and reason.',
    labelNames: ['namespace', 'reason'] as const,
    registers: [this.registry],
  });
  readonly duration = new Histogram({
    name: 'gso_sync_duration_seconds',
    help: 'Time of one reconcile, from manifests to record (including the rollout wait).',
    labelNames: ['namespace'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 600],
    registers: [this.registry],
  });
  readonly applied = new Counter({
    name: 'gso_objects_applied_total',
    help: 'Objects written by server-side apply.',
    labelNames: ['namespace'] as const,
    registers: [this.registry],
  });
  readonly pruned = new Counter({
    name: 'gso_objects_pruned_total',
    help: 'Objects deleted because git no longer has them.',
    labelNames: ['namespace'] as const,
    registers: [this.registry],
  });
  readonly appliedCommit = new Gauge({
    name: 'gso_applied_commit_info',
    help: 'The short sha last applied in each namespace (value 1).',
    labelNames: ['namespace', 'sha'] as const,
    registers: [this.registry],
  });
  readonly deployedCommit = new Gauge({
    name: 'gso_deployed_commit_info',
    help: 'The short sha last healthy in each namespace (value 1).',
    labelNames: ['namespace', 'sha'] as const,
    registers: [this.registry],
  });
  readonly gitRequests = new Counter({
    name: 'gso_git_requests_total',
    help: 'git network operations, by kind (ls-remote, fetch) and result.',
    labelNames: ['op', 'result'] as const,
    registers: [this.registry],
  });
  readonly s3Writes = new Counter({
    name: 'gso_s3_writes_total',
    help: 'S3 completion/failure file writes, by result.',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'gso_' });
  }

  /** Records one namespace's result; the info gauges keep only the current sha. */
  record(
    ns: string,
    r: { ok: boolean; applied: number; pruned: number; sha7?: string; deployed?: string; reason?: string },
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
