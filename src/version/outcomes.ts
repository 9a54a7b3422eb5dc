// The one place that decides a (deployment, sha) outcome and its S3 file: each pair gets exactly
// one — `<sha7>` when healthy, `<sha7>.failed` otherwise — and a pair decided once stays final
// (remembered in status.decided, so a restart or a force-push back to an old sha repeats nothing).
import { completionKey, failureKey } from '../notify/s3.ts';
import type { DeploymentState, DeploymentStatePatch, PendingFile, VersionStatus } from './types.ts';

/** Why a commit failed for a Deployment: the first word of its `.failed` file. */
export type FailureReason =
  | 'InvalidManifests'
  | 'DryRunRejected'
  | 'ApplyFailed'
  | 'RolloutTimeout'
  | 'RolloutFailed'
  | 'Superseded';

export type Outcome =
  | { deployment: string; sha: string; healthyAt: string }
  | { deployment: string; sha: string; reason: FailureReason; message: string };

/**
 * How many decided pairs are remembered per namespace (a ring: the oldest go first) — about 20 KiB
 * of status. A force-push back to a commit decided longer ago than that may be told again.
 */
export const decidedLimit = 1000;

export const nowIso = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');

const short = (sha: string) => sha.slice(0, 7);

export function isDecided(status: VersionStatus | undefined, deployment: string, sha: string): boolean {
  const s7 = short(sha);
  const st = status?.deployments?.[deployment];
  if (st?.sha === s7 && (st.healthyAt || st.failed)) return true;
  return status?.decided?.includes(`${deployment}/${s7}`) ?? false;
}

/** A state still waiting for its rollout's outcome. */
export const waiting = (st: DeploymentState | undefined): st is DeploymentState =>
  !!st && !st.healthyAt && !st.failed;

/** One line: a reason file is read by CI logs and `wait`, never multi-line. */
const oneLine = (s: string) => s.replace(/\s*\n\s*/g, ' ').trim();

export interface StatusPatch {
  pending: PendingFile[];
  decided: string[];
  deployments?: Record<string, DeploymentStatePatch>;
}

/**
 * The status patch that records `outcomes` (pairs already decided are skipped), or undefined when
 * nothing is new. A state rolling out at the decided sha is marked healthy or failed.
 */
export function recordOutcomes(
  status: VersionStatus | undefined,
  cluster: string,
  namespace: string,
  outcomes: readonly Outcome[],
): StatusPatch | undefined {
  const pending = [...(status?.pending ?? [])];
  const decided = [...(status?.decided ?? [])];
  const deployments: Record<string, DeploymentStatePatch> = {};
  for (const o of outcomes) {
    const s7 = short(o.sha);
    const key = `${o.deployment}/${s7}`;
    if (isDecided(status, o.deployment, s7) || decided.includes(key)) continue;
    decided.push(key);
    const file: PendingFile =
      'healthyAt' in o
        ? { key: completionKey(cluster, namespace, o.deployment, s7), body: o.healthyAt }
        : {
            key: failureKey(cluster, namespace, o.deployment, s7),
            body: `${nowIso()} ${o.reason}: ${oneLine(o.message)}\n`,
          };
    pending.push(file);
    const st = status?.deployments?.[o.deployment];
    if (st?.sha === s7) {
      deployments[o.deployment] =
        'healthyAt' in o
          ? { healthyAt: o.healthyAt, notified: false }
          : { failed: `${o.reason}: ${oneLine(o.message)}`, notified: false };
    }
  }
  if (decided.length === (status?.decided ?? []).length) return undefined;
  return {
    pending,
    decided: decided.slice(-decidedLimit),
    ...(Object.keys(deployments).length ? { deployments } : {}),
  };
}

/**
 * When `sha` is applied with these Deployments (name → applied-hash): each starts waiting at `sha`.
 * A Deployment still waiting at an older sha either carries that wait on (same spec: its rollout
 * counts for both) or that older sha is superseded. States of Deployments no longer in the set go.
 */
export function startRollouts(
  status: VersionStatus | undefined,
  sha: string,
  deployments: ReadonlyMap<string, string>,
): { deployments: Record<string, DeploymentStatePatch>; superseded: Outcome[] } {
  const s7 = short(sha);
  const next: Record<string, DeploymentStatePatch> = {};
  const superseded: Outcome[] = [];
  const fresh = (hash: string, also: string[] | null): DeploymentStatePatch => ({
    sha: s7,
    hash,
    also,
    healthyAt: null,
    failed: null,
    notified: false,
  });
  for (const [name, st] of Object.entries(status?.deployments ?? {})) {
    if (st.sha === s7) continue;
    const hash = deployments.get(name);
    if (waiting(st)) {
      const older = [st.sha, ...(st.also ?? [])].filter((s) => !isDecided(status, name, s));
      if (hash !== undefined && st.hash === hash) {
        next[name] = fresh(hash, older.length ? older : null);
        continue;
      }
      for (const o of older) {
        superseded.push({
          deployment: name,
          sha: o,
          reason: 'Superseded',
          message: `Superseded by ${s7} before it became healthy`,
        });
      }
    }
    next[name] = hash === undefined ? null : fresh(hash, null);
  }
  for (const [name, hash] of deployments) {
    const st = status?.deployments?.[name];
    if (name in next || st?.sha === s7) continue;
    next[name] = fresh(hash, null);
  }
  return { deployments: next, superseded };
}
