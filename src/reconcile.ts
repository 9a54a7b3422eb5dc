// One reconcile of one namespace: manifests → plan → apply → prune, then rollout.ts: health →
// notify → record.
import type { Config } from './config.ts';
import { failpoint } from './failpoint.ts';
import { applyObjects } from './kube/apply.ts';
import type { KubeClient } from './kube/client.ts';
import { hashAnnotation } from './kube/labels.ts';
import type { RestMapper } from './kube/mapping.ts';
import { ApplySetError, plan } from './kube/plan.ts';
import { prune } from './kube/prune.ts';
import { desired } from './kube/ssa.ts';
import type { Logger } from './log.ts';
import { ManifestError, ManifestSetError } from './manifests/errors.ts';
import { loadNamespace } from './manifests/load.ts';
import { type KubeObject, type ObjectRef, refKey, refOf } from './manifests/object.ts';
import type { Metrics } from './metrics.ts';
import type { Notifier } from './notify/s3.ts';
import { awaitRollout, flushPending, inlineFlushMs } from './rollout.ts';
import type { Commit, GitSource } from './source/git.ts';
import { redact } from './source/redact.ts';
import { setCondition } from './version/conditions.ts';
import { recordEvent } from './version/events.ts';
import { type FailureReason, recordOutcomes, startRollouts, waiting } from './version/outcomes.ts';
import type { VersionStore } from './version/store.ts';
import type { Version } from './version/types.ts';

export interface Deps {
  config: Config;
  client: KubeClient;
  mapper: RestMapper;
  git: GitSource;
  versions: VersionStore;
  notifier: Notifier | undefined;
  log: Logger;
  /** S3 writes are counted here when set. */
  metrics?: Metrics | undefined;
  /** The last manifest set (or its error) per namespace: an idle interval re-reads nothing from git. */
  manifests: Map<string, Promise<Prepared>>;
}

/** A namespace's objects at a sha as they are sent (hashed), or why the set is invalid. */
type Prepared =
  | {
      sha: string;
      objects: KubeObject[];
      /** Kind/name → file:line, so a dry-run or apply error names the file as a manifest error does. */
      where: Map<string, string>;
      ms: number;
    }
  | { sha: string; error: unknown };

/** Loads, validates and hashes a namespace's set once per sha (an invalid set is remembered too). */
function prepared(deps: Deps, ns: string, sha: string): Promise<Prepared> {
  const cached = deps.manifests.get(ns);
  if (cached) return cached.then((c) => (c.sha === sha ? c : load()));
  return load();
  function load(): Promise<Prepared> {
    const started = performance.now();
    const p = loadNamespace(deps.git, sha, deps.config.clusterName, ns).then(
      (set) => {
        const where = new Map<string, string>();
        for (const o of set.objects) {
          const at = `${o.object.kind}/${o.object.metadata.name}`;
          if (!where.has(at)) where.set(at, `${o.source.replace(/#\d+$/, '')}:${o.line}`);
        }
        const objects = set.objects.map((o) => desired(o.object, ns));
        return { sha, objects, where, ms: Math.round(performance.now() - started) };
      },
      (error: unknown) => {
        // Only a verdict on the files is kept; a git hiccup is tried again next time.
        const verdict = error instanceof ManifestSetError || error instanceof ManifestError;
        if (!verdict && deps.manifests.get(ns) === p) deps.manifests.delete(ns);
        return { sha, error };
      },
    );
    deps.manifests.set(ns, p);
    return p;
  }
}

export interface ReconcileOptions {
  dryRun?: boolean;
  /** false: apply and record `applied`, but do not wait for the rollout (sync --once --no-wait). */
  wait?: boolean;
  signal?: AbortSignal;
}

export interface ReconcileResult {
  namespace: string;
  sha: string;
  ok: boolean;
  changed: ObjectRef[];
  unchanged: number;
  pruned: ObjectRef[];
  ready: boolean;
  error?: string;
  /** Machine-readable cause of `error` (InvalidManifests, ApplyFailed, RolloutTimeout …). */
  reason?: string;
  /** S3 files still waiting for delivery after this pass. */
  pending?: number;
  /** This pass applied the set (its sha is now `applied`). */
  applied?: boolean;
}

const short = (sha: string) => sha.slice(0, 7);

export async function reconcile(
  deps: Deps,
  ns: string,
  commit: Commit,
  opts: ReconcileOptions = {},
): Promise<ReconcileResult> {
  const { config, client, mapper, versions, log } = deps;
  const sha = commit.sha;
  const sha7 = short(sha);
  const nlog = log.child({ namespace: ns, sha: sha7 });
  const result: ReconcileResult = {
    namespace: ns,
    sha,
    ok: false,
    changed: [],
    unchanged: 0,
    pruned: [],
    ready: false,
  };
  const t0 = performance.now();
  const manifests = prepared(deps, ns, sha); // read from git while the Version is fetched
  let version = opts.dryRun ? await versions.find(ns).catch(() => undefined) : await versions.get(ns);
  nlog.debug({ ms: Math.round(performance.now() - t0) }, 'version read');
  /**
   * Records a failure of this sha. A definite one (`signal`: the set is invalid or the apiserver
   * refused it) gives each Deployment CI could wait on its `.failed` file; a transient one (the
   * apiserver or the network failed) is tried again next poll and tells CI nothing yet.
   */
  const fail = async (
    reason: FailureReason | 'PruneFailed' | 'SourceUnavailable',
    message: string,
    signal?: readonly string[],
  ): Promise<ReconcileResult> => {
    const safe = redact(message);
    nlog.error({ reason }, safe);
    if (!version || opts.dryRun) return { ...result, error: safe, reason };
    if (version.status?.lastError !== safe) {
      const event = reason === 'InvalidManifests' || reason === 'DryRunRejected' ? reason : 'ApplyFailed';
      await recordEvent(client, log, version, 'Warning', event, safe);
    }
    const told = signal
      ? recordOutcomes(
          version.status,
          config.clusterName,
          ns,
          signal.map((deployment) => ({ deployment, sha, reason: reason as FailureReason, message: safe })),
        )
      : undefined;
    version = await versions.patchStatus(version, {
      ...told,
      lastError: safe,
      conditions: setCondition(
        setCondition(version.status?.conditions, {
          type: 'Stalled',
          status: 'True',
          reason,
          message: safe,
        }),
        { type: 'Ready', status: 'False', reason, message: safe },
      ),
    });
    // The cluster still runs the last applied set: its rollout still decides that sha's outcome.
    // The failure files go out now, not after the live set's rollout wait below.
    version = await flushPending(deps, version, nlog, opts.signal, inlineFlushMs);
    if (opts.wait !== false) version = await followApplied(deps, ns, version, nlog, opts.signal);
    version = await flushPending(deps, version, nlog, opts.signal);
    return { ...result, error: safe, reason, pending: version.status?.pending?.length ?? 0 };
  };
  const inventoryDeployments = () =>
    (version?.status?.inventory ?? []).filter((r) => r.kind === 'Deployment').map((r) => r.name);

  // manifests
  const m = await manifests;
  if ('error' in m) {
    const err = m.error;
    if (!(err instanceof ManifestSetError || err instanceof ManifestError))
      return fail('SourceUnavailable', (err as Error).message); // git could not be read: try again
    const parsed = err instanceof ManifestSetError ? err.parsed : [];
    const named = parsed.filter((o) => o.kind === 'Deployment').map((o) => o.name);
    return fail('InvalidManifests', err.message, [...new Set([...inventoryDeployments(), ...named])]);
  }
  const { objects, where } = m;
  nlog.debug({ ms: m.ms, objects: objects.length }, 'manifests loaded');
  failpoint('after-fetch', ns);

  // plan + apply
  const ctx = {
    client,
    mapper,
    namespace: ns,
    concurrency: config.applyConcurrency,
    force: config.forceConflicts,
    // No abort signal: a shutdown or a newer commit never cuts a write in half; they stop the
    // reconcile between steps and end the rollout wait instead.
  };
  const refs = objects.map(refOf);
  const previous = version?.status?.inventory ?? [];
  const current = new Set(refs.map(refKey));
  const stale = previous.filter((r) => !current.has(refKey(r)));
  const deployments = new Map(
    objects
      .filter((o) => o.kind === 'Deployment')
      .map((o) => [o.metadata.name, o.metadata.annotations?.[hashAnnotation] ?? ''] as const),
  );
  let stage: 'DryRunRejected' | 'ApplyFailed' = 'DryRunRejected';
  try {
    const planStart = performance.now();
    const p = await plan(ctx, objects);
    // listMs: the reads a plan needs (one LIST per kind); the rest is dry-runs and comparing.
    nlog.debug(
      { ms: Math.round(performance.now() - planStart), listMs: p.listMs, changed: p.changed.length },
      'planned',
    );
    result.changed = p.changed.map(refOf);
    result.unchanged = p.unchanged.length;
    if (opts.dryRun) {
      const pr = await prune(client, mapper, ns, stale, true);
      return { ...result, ok: true, pruned: pr.deleted };
    }
    if (opts.signal?.aborted) return { ...result, error: 'stopped before applying' };
    stage = 'ApplyFailed';
    if (p.changed.length > 0) {
      const applyStart = performance.now();
      await applyObjects(ctx, p.changed);
      nlog.debug({ ms: Math.round(performance.now() - applyStart) }, 'apply requests done');
      nlog.info({ applied: p.changed.length, unchanged: p.unchanged.length }, 'applied');
    }
  } catch (err) {
    const message = err instanceof ApplySetError ? located(err, where) : (err as Error).message;
    if (!definite(err)) return fail('ApplyFailed', message); // no signal: the next poll tries again
    return fail(stage, message, [...deployments.keys()]);
  }
  failpoint('after-apply', ns);
  let v = version as Version;
  if (v.applied !== sha7 || result.changed.length > 0) {
    const what = result.changed.length ? `${result.changed.length} objects changed` : 'no object changed';
    await recordEvent(client, log, v, 'Normal', 'Applied', `applied ${sha7} (${commit.message}): ${what}`);
  }
  v = await versions.setTop(v, { applied: sha7 });
  result.applied = true;
  // Each Deployment now rolls out this sha; one still waiting at an older sha either carries that
  // wait on (spec unchanged) or the older sha is superseded.
  const started = startRollouts(v.status, sha, deployments);
  const superseded = recordOutcomes(v.status, config.clusterName, ns, started.superseded);
  // Empty on a resync of the same sha: no key, so an unchanged status is not written again.
  const states = { ...superseded?.deployments, ...started.deployments };
  v = await versions.patchStatus(v, {
    commit: sha,
    author: commit.author,
    message: commit.message,
    // The stale objects stay in the inventory until they are pruned: a prune cut short (a crash,
    // an error) is finished by the next pass.
    inventory: [...refs, ...stale],
    ...superseded,
    ...(Object.keys(states).length ? { deployments: states } : {}),
    lastError: '',
    conditions: setCondition(v.status?.conditions, {
      type: 'Stalled',
      status: 'False',
      reason: 'Applied',
      message: `applied ${sha7}`,
    }),
  });

  // prune
  if (stale.length > 0) {
    try {
      const pr = await prune(client, mapper, ns, stale);
      result.pruned = pr.deleted;
      if (pr.deleted.length) {
        const list = pr.deleted.map((r) => `${r.kind}/${r.name}`);
        nlog.info({ pruned: list }, 'pruned');
        await recordEvent(client, log, v, 'Normal', 'Pruned', `pruned ${list.join(', ')} (no longer in git)`);
      }
      if (pr.kept.length)
        nlog.info({ kept: pr.kept.map((r) => `${r.kind}/${r.name}`) }, 'kept by annotation');
    } catch (err) {
      version = v;
      return fail('PruneFailed', (err as Error).message);
    }
    v = await versions.patchStatus(v, { inventory: refs });
  }

  // Superseded files (and any left by an earlier pass) go out before the rollout wait.
  v = await flushPending(deps, v, nlog, opts.signal, inlineFlushMs);
  if (opts.wait === false) return { ...result, ok: true };

  // health + notify + record
  const rollout = await awaitRollout(deps, { ns, commit, refs, version: v, log: nlog, signal: opts.signal });
  v = await flushPending(deps, rollout.version, nlog, opts.signal);
  return {
    ...result,
    ok: rollout.ready,
    ready: rollout.ready,
    ...(rollout.error ? { error: rollout.error, reason: rollout.reason } : {}),
    pending: v.status?.pending?.length ?? 0,
  };
}

/**
 * The apiserver refused the set (invalid, forbidden, conflict, unknown kind): the same commit
 * fails the same way again. A network error, a timeout or a 5xx may not: retried, no signal.
 */
function definite(err: unknown): boolean {
  if (!(err instanceof ApplySetError)) return false;
  return err.failures.every((f) => f.status >= 400 && f.status < 500 && f.status !== 408 && f.status !== 429);
}

/**
 * After a failure at the head: Deployments still waiting at the applied sha are watched until
 * their rollout decides (the Version's conditions keep the head's error).
 */
async function followApplied(
  deps: Deps,
  ns: string,
  v: Version,
  nlog: Logger,
  signal: AbortSignal | undefined,
): Promise<Version> {
  const applied = v.status?.commit;
  const states = Object.values(v.status?.deployments ?? {});
  if (!applied || !states.some((st) => waiting(st) && st.sha === applied.slice(0, 7))) return v;
  const commit = { sha: applied, author: v.status?.author ?? '', message: v.status?.message ?? '' };
  const refs = v.status?.inventory ?? [];
  return (await awaitRollout(deps, { ns, commit, refs, version: v, log: nlog, signal, conditions: false }))
    .version;
}

/** Plan/apply failures, each prefixed with the file and line of its object. */
function located(err: ApplySetError, where: ReadonlyMap<string, string>): string {
  return err.failures
    .map((f) => {
      // A failed LIST of a kind is reported as Kind/*: name the first file with that kind.
      const kind = `${f.object.slice(0, f.object.indexOf('/'))}/`;
      const at =
        where.get(f.object) ??
        (f.object.endsWith('/*') ? [...where].find(([k]) => k.startsWith(kind))?.[1] : undefined);
      const what = f.message.startsWith(`${f.object}: `) ? f.message : `${f.object}: ${f.message}`;
      return at ? `${at}: ${what}` : what;
    })
    .join('; ');
}
