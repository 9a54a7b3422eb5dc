import { type Config, ConfigError, type Env, loadConfig, logLevel } from '../config.ts';
import { ifFound, KubeClient } from '../kube/client.ts';
import { fieldChanges, formatDiffs, type ObjectDiff, summary } from '../kube/diff.ts';
import { settleLimit } from '../kube/pool.ts';
import { ApplySetError, setError } from '../kube/set-error.ts';
import { serverSideApply } from '../kube/ssa.ts';
import { createLogger } from '../log.ts';
import { ManifestSetError } from '../manifests/errors.ts';
import { parseSet } from '../manifests/load.ts';
import { localFiles } from '../manifests/local.ts';
import { type KubeObject, refKey, refOf } from '../manifests/object.ts';
import type { Commit } from '../source/git.ts';
import { redact } from '../source/redact.ts';
import { short } from '../source/sha.ts';
import { applyFailure } from '../sync/apply.ts';
import { buildDeps, type Deps, type Prepared, type SyncContext, syncContext } from '../sync/context.ts';
import { asSent, type ManifestSet, manifestFailure, prepared } from '../sync/manifests.ts';
import { planSet, type SyncPlan } from '../sync/plan.ts';
import { pruneWouldDelete } from '../sync/prune.ts';

/** What to compare: a local folder for one namespace, or namespaces of CONFIG_REPO at a commit. */
export type DiffSource =
  | { dir: string; namespace: string }
  | { sha?: string | undefined; namespaces: readonly string[] };

/** Where the sets come from: one folder, or one commit of the config repo. */
interface Target {
  commit: Commit;
  label(ns: string): string;
  set(ns: string): Promise<Prepared>;
}

/** One namespace's verdict: its lines for stdout, or one line for stderr. */
interface Outcome {
  code: 0 | 1 | 2;
  out?: string[];
  err?: string;
}

/** Exit 0 no difference, 1 differences, 2 an error (bad configuration throws ConfigError: exit 2). */
export async function diff(source: DiffSource, env: Env): Promise<number> {
  const deps = makeDeps(loadConfig(configEnv(source, env)), env);
  try {
    const target = 'dir' in source ? await localTarget(source.dir) : await gitTarget(deps, source.sha);
    const outcomes = await Promise.all(deps.config.managedNamespaces.map((ns) => compare(deps, ns, target)));
    for (const o of outcomes) {
      if (o.out) process.stdout.write(`${o.out.join('\n')}\n`);
      if (o.err) process.stderr.write(`diff: ${o.err}\n`);
    }
    return Math.max(...outcomes.map((o) => o.code));
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    process.stderr.write(`diff: ${redact((err as Error).message)}\n`);
    return 2;
  } finally {
    deps.client.close();
  }
}

/**
 * The configuration of a diff. A folder needs no git: its variables get stand-ins, so loadConfig
 * still checks the rest (FORCE_CONFLICTS, APPLY_CONCURRENCY, LOG_LEVEL).
 */
function configEnv(source: DiffSource, env: Env): Env {
  if ('dir' in source)
    return {
      ...env,
      CONFIG_REPO: 'file:///dev/null',
      CLUSTER_NAME: 'local',
      MANAGED_NAMESPACES: source.namespace,
    };
  return source.namespaces.length > 0 ? { ...env, MANAGED_NAMESPACES: source.namespaces.join(',') } : env;
}

/** The operator's parts: no S3 sink, logs on stderr. */
function makeDeps(config: Config, env: Env): Deps {
  const log = createLogger(logLevel(env), process.stderr);
  const client = new KubeClient({
    kubeconfig: env.KUBECONFIG,
    env,
    maxSockets: config.applyConcurrency * 2,
    log,
  });
  return buildDeps(config, client, log, { sinks: [] });
}

/** The head of CONFIG_BRANCH, or the commit `sha`, fetched. */
async function gitTarget(deps: Deps, sha: string | undefined): Promise<Target> {
  const { git } = deps;
  let fetched: string;
  try {
    fetched = sha ? await git.fetchCommit(sha) : await git.fetch(await git.head());
  } catch (err) {
    const what = sha ? `commit ${sha}` : 'the branch head';
    throw new Error(`cannot fetch ${what} of CONFIG_REPO: ${(err as Error).message}`);
  }
  return {
    commit: { sha: fetched, author: '', message: '' },
    label: (ns) => `${ns} @ ${short(fetched)}`,
    set: (ns) => prepared(deps, ns, fetched),
  };
}

/** A local namespace folder (as `validate DIR` reads it): its files, parsed as the operator does. */
async function localTarget(dir: string): Promise<Target> {
  const files = await localFiles(dir).catch((err: Error) => {
    throw new Error(`cannot read the folder ${dir}: ${err.message}`);
  });
  const sha = 'local';
  const set = (ns: string): Prepared => {
    try {
      return asSent(parseSet(dir, ns, files).objects, ns, sha);
    } catch (error) {
      if (!(error instanceof ManifestSetError)) throw error;
      return { sha, error };
    }
  };
  return {
    commit: { sha, author: '', message: '' },
    label: (ns) => `${ns} @ ${dir}`,
    set: async (ns) => set(ns),
  };
}

/** One namespace: its set against the cluster. */
async function compare(deps: Deps, ns: string, target: Target): Promise<Outcome> {
  const label = target.label(ns);
  const set = await target.set(ns);
  if ('error' in set) {
    const f = manifestFailure(set.error, []);
    if (f.reason !== 'InvalidManifests')
      return { code: 2, err: `${label}: cannot read git: ${redact(f.message)} (check CONFIG_REPO)` };
    return {
      code: 2,
      err: `${label}: invalid manifests, nothing compared: ${redact(f.message)} (git-sync-operator validate DIR lists each problem)`,
    };
  }
  const ctx = syncContext(deps, ns, target.commit, { dryRun: true });
  try {
    // The Version read as the pass reads it, but a refused read is an error here, not "no inventory".
    const status = (await deps.versions.find(ns))?.status;
    const p = await planSet(ctx, set, status?.inventory ?? [], status?.ranJobs ?? []);
    const [changes, pruned] = await Promise.all([liveDiffs(ctx, set, p), pruneWouldDelete(ctx, p.stale)]);
    const diffs: ObjectDiff[] = [...changes, ...pruned.map((ref) => ({ op: 'prune' as const, ref }))];
    const unchanged = set.objects.length - changes.length;
    return { code: diffs.length > 0 ? 1 : 0, out: [summary(label, diffs, unchanged), ...formatDiffs(diffs)] };
  } catch (err) {
    const message = redact(applyFailure(err, 'DryRunRejected', set, []).message);
    const what = err instanceof ApplySetError ? 'the cluster refused the dry-run' : 'cannot read the cluster';
    return { code: 2, err: `${label}: ${what}, nothing compared: ${message}` };
  }
}

/**
 * The objects the plan would write, each dry-run and compared with its live object (read whole:
 * it may exist without being ours yet). One whose only difference is bookkeeping (field owners)
 * is not a difference.
 */
async function liveDiffs(ctx: SyncContext, set: ManifestSet, p: SyncPlan): Promise<ObjectDiff[]> {
  const { client, mapper, config } = ctx.deps;
  const { results, errors } = await settleLimit(p.changed, config.applyConcurrency, async (o) => {
    const ref = refOf(o);
    const where = set.where.get(`${o.kind}/${o.metadata.name}`);
    // Its update was refused (immutable fields) and the plan chose delete and create instead.
    if (p.recreate.has(refKey(ref))) return { op: 'replace', ref, where } as const;
    const path = await mapper.path(o.apiVersion, o.kind, ctx.ns, o.metadata.name);
    const [next, live] = await Promise.all([
      serverSideApply(client, mapper, o, { dryRun: true, force: config.forceConflicts }),
      ifFound(client.json<KubeObject>('GET', path)),
    ]);
    if (!live) return { op: 'create', ref, where } as const;
    const fields = fieldChanges(live, next);
    return fields.length > 0 ? ({ op: 'change', ref, where, fields } as const) : undefined;
  });
  if (errors.length > 0) throw setError(errors);
  return results.filter((d) => d !== undefined);
}
