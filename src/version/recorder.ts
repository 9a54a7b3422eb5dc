// The one owner of what a sync pass tells the world: each outcome sets the Version's conditions,
// emits its Event and sends one status patch; decided (deployment, sha) outcomes are queued for
// the sinks (S3 files first) and delivered the moment they are decided. Stages call these methods
// and never write the Version themselves.
import type { KubeClient } from '../kube/client.ts';
import { suspendAnnotation } from '../kube/labels.ts';
import type { Logger } from '../log.ts';
import { type ObjectRef, refKey } from '../manifests/object.ts';
import type { Metrics } from '../metrics.ts';
import { dispatch } from '../notify/dispatch.ts';
import { parseKey } from '../notify/s3.ts';
import type { Sink } from '../notify/sink.ts';
import type { Commit, SourceError } from '../source/git.ts';
import { displayUrl, redact } from '../source/redact.ts';
import { short } from '../source/sha.ts';
import { type CommitNews, failure, fullSha, supersededBy, tellCommits } from './commits.ts';
import { setConditions } from './conditions.ts';
import { recordEvent, type VersionEvent } from './events.ts';
import { historyHealthy, historyNotified, historyStep, historyWith } from './history.ts';
import {
  nowIso,
  type Outcome,
  recordOutcomes,
  startRollouts,
  supersedeOvertaken,
  takeUpOvertaken,
} from './outcomes.ts';
import { eventReason, type FailureReason, oneLine, type SyncFailureReason } from './reasons.ts';
import { ridersSettled, ridingAfterApply } from './riders.ts';
import type { VersionStore } from './store.ts';
import type {
  Condition,
  DeploymentState,
  HistoryEntry,
  PendingFile,
  Version,
  VersionStatusPatch,
} from './types.ts';

/** How long a delivery on the way may hold a sync (the full flush at the end of a pass has no bound). */
export const inlineDeliveryMs = 2_000;

/** How many overtaken commits a Version remembers (the oldest go first). */
const overtakenLimit = 20;

/** status.lastSyncTime is refreshed this often when nothing else changes. */
const lastSyncRefreshMs = 5 * 60_000;

export interface RecorderDeps {
  client: KubeClient;
  versions: VersionStore;
  log: Logger;
  cluster: string;
  sinks: readonly Sink[];
  /** Deliveries are counted here when set. */
  metrics?: Metrics | undefined;
}

/** A failure of a sha: `signal` names the Deployments that get a failed outcome (a definite one). */
export type Failure =
  | { reason: FailureReason; message: string; signal: readonly string[] }
  | { reason: SyncFailureReason; message: string; signal?: undefined };

/** What `applied` records: the commit, how much changed, and the inventory it leaves. */
export interface AppliedSet {
  commit: Commit;
  changed: number;
  refs: readonly ObjectRef[];
  /** Objects of the last inventory no longer in git: kept in the inventory until they are pruned. */
  stale: readonly ObjectRef[];
  /** Deployment name → applied-hash of its spec. */
  deployments: ReadonlyMap<string, string>;
}

export class Recorder {
  constructor(
    private readonly deps: RecorderDeps,
    /** The Version as last written: every method reads and replaces it. */
    public version: Version,
    private readonly log: Logger,
    /** Ends deliveries on the way (shutdown, newer commit): they stay pending. */
    private readonly stop?: AbortSignal,
  ) {}

  /** The namespace's Version (created when missing), ready to record into. */
  static async open(deps: RecorderDeps, namespace: string, log: Logger): Promise<Recorder> {
    return new Recorder(deps, await deps.versions.get(namespace), log);
  }

  get status() {
    return this.version.status;
  }

  /**
   * A failure of this sha. A definite one (`signal`) gives each named Deployment its failed
   * outcome; a transient one tells the sinks nothing (the next poll tries again).
   */
  async failed(commit: Commit, f: Failure): Promise<void> {
    const sha = commit.sha;
    const message = redact(f.message);
    if (this.status?.lastError !== message)
      await this.event({ type: 'Warning', reason: eventReason(f.reason), message });
    const definite = f.signal !== undefined ? f : undefined;
    // A definite failure also ends the wait of commits overtaken before their apply.
    const told = definite
      ? this.told(
          [
            ...definite.signal.map((deployment) => ({ deployment, sha, reason: definite.reason, message })),
            ...supersedeOvertaken(this.status, short(sha)),
          ],
          [
            { ...failure(sha, definite.reason, message), subject: commit.message, author: commit.author },
            ...supersededBy(this.status, sha, false),
          ],
        ).patch
      : undefined;
    // A definite failure ends this commit's sync; it replaces no rollout (it applied nothing).
    const step = { result: 'Failed' as const, reason: `${f.reason}: ${oneLine(message)}` };
    // A failed pre phase is not run again at this commit (a migration that timed out may still
    // complete: the commit CI was told failed must not roll out after all).
    const preFailed = f.reason === 'PrePhaseFailed' ? { preFailed: { sha: short(sha), message } } : {};
    const history = definite ? historyWith(this.status?.history, commit, step, false) : undefined;
    await this.patch({
      ...told,
      ...(history ? { history } : {}),
      ...preFailed,
      ...(definite && this.status?.overtaken?.length ? { overtaken: [] } : {}),
      lastError: message,
      conditions: setConditions(
        this.status?.conditions,
        { type: 'Stalled', status: 'True', reason: f.reason, message },
        { type: 'Ready', status: 'False', reason: f.reason, message },
      ),
    });
  }

  /**
   * The set of `commit` is applied: `applied` moves, each Deployment starts rolling out this sha,
   * and one still waiting at an older sha carries that wait on (same spec) or is superseded.
   */
  async applied(a: AppliedSet): Promise<void> {
    const sha7 = short(a.commit.sha);
    if (this.version.applied !== sha7 || a.changed > 0) {
      const what = a.changed ? `${a.changed} objects changed` : 'no object changed';
      const message = `applied ${sha7} (${a.commit.message}): ${what}`;
      await this.event({ type: 'Normal', reason: 'Applied', message });
    }
    const history =
      this.version.applied !== sha7
        ? historyWith(this.status?.history, a.commit, { appliedAt: nowIso() })
        : undefined;
    this.version = await this.deps.versions.setTop(this.version, { applied: sha7 });
    const started = startRollouts(this.status, a.commit.sha, a.deployments);
    // Commits overtaken before their apply ride on this rollout (same spec) or are superseded.
    const overtaken = takeUpOvertaken(this.status, sha7, a.deployments, started.deployments);
    const news: CommitNews[] = [
      { sha: a.commit.sha, state: 'pending', description: `applied ${sha7}`, ...about(a.commit) },
      ...supersededBy(this.status, a.commit.sha, true),
    ];
    const lost = [...started.superseded, ...overtaken];
    const superseded = this.told(lost, news).patch;
    // Empty on a resync of the same sha: no key, so an unchanged status is not written again.
    const states = { ...superseded?.deployments, ...started.deployments };
    const riding = ridingAfterApply(this.status, sha7, started.deployments, lost);
    await this.patch({
      commit: a.commit.sha,
      author: a.commit.author,
      message: a.commit.message,
      // The stale objects stay in the inventory until they are pruned: a prune cut short (a crash,
      // an error) is finished by the next pass.
      inventory: [...a.refs, ...a.stale],
      ...superseded,
      ...(history ? { history } : {}),
      ...(this.status?.overtaken?.length ? { overtaken: [] } : {}),
      ...(Object.keys(states).length ? { deployments: states } : {}),
      ...(riding.length || this.status?.riding?.length ? { riding } : {}),
      lastError: '',
      conditions: setConditions(this.status?.conditions, {
        type: 'Stalled',
        status: 'False',
        reason: 'Applied',
        message: `applied ${sha7}`,
      }),
    });
  }

  /**
   * The pass at `sha7` ended before its set was applied (a newer commit, suspended, a transient
   * failure): it is remembered with its Deployments' specs until another head is applied (each
   * rides on that rollout or is superseded) or fails for good (all superseded).
   */
  async overtaken(commit: Commit, deployments: ReadonlyMap<string, string>): Promise<void> {
    const sha7 = short(commit.sha);
    const list = this.status?.overtaken ?? [];
    if (deployments.size === 0 || this.version.applied === sha7 || list.some((o) => o.sha === sha7)) return;
    const all = [...list, { sha: sha7, deployments: Object.fromEntries(deployments), commit: commit.sha }];
    // The oldest beyond the limit are decided now, not forgotten: superseded by this newer head.
    const dropped = all.slice(0, Math.max(0, all.length - overtakenLimit));
    const told = this.told(
      supersedeOvertaken({ overtaken: dropped }, sha7),
      supersededBy({ overtaken: dropped }, commit.sha, false),
    ).patch;
    await this.patch({ ...told, overtaken: all.slice(-overtakenLimit) });
  }

  /** The stale objects are gone (or kept by annotation): the inventory is the set again. */
  async pruned(deleted: readonly ObjectRef[], refs: readonly ObjectRef[]): Promise<void> {
    if (deleted.length) {
      const list = deleted.map((r) => `${r.kind}/${r.name}`).join(', ');
      await this.event({ type: 'Normal', reason: 'Pruned', message: `pruned ${list} (no longer in git)` });
    }
    await this.patch({ inventory: [...refs] });
  }

  /** The rollout of `sha7` is being waited for. */
  async progressing(sha7: string): Promise<void> {
    await this.patch({
      conditions: setConditions(this.status?.conditions, {
        type: 'Reconciling',
        status: 'True',
        reason: 'Progressing',
        message: `waiting for rollout of ${sha7}`,
      }),
    });
  }

  /** A Deployment is healthy at these shas; false when every pair was decided before. */
  async deploymentHealthy(deployment: string, shas: readonly string[]): Promise<boolean> {
    const healthyAt = nowIso();
    let history = this.status?.history;
    for (const sha of shas) history = historyHealthy(history, sha, healthyAt) ?? history;
    const moved = history === this.status?.history ? undefined : history;
    return this.decided(
      shas.map((sha) => ({ deployment, sha, healthyAt })),
      moved,
    );
  }

  /** Rollout outcomes that failed (timeout, failure); each goes out at once. */
  async deploymentsFailed(outcomes: readonly Outcome[]): Promise<void> {
    let history = this.status?.history;
    for (const o of outcomes)
      if ('reason' in o)
        history =
          historyStep(history, o.sha, { result: 'Failed', reason: `${o.reason}: ${oneLine(o.message)}` }) ??
          history;
    // The commit as a whole failed too (a Superseded pair says nothing of its own commit).
    const news = outcomes.flatMap((o) => {
      const sha = 'reason' in o && o.reason !== 'Superseded' ? fullSha(this.status, o.sha) : undefined;
      return sha && 'reason' in o ? [failure(sha, o.reason, o.message)] : [];
    });
    await this.decided(outcomes, history === this.status?.history ? undefined : history, news);
  }

  /** Every workload of `sha7` is healthy. `conditions` false: the conditions belong to a failed head. */
  async deployed(sha7: string, conditions: boolean): Promise<void> {
    if (conditions && this.version.deployed !== sha7) {
      const message = `${sha7} is healthy: every workload rolled out`;
      await this.event({ type: 'Normal', reason: 'Deployed', message });
    }
    this.version = await this.deps.versions.setTop(this.version, { deployed: sha7 });
    await this.tell({
      sha: sha7,
      state: 'success',
      description: `${sha7} is healthy: every workload rolled out`,
    });
    const step = { healthyAt: nowIso(), result: 'Deployed' as const };
    const history = historyStep(this.status?.history, sha7, step);
    // Every rider is older than the applied sha: none can be deployed after it.
    const riding = this.status?.riding?.length ? { riding: [] } : {};
    if (!conditions) {
      if (history || riding.riding) await this.patch({ ...(history ? { history } : {}), ...riding });
      return;
    }
    const message = `${sha7} is healthy`;
    // A heartbeat, not a write per interval: an idle namespace costs the apiserver no write.
    const beat = !(Date.now() - Date.parse(this.status?.lastSyncTime ?? '') < lastSyncRefreshMs);
    await this.patch({
      conditions: setConditions(
        this.status?.conditions,
        { type: 'Ready', status: 'True', reason: 'Deployed', message },
        { type: 'Reconciling', status: 'False', reason: 'Deployed', message },
      ),
      ...(beat ? { lastSyncTime: nowIso() } : {}),
      ...(history ? { history } : {}),
      ...riding,
    });
  }

  /**
   * Every Deployment of `sha7` was decided healthy by riding on a later rollout of the same spec:
   * the commit is deployed, as its S3 files said. The conditions stay the head's.
   */
  private async riderDeployed(sha7: string): Promise<void> {
    const message = `${sha7} is healthy: each of its Deployments rolled out with a later commit of the same spec`;
    await this.event({ type: 'Normal', reason: 'Deployed', message });
    this.version = await this.deps.versions.setTop(this.version, { deployed: sha7 });
    const history = historyStep(this.status?.history, sha7, { healthyAt: nowIso(), result: 'Deployed' });
    if (history) await this.patch({ history });
  }

  /**
   * The rollout of `sha7` failed, told of the commit only: the Version's conditions belong to a
   * failed head (a Job's failure names no Deployment, yet the commit did not deploy).
   */
  async commitFailed(sha7: string, reason: 'RolloutTimeout' | 'RolloutFailed', why: string): Promise<void> {
    await this.tell(failure(sha7, reason, why));
  }

  /** The rollout failed or timed out (`why` says which workloads and why). */
  async rolloutFailed(sha7: string, reason: 'RolloutTimeout' | 'RolloutFailed', why: string): Promise<void> {
    await this.commitFailed(sha7, reason, why);
    if (this.status?.lastError !== why)
      await this.event({ type: 'Warning', reason: 'RolloutFailed', message: why });
    const history = historyStep(this.status?.history, sha7, {
      result: 'Failed',
      reason: `${reason}: ${oneLine(why)}`,
    });
    await this.patch({
      ...(history ? { history } : {}),
      lastError: why,
      conditions: setConditions(
        this.status?.conditions,
        { type: 'Ready', status: 'False', reason, message: why },
        { type: 'Reconciling', status: 'False', reason: 'RolloutFailed', message: why },
      ),
    });
  }

  /**
   * The post phase failed after a healthy rollout: the Version says so (Ready=False); the
   * Deployments' outcomes were told already and stand.
   */
  async postFailed(sha7: string, why: string): Promise<void> {
    const message = redact(why);
    // Once per commit and failure: the same head is tried again at every poll.
    const postFailed = `${sha7}: ${message}`;
    if (this.status?.postFailed !== postFailed)
      await this.event({ type: 'Warning', reason: 'PostPhaseFailed', message });
    await this.patch({
      postFailed,
      lastError: message,
      conditions: setConditions(this.status?.conditions, {
        type: 'Ready',
        status: 'False',
        reason: 'PostPhaseFailed',
        message: `${sha7} is deployed, but its ${message}`,
      }),
    });
  }

  /**
   * The pre objects are applied (the rest may never be): the inventory holds them from now on, so
   * that git dropping them prunes them even if this commit fails.
   */
  async preApplied(refs: readonly ObjectRef[]): Promise<void> {
    const inventory = this.status?.inventory ?? [];
    const known = new Set(inventory.map(refKey));
    const added = refs.filter((r) => !known.has(refKey(r)));
    if (added.length) await this.patch({ inventory: [...inventory, ...added] });
  }

  /**
   * `completed` Jobs were seen Complete. `jobs` are the set's Jobs (name → `name@applied-hash`):
   * entries of Jobs git no longer has are dropped.
   */
  async jobsRan(jobs: ReadonlyMap<string, string>, completed: readonly string[]): Promise<void> {
    const ran = completed.flatMap((n) => jobs.get(n) ?? []);
    // Also when none completed now: a Job git dropped loses its entry, so git adding it back runs it.
    const name = (e: string) => e.slice(0, e.lastIndexOf('@'));
    const fresh = new Set(completed);
    const old = this.status?.ranJobs ?? [];
    const next = [...old.filter((e) => jobs.has(name(e)) && !fresh.has(name(e))), ...ran].sort();
    if (next.join() !== [...old].sort().join()) await this.patch({ ranJobs: next });
  }

  /** An object is about to be deleted to be created again (an immutable change): an Event says so first. */
  async recreating(ref: ObjectRef): Promise<void> {
    await this.event({
      type: 'Normal',
      reason: 'Recreated',
      message: `${ref.kind}/${ref.name}: deleted and created again (a change that cannot be made in place)`,
    });
  }

  /** Whether the namespace is suspended by its annotation. */
  get isSuspended(): boolean {
    return this.version.metadata.annotations?.[suspendAnnotation] === 'true';
  }

  /** Suspended by the annotation: nothing is applied, pruned or repaired; `head` is not taken up. */
  async suspended(head: string): Promise<void> {
    const message = `suspended by ${suspendAnnotation}: apply, prune and drift repair stop; the head is ${head}`;
    await this.suspension('True', 'Suspended', message);
  }

  /** The annotation is gone: the pass goes on and takes up the head. Nothing is written if never suspended. */
  async resumed(head: string): Promise<void> {
    if (this.conditionIs('Suspended', 'True'))
      await this.suspension('False', 'Resumed', `resumed at ${head}`);
  }

  /** The Suspended condition, with an Event when it turns. */
  private async suspension(status: 'True' | 'False', reason: 'Suspended' | 'Resumed', message: string) {
    if (!this.conditionIs('Suspended', status)) await this.event({ type: 'Normal', reason, message });
    await this.patch({
      conditions: setConditions(this.status?.conditions, { type: 'Suspended', status, reason, message }),
    });
  }

  /** Whether the config repo can be read (SourceAvailable); `repo` is shown without credentials. */
  async source(err: SourceError | undefined, repo: string): Promise<void> {
    await this.patch({
      conditions: setConditions(this.status?.conditions, {
        type: 'SourceAvailable',
        status: err ? 'False' : 'True',
        reason: err ? err.reason : 'Fetched',
        message: err ? err.message : `following ${displayUrl(repo)}`,
      }),
    });
  }

  /**
   * Sends every pending delivery; what fails stays pending for the next flush (or restart).
   * `budgetMs` bounds a delivery on the way (the moment an outcome is decided): a slow or hung
   * sink then costs the rollout a few seconds, and the delivery waits for the next flush.
   */
  async deliver(stop?: AbortSignal, budgetMs?: number, shutdown?: AbortSignal): Promise<void> {
    const pending = this.status?.pending ?? [];
    if (pending.length === 0) return;
    const budget = budgetMs === undefined ? undefined : AbortSignal.timeout(budgetMs);
    const signal = budget && stop ? AbortSignal.any([stop, budget]) : (budget ?? stop);
    const deps = { ...this.deps, log: this.log, namespace: this.version.metadata.namespace };
    const { sent, left, changed } = await dispatch(pending, deps, {
      signal,
      stop,
      onTheWay: !!budget,
      shutdown,
    });
    if (!changed) return;
    const told: Record<string, DeploymentState> = {};
    for (const d of sent) this.markTold(d, told);
    const files = sent.flatMap((d) => (d.sink ? [] : [d.key])); // S3 keys written
    const history = historyNotified(this.status?.history, files, nowIso());
    await this.patch({ pending: left, deployments: told, ...(history ? { history } : {}) });
  }

  /** The pending deliveries, or 0 when all went out. */
  get undelivered(): number {
    return this.status?.pending?.length ?? 0;
  }

  /** An S3 file `cluster/namespace/deployment/sha7[.failed]` is out: that deployment's state is told. */
  private markTold(d: PendingFile, told: Record<string, DeploymentState>): void {
    const file = d.sink ? undefined : parseKey(d.key);
    const state = file && this.status?.deployments?.[file.deployment];
    if (file && state?.sha === file.sha7) told[file.deployment] = { ...state, notified: true };
  }

  /** Records outcomes and delivers them at once (bounded); false when nothing was new. */
  private async decided(
    outcomes: readonly Outcome[],
    history?: HistoryEntry[],
    news: readonly CommitNews[] = [],
  ): Promise<boolean> {
    const { decided, patch, rider } = this.told(outcomes, news);
    if (!patch) return false;
    await this.patch({ ...patch, ...(history ? { history } : {}) });
    this.log.debug({ decided: outcomes.map((o) => `${o.deployment}/${short(o.sha)}`) }, 'outcomes decided');
    await this.deliver(this.stop, inlineDeliveryMs);
    if (rider) await this.riderDeployed(rider);
    return decided;
  }

  /** Tells the sinks a commit's state (`sha` may be short: the full one is looked up), at once. */
  private async tell(news: CommitNews): Promise<void> {
    const sha = fullSha(this.status, news.sha);
    const patch = sha && tellCommits(this.status, this.target, [{ ...news, sha }]);
    if (!patch) return;
    await this.patch(patch);
    await this.deliver(this.stop, inlineDeliveryMs);
  }

  private get target() {
    return { namespace: this.version.metadata.namespace, sinks: this.deps.sinks };
  }

  private outcomes(outcomes: readonly Outcome[]) {
    return recordOutcomes(this.status, this.target, outcomes);
  }

  /**
   * Outcomes of Deployments and news of commits, queued in one patch (undefined: nothing new);
   * `decided`: whether a Deployment outcome was new; `rider`: a commit they made deployed.
   */
  private told(outcomes: readonly Outcome[], news: readonly CommitNews[]) {
    const decided = this.outcomes(outcomes);
    const riders = ridersSettled(this.status, outcomes, decided?.deployments);
    const commits = tellCommits(this.status, this.target, news, decided?.pending);
    return {
      decided: decided !== undefined,
      rider: riders?.deployed,
      patch:
        decided || commits || riders
          ? { ...decided, ...commits, ...(riders ? { riding: riders.riding } : {}) }
          : undefined,
    };
  }

  private conditionIs(type: Condition['type'], status: Condition['status']): boolean {
    return this.status?.conditions?.some((c) => c.type === type && c.status === status) ?? false;
  }

  private async patch(p: VersionStatusPatch): Promise<void> {
    this.version = await this.deps.versions.patchStatus(this.version, p);
  }

  private event(e: VersionEvent): Promise<void> {
    return recordEvent(this.deps.client, this.deps.log, this.version, e);
  }
}

/** The commit's subject and author, for what the sinks are told. */
const about = (c: Commit) => ({ subject: c.message, author: c.author });
