// After the apply: wait for the workloads, remember each healthy or failed Deployment with its S3
// file (pending until delivered), and record deployed / Ready on the Version.

import { failpoint } from './failpoint.ts';
import { waitForRollout } from './health/wait.ts';
import type { Logger } from './log.ts';
import type { ObjectRef } from './manifests/object.ts';
import { completionKey, failureKey } from './notify/s3.ts';
import type { Deps } from './reconcile.ts';
import type { Commit } from './source/git.ts';
import { redact } from './source/redact.ts';
import { setCondition } from './version/conditions.ts';
import { recordEvent } from './version/events.ts';
import type { DeploymentState, PendingFile, Version } from './version/types.ts';

export const nowIso = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');

/** status.lastSyncTime is refreshed this often when nothing else changes. */
const lastSyncRefreshMs = 5 * 60_000;

export interface Rollout {
  version: Version;
  ready: boolean;
  error?: string;
  /** RolloutTimeout or RolloutFailed. */
  reason?: string;
}

export async function awaitRollout(
  deps: Deps,
  ns: string,
  commit: Commit,
  refs: readonly ObjectRef[],
  version: Version,
  nlog: Logger,
  signal: AbortSignal | undefined,
): Promise<Rollout> {
  const { config, client, mapper, versions, log } = deps;
  const sha = commit.sha;
  const sha7 = sha.slice(0, 7);
  let v = version;
  const deployments = refs.filter((r) => r.kind === 'Deployment').map((r) => r.name);
  const states = v.status?.deployments ?? {};
  const alreadyFailed = deployments.some((d) => states[d]?.sha === sha7 && states[d]?.failed);
  if (!(v.deployed === sha7 && deployments.every((d) => states[d]?.sha === sha7 && states[d]?.healthyAt))) {
    v = await versions.patchStatus(v, {
      conditions: setCondition(v.status?.conditions, {
        type: 'Reconciling',
        status: 'True',
        reason: 'Progressing',
        message: `waiting for rollout of ${sha7}`,
      }),
    });
  }
  const record = async (name: string, state: DeploymentState, file: PendingFile) => {
    v = await versions.patchStatus(v, {
      deployments: { [name]: state },
      pending: [...(v.status?.pending ?? []).filter((f) => f.key !== file.key), file],
    });
  };
  const wait = await waitForRollout(client, mapper, ns, refs, {
    // A sha that already failed is only re-checked, not waited for again.
    timeoutMs: alreadyFailed ? 2_000 : config.rolloutTimeoutSeconds * 1000,
    signal,
    onReady: async (ref) => {
      if (ref.kind !== 'Deployment') return;
      const prev = v.status?.deployments?.[ref.name];
      if (prev?.sha === sha7 && prev.healthyAt) return; // once per (deployment, sha)
      const at = nowIso();
      nlog.info({ deployment: ref.name }, 'deployment healthy');
      await record(
        ref.name,
        { sha: sha7, healthyAt: at, notified: false },
        {
          key: completionKey(config.clusterName, ns, ref.name, sha),
          body: at,
        },
      );
    },
  });
  const ready = wait.notReady.length === 0;
  if (ready) {
    if (v.deployed !== sha7) {
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
    const reason = wait.notReady.map((n) => n.reason).join('; ');
    const why = wait.timedOut
      ? `rollout not done after ${config.rolloutTimeoutSeconds} s: ${reason}`
      : `rollout failed: ${reason}`;
    for (const n of wait.notReady) {
      if (n.ref.kind !== 'Deployment') continue;
      const prev = v.status?.deployments?.[n.ref.name];
      if (prev?.sha === sha7 && (prev.failed || prev.healthyAt)) continue;
      await record(
        n.ref.name,
        { sha: sha7, failed: n.reason, notified: false },
        {
          key: failureKey(config.clusterName, ns, n.ref.name, sha),
          body: `${nowIso()} ${wait.timedOut ? 'timeout: ' : ''}${n.reason}\n`,
        },
      );
    }
    let conds = setCondition(v.status?.conditions, {
      type: 'Ready',
      status: 'False',
      reason: wait.timedOut ? 'RolloutTimeout' : 'RolloutFailed',
      message: why,
    });
    conds = setCondition(conds, {
      type: 'Reconciling',
      status: 'False',
      reason: 'RolloutFailed',
      message: why,
    });
    if (v.status?.lastError !== why) await recordEvent(client, log, v, 'Warning', 'RolloutFailed', why);
    v = await versions.patchStatus(v, { conditions: conds, lastError: why });
    nlog.warn(why);
    return { version: v, ready, error: why, reason: wait.timedOut ? 'RolloutTimeout' : 'RolloutFailed' };
  }
  return { version: v, ready };
}

/** Writes every pending S3 file; what fails stays pending for the next interval (or restart). */
export async function flushPending(
  deps: Deps,
  v: Version,
  log: Logger,
  signal?: AbortSignal,
): Promise<Version> {
  const pending = v.status?.pending ?? [];
  if (pending.length === 0) return v;
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
      // key = cluster/namespace/deployment/sha7[.failed]: mark that deployment's state as told.
      const deployment = f.key.split('/')[2] ?? '';
      const state = v.status?.deployments?.[deployment];
      if (state && (f.key.endsWith(`/${state.sha}`) || f.key.endsWith(`/${state.sha}.failed`))) {
        done[deployment] = { ...state, notified: true };
      }
    } catch (err) {
      log.warn({ key: f.key }, `S3 write failed, will retry: ${redact((err as Error).message)}`);
      left.push(f);
    }
  }
  return deps.versions.patchStatus(v, { pending: left, deployments: done });
}
