// What every stage of a sync pass shares: the operator's parts, the namespace and commit being
// synced, a logger bound to them, and the result the stages fill in.
import { join } from 'node:path';
import type { Config } from '../config.ts';
import type { KubeClient } from '../kube/client.ts';
import { RestMapper } from '../kube/mapping.ts';
import type { Logger } from '../log.ts';
import type { KubeObject, ObjectRef } from '../manifests/object.ts';
import type { Metrics } from '../metrics.ts';
import type { Sink } from '../notify/sink.ts';
import { type Commit, GitSource } from '../source/git.ts';
import { short } from '../source/sha.ts';
import type { SyncFailureReason } from '../version/reasons.ts';
import { Recorder, type RecorderDeps } from '../version/recorder.ts';
import { VersionStore } from '../version/store.ts';

export interface Deps {
  config: Config;
  client: KubeClient;
  mapper: RestMapper;
  git: GitSource;
  versions: VersionStore;
  /** Where decided outcomes go (the S3 files when a bucket is set). */
  sinks: Sink[];
  log: Logger;
  /** Deliveries are counted here when set. */
  metrics?: Metrics | undefined;
  /** The last manifest set (or its error) per namespace: an idle interval re-reads nothing from git. */
  manifests: Map<string, Promise<Prepared>>;
}

/** The parts a pass needs, built from the configuration and a client: the operator's and `diff`'s. */
export function buildDeps(
  config: Config,
  client: KubeClient,
  log: Logger,
  extra: Pick<Deps, 'sinks' | 'metrics'> & {
    /** Log the source's one-time notices (a server without filters); `diff` keeps its stderr to its verdict. */
    sourceNotices?: boolean;
  },
): Deps {
  return {
    config,
    client,
    mapper: new RestMapper(client),
    git: new GitSource({
      url: config.configRepo,
      branch: config.configBranch,
      cacheDir: join(config.workDir, 'repo.git'),
      sshKeyFile: config.sshKeyFile,
      sshKnownHostsFile: config.sshKnownHostsFile,
      // Only these folders' files are fetched with each commit, not every cluster's.
      folders: config.managedNamespaces.map((ns) => `${config.clusterName}/${ns}`),
      log: extra.sourceNotices ? log : undefined,
    }),
    versions: new VersionStore(client),
    log,
    manifests: new Map(),
    sinks: extra.sinks,
    metrics: extra.metrics,
  };
}

/** A namespace's objects at a sha as they are sent (hashed), or why the set is invalid. */
export type Prepared =
  | {
      sha: string;
      objects: KubeObject[];
      /** Kind/name → file:line, so a dry-run or apply error names the file as a manifest error does. */
      where: Map<string, string>;
      ms: number;
    }
  | { sha: string; error: unknown };

export interface ReconcileOptions {
  dryRun?: boolean;
  /** false: apply and record `applied`, but do not wait for the rollout (sync --once --no-wait). */
  wait?: boolean;
  /** Stops the pass between stages and ends its rollout wait: a shutdown or a newer commit. */
  signal?: AbortSignal;
  /**
   * A shutdown only (not a newer commit): ends the pre phase's wait. A migration Job already
   * started is waited for, never abandoned to a newer commit that would recreate it mid-run.
   */
  shutdown?: AbortSignal;
  /** Called once the pass's busy part is over and it starts waiting for the rollout. */
  waiting?: () => void;
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
  reason?: SyncFailureReason;
  /** Deliveries (S3 files) still pending after this pass. */
  pending?: number;
  /** This pass applied the set (its sha is now `applied`). */
  applied?: boolean;
  /** The namespace is suspended (its Version's annotation): nothing was applied or pruned. */
  suspended?: boolean;
}

/** A result before any stage ran: nothing changed, nothing ready. */
export const notDone = (namespace: string, sha: string): ReconcileResult => ({
  namespace,
  sha,
  ok: false,
  changed: [],
  unchanged: 0,
  pruned: [],
  ready: false,
});

/** One pass over one namespace at one commit. */
export interface SyncContext {
  deps: Deps;
  ns: string;
  commit: Commit;
  sha7: string;
  log: Logger;
  opts: ReconcileOptions;
  /** Filled in by the stages; returned by reconcile(). */
  result: ReconcileResult;
  /** The set's Deployments (name → applied-hash), once its manifests are read. */
  deployments?: ReadonlyMap<string, string>;
}

export function syncContext(deps: Deps, ns: string, commit: Commit, opts: ReconcileOptions): SyncContext {
  const sha7 = short(commit.sha);
  return {
    deps,
    ns,
    commit,
    sha7,
    log: deps.log.child({ namespace: ns, sha: sha7 }),
    opts,
    result: notDone(ns, commit.sha),
  };
}

/** What a Recorder needs of the operator's parts. */
export const recorderDeps = (deps: Deps): RecorderDeps => ({ ...deps, cluster: deps.config.clusterName });

/**
 * The recorder of this pass over the namespace's Version (created when missing). A dry run records
 * nothing: it gets none, and reads the Version only if it exists.
 */
export async function openRecorder(
  ctx: SyncContext,
): Promise<{ recorder?: Recorder; inventory: ObjectRef[]; ranJobs: string[] }> {
  const { deps, ns, opts, log } = ctx;
  const t0 = performance.now();
  if (opts.dryRun) {
    const v = await deps.versions.find(ns).catch(() => undefined);
    return { inventory: v?.status?.inventory ?? [], ranJobs: v?.status?.ranJobs ?? [] };
  }
  const recorder = new Recorder(recorderDeps(deps), await deps.versions.get(ns), log, opts.signal);
  log.debug({ ms: Math.round(performance.now() - t0) }, 'version read');
  return { recorder, inventory: recorder.status?.inventory ?? [], ranJobs: recorder.status?.ranJobs ?? [] };
}
