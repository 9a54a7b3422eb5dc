// After the apply: wait for the workloads, remember each healthy or failed Deployment with its S3
// file (pending until delivered), and record deployed / Ready on the Version.

import { failpoint } from './failpoint.ts';
import { waitForRollout } from './health/wait.ts';
import type { Logger } from './log.ts';
import type { ObjectRef } from './manifests/object.ts';
import type { Deps } from './reconcile.ts';
import type { Commit } from './source/git.ts';
import { redact } from './source/redact.ts';
import { setCondition } from './version/conditions.ts';
import { recordEvent } from './version/events.ts';
import { nowIso, type Outcome, recordOutcomes } from './version/outcomes.ts';
import type { DeploymentState, PendingFile, Version } from './version/types.ts';

/** How long a write on the way may hold a reconcile (the full flush at its end has no bound). */
export const inlineFlushMs = 2_000;

/** status.lastSyncTime is refreshed this often when nothing else changes. */
const lastSyncRefreshMs = 5 * 60_000;

export interface Rollout {
  version: Version;
  ready: boolean;
  error?: string;
  /** RolloutTimeout or RolloutFailed. */
  reason?: string;
}

export interface RolloutTarget {
  ns: string;
  commit: Commit;
  refs: readonly ObjectRef[];
  version: Version;
  log: Logger;
  signal: AbortSignal | undefined;
  /** false: decide outcomes and `deployed` only; the conditions belong to a failed head. */
  conditions?: boolean;
}

export async function awaitRollout(deps: Deps, t: RolloutTarget): Promise<Rollout> {
  const { config, client, mapper, versions, log } = deps;
  const { ns, commit, refs, log: nlog, signal } = t;
  const conditions = t.conditions !== false;
  const sha = commit.sha;
  const sha7 = sha.slice(0, 7);
  let v = t.version;
  const deployments = refs.filter((r) => r.kind === 'Deployment').map((r) => r.name);
  const states = v.status?.deployments ?? {};
  // Every Deployment of this sha already failed: only re-checked, not waited for again.
  const alreadyFailed =
    deployments.length > 0 && deployments.every((d) => states[d]?.sha === sha7 && states[d]?.failed);
  if (conditions && !(v.deployed === sha7 && deployments.every((d) => states[d]?.healthyAt))) {
    v = await versions.patchStatus(v, {
      conditions: setCondition(v.status?.conditions, {
        type: 'Reconciling',
        status: 'True',
        reason: 'Progressing',
        message: `waiting for rollout of ${sha7}`,
      }),
    });
  }
  /** This sha and the older ones carried on with the same spec: one rollout decides them all. */
  const shasOf = (d: string) => {
    const st = v.status?.deployments?.[d];
    return [sha7, ...(st?.sha === sha7 ? (st.also ?? []) : [])];
  };
  /** True when something was new. */
  const record = async (outcomes: Outcome[]): Promise<boolean> => {
    const patch = recordOutcomes(v.status, config.clusterName, ns, outcomes);
    if (!patch) return false;
    v = await versions.patchStatus(v, patch);
    // Each file goes out as soon as it is decided: CI never waits for the other workloads.
    v = await flushPending(deps, v, nlog, signal, inlineFlushMs);
    return true;
  };
  const wait = await waitForRollout(client, mapper, ns, refs, {
    timeoutMs: alreadyFailed ? 2_000 : config.rolloutTimeoutSeconds * 1000,
    signal,
    onReady: async (ref) => {
      if (ref.kind !== 'Deployment') return;
      const healthyAt = nowIso();
      // Once per (deployment, sha): pairs decided before are skipped.
      if (await record(shasOf(ref.name).map((s) => ({ deployment: ref.name, sha: s, healthyAt }))))
        nlog.info({ deployment: ref.name }, 'deployment healthy');
    },
  });
  const ready = wait.notReady.length === 0;
  if (ready) {
    if (conditions && v.deployed !== sha7) {
      await recordEvent(
        client,
        log,
        v,
        'Normal',
        'Deployed',
        `${sha7} is healthy: every workload rolled out`,
      );
    }
    v = await versions.setTop(v, { deployed: sha7 });
    if (!conditions) return { version: v, ready };
    let conds = setCondition(v.status?.conditions, {
      type: 'Ready',
      status: 'True',
      reason: 'Deployed',
      message: `${sha7} is healthy`,
    });
    conds = setCondition(conds, {
      type: 'Reconciling',
      status: 'False',
      reason: 'Deployed',
      message: `${sha7} is healthy`,
    });
    // A heartbeat, not a write per interval: an idle namespace costs the apiserver no write.
    const last = Date.parse(v.status?.lastSyncTime ?? '');
    const beat = !(Date.now() - last < lastSyncRefreshMs);
    v = await versions.patchStatus(v, { conditions: conds, ...(beat ? { lastSyncTime: nowIso() } : {}) });
  } else if (!signal?.aborted) {
    const reason = wait.timedOut ? 'RolloutTimeout' : 'RolloutFailed';
    const detail = wait.notReady.map((n) => n.reason).join('; ');
    const why = wait.timedOut
      ? `rollout not done after ${config.rolloutTimeoutSeconds} s: ${detail}`
      : `rollout failed: ${detail}`;
    await record(
      wait.notReady
        .filter((n) => n.ref.kind === 'Deployment')
        .flatMap((n) =>
          shasOf(n.ref.name).map(
            (s) => ({ deployment: n.ref.name, sha: s, reason, message: n.reason }) as const,
          ),
        ),
    );
    if (!conditions) return { version: v, ready, error: why, reason };
    let conds = setCondition(v.status?.conditions, { type: 'Ready', status: 'False', reason, message: why });
    conds = setCondition(conds, {
      type: 'Reconciling',
      status: 'False',
      reason: 'RolloutFailed',
      message: why,
    });
    if (v.status?.lastError !== why) await recordEvent(client, log, v, 'Warning', 'RolloutFailed', why);
    v = await versions.patchStatus(v, { conditions: conds, lastError: why });
    nlog.warn(why);
    return { version: v, ready, error: why, reason };
  }
  return { version: v, ready };
}

/**
 * Writes every pending S3 file; what fails stays pending for the next interval (or restart).
 * `budgetMs` bounds a write on the way (the moment a file is decided): a slow or hung S3 then
 * costs the rollout a few seconds, and the file waits for the next flush.
 */
export async function flushPending(
  deps: Deps,
  v: Version,
  log: Logger,
  stop?: AbortSignal,
  budgetMs?: number,
): Promise<Version> {
  const pending = v.status?.pending ?? [];
  if (pending.length === 0) return v;
  const budget = budgetMs === undefined ? undefined : AbortSignal.timeout(budgetMs);
  const signal = budget ? (stop ? AbortSignal.any([stop, budget]) : budget) : stop;
  if (!deps.notifier) {
    return deps.versions.patchStatus(v, { pending: [] });
  }
  const left: PendingFile[] = [];
  const done: Record<string, DeploymentState> = {};
  for (const f of pending) {
    if (signal?.aborted) {
      left.push(f); // stopping (shutdown, newer commit): the next reconcile writes it
      continue;
    }
    try {
      failpoint('after-health', v.metadata.namespace);
      await deps.notifier.put(f.key, f.body, signal);
      failpoint('after-s3', v.metadata.namespace);
      log.info({ key: f.key }, 'S3 file written');
      deps.metrics?.s3Writes.inc({ result: 'ok' });
      // key = cluster/namespace/deployment/sha7[.failed]: mark that deployment's state as told.
      const deployment = f.key.split('/')[2] ?? '';
      const state = v.status?.deployments?.[deployment];
      if (state && (f.key.endsWith(`/${state.sha}`) || f.key.endsWith(`/${state.sha}.failed`))) {
        done[deployment] = { ...state, notified: true };
      }
    } catch (err) {
      deps.metrics?.s3Writes.inc({ result: 'error' });
      log.warn({ key: f.key }, `S3 write failed, will retry: ${redact((err as Error).message)}`);
      left.push(f);
    }
  }
  return deps.versions.patchStatus(v, { pending: left, deployments: done });
}
