// Commits deployed by a later rollout: a commit whose set was never rolled out itself (overtaken
// before its apply, or applied and overtaken before its rollout ended) but whose every Deployment
// carries its wait on to a later head of the same spec. Each rider is told healthy by that
// rollout (its S3 files); when its last Deployment is, the commit is deployed and `deployed` moves
// to it — even when the head it rode on fails for a workload of its own. status.riding keeps
// them in the order they were seen, so `deployed` never moves back to an older one.
import { short } from '../source/sha.ts';
import { isDecided, type Outcome, waiting } from './outcomes.ts';
import type { DeploymentState, DeploymentStatePatch, VersionStatus } from './types.ts';

type States = Record<string, DeploymentState>;

/** The states once `patch` (a merge-patch by name; null removes) is applied. */
export function patchedStates(
  states: Readonly<States> | undefined,
  patch: Readonly<Record<string, DeploymentStatePatch>> | undefined,
): States {
  const out: States = { ...states };
  for (const [name, p] of Object.entries(patch ?? {})) {
    if (p === null) {
      delete out[name];
      continue;
    }
    const merged: Record<string, unknown> = { ...out[name] };
    for (const [k, v] of Object.entries(p)) {
      if (v === null) delete merged[k];
      else merged[k] = v;
    }
    out[name] = merged as unknown as DeploymentState;
  }
  return out;
}

/** Shas whose wait some state carries (its own sha and the ones riding on it). */
const holders = (states: Readonly<States>, sha: string) =>
  Object.values(states).filter((st) => st.sha === sha || st.also?.includes(sha));

/**
 * status.riding once `s7` is applied and the states are `next` (startRollouts' and
 * takeUpOvertaken's patch): the riders before, then the sha whose rollout this apply carried on,
 * then each overtaken commit — each only while every one of its Deployments rides (none is
 * `superseded` by this apply, none failed or was decided before).
 */
export function ridingAfterApply(
  status: VersionStatus | undefined,
  s7: string,
  next: Readonly<Record<string, DeploymentStatePatch>>,
  superseded: readonly Outcome[],
): string[] {
  const states = patchedStates(status?.deployments, next);
  const lost = new Set(superseded.map((o) => short(o.sha)));
  const rides = (sha: string) =>
    sha !== s7 && !lost.has(sha) && holders(states, sha).some((st) => st.sha === s7 && waiting(st));
  const before = Object.values(status?.deployments ?? {});
  // The sha whose rollout was still on when this head came: riding unless one of its Deployments failed.
  const carried = [...new Set(before.filter((st) => waiting(st)).map((st) => st.sha))].filter(
    (sha) => !before.some((st) => st.sha === sha && st.failed),
  );
  const overtaken = (status?.overtaken ?? [])
    .filter((o) => !Object.keys(o.deployments).some((d) => isDecided(status, d, o.sha)))
    .map((o) => o.sha);
  return [...new Set([...(status?.riding ?? []), ...carried, ...overtaken])].filter(rides);
}

/**
 * What a batch of outcomes does to the riders: one with a failed pair stops riding; the newest
 * whose every Deployment is now healthy (no state waits for it) is `deployed`, and it and every
 * older rider leave the list. Undefined when nothing changes.
 */
export function ridersSettled(
  status: VersionStatus | undefined,
  outcomes: readonly Outcome[],
  patch: Readonly<Record<string, DeploymentStatePatch>> | undefined,
): { riding: string[]; deployed?: string } | undefined {
  const riding = status?.riding ?? [];
  if (riding.length === 0) return undefined;
  const failed = new Set(outcomes.filter((o) => 'reason' in o).map((o) => short(o.sha)));
  const left = riding.filter((sha) => !failed.has(sha));
  const states = patchedStates(status?.deployments, patch);
  const done = left.findLastIndex((sha) => !holders(states, sha).some((st) => waiting(st)));
  const deployed = done >= 0 ? left[done] : undefined;
  const next = deployed ? left.slice(done + 1) : left;
  if (next.length === riding.length && !deployed) return undefined;
  return { riding: next, ...(deployed ? { deployed } : {}) };
}
