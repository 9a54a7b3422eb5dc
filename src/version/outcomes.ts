// The one place that decides a (deployment, sha) outcome: each pair is decided exactly once —
// healthy or failed — and stays final (remembered in status.decided, so a restart or a force-push
// back to an old sha repeats nothing). What each sink owes for it is queued in status.pending.
import { type Decided, owed, type Sink } from '../notify/sink.ts';
import { short } from '../source/sha.ts';
import { isoSeconds } from '../time.ts';
import { type FailureReason, oneLine } from './reasons.ts';
import type { DeploymentState, DeploymentStatePatch, PendingFile, VersionStatus } from './types.ts';

export type { FailureReason } from './reasons.ts';

export type Outcome =
  | { deployment: string; sha: string; healthyAt: string }
  | { deployment: string; sha: string; reason: FailureReason; message: string };

/**
 * How many decided pairs are remembered per namespace (a ring: the oldest go first) — about 20 KiB
 * of status. A force-push back to a commit decided longer ago than that may be told again.
 */
export const decidedLimit = 1000;

export const nowIso = (): string => isoSeconds();

export function isDecided(status: VersionStatus | undefined, deployment: string, sha: string): boolean {
  const s7 = short(sha);
  const st = status?.deployments?.[deployment];
  if (st?.sha === s7 && (st.healthyAt || st.failed)) return true;
  return status?.decided?.includes(`${deployment}/${s7}`) ?? false;
}

/** A state still waiting for its rollout's outcome. */
export const waiting = (st: DeploymentState | undefined): st is DeploymentState =>
  !!st && !st.healthyAt && !st.failed;

export interface StatusPatch {
  pending: PendingFile[];
  decided: string[];
  deployments?: Record<string, DeploymentStatePatch>;
}

/** Where the outcomes are decided: the namespace, and the sinks that are told of each. */
export interface OutcomeTarget {
  namespace: string;
  sinks: readonly Sink[];
}

/** The Deployment's state still waits for the rollout of `s7`. */
const rollingOut = (status: VersionStatus | undefined, deployment: string, s7: string) => {
  const st = status?.deployments?.[deployment];
  return waiting(st) && st.sha === s7;
};

/** A rolling-out state marked with its outcome (`notified`: nothing more is owed for it). */
const settled = (o: Outcome, notified: boolean): DeploymentStatePatch =>
  'healthyAt' in o
    ? { healthyAt: o.healthyAt, notified }
    : { failed: `${o.reason}: ${oneLine(o.message)}`, notified };

/** What every sink owes for one decided outcome. */
function deliveries(o: Decided, sinks: readonly Sink[]): PendingFile[] {
  return sinks.flatMap((s) => {
    const d = s.render?.(o);
    return d ? [owed(s, d)] : [];
  });
}

const decide = (namespace: string, o: Outcome): Decided =>
  'healthyAt' in o
    ? { namespace, deployment: o.deployment, sha7: short(o.sha), healthyAt: o.healthyAt }
    : {
        namespace,
        deployment: o.deployment,
        sha7: short(o.sha),
        reason: o.reason,
        message: o.message,
        at: nowIso(),
      };

/**
 * The status patch that records `outcomes` (pairs already decided are skipped), or undefined when
 * nothing is new. A state rolling out at the decided sha is marked healthy or failed.
 */
export function recordOutcomes(
  status: VersionStatus | undefined,
  target: OutcomeTarget,
  outcomes: readonly Outcome[],
): StatusPatch | undefined {
  const acc: Batch = {
    pending: [...(status?.pending ?? [])],
    decided: [...(status?.decided ?? [])],
    deployments: {},
    now: new Set(),
  };
  for (const o of outcomes) decideOne(status, target, o, acc);
  if (acc.now.size === 0 && !Object.keys(acc.deployments).length) return undefined;
  return {
    pending: acc.pending,
    decided: acc.decided.slice(-decidedLimit),
    ...(Object.keys(acc.deployments).length ? { deployments: acc.deployments } : {}),
  };
}

/** What a batch of outcomes adds to the status; `now`: the pairs it decided. */
interface Batch {
  pending: PendingFile[];
  decided: string[];
  deployments: Record<string, DeploymentStatePatch>;
  now: Set<string>;
}

function decideOne(status: VersionStatus | undefined, target: OutcomeTarget, o: Outcome, acc: Batch): void {
  const s7 = short(o.sha);
  const key = `${o.deployment}/${s7}`;
  if (acc.now.has(key)) return;
  if (isDecided(status, o.deployment, s7) || acc.decided.includes(key)) {
    // Decided before (a force-push back to it): the state rolling out at that sha still learns
    // how it ended, or it would wait for ever; the sinks were told the first time, not again.
    if (rollingOut(status, o.deployment, s7)) acc.deployments[o.deployment] = settled(o, true);
    return;
  }
  acc.now.add(key);
  acc.decided.push(key);
  acc.pending.push(...deliveries(decide(target.namespace, o), target.sinks));
  if (status?.deployments?.[o.deployment]?.sha === s7) acc.deployments[o.deployment] = settled(o, false);
}

/** A state starting to roll out `s7` with this applied-hash (older shas of the same spec in `also`). */
const fresh = (s7: string, hash: string, also: string[] | null): DeploymentStatePatch => ({
  sha: s7,
  hash,
  also,
  healthyAt: null,
  failed: null,
  notified: false,
});

const supersededBy = (s7: string, deployment: string, sha: string): Outcome => ({
  deployment,
  sha,
  reason: 'Superseded',
  message: `Superseded by ${s7} before it became healthy`,
});

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
  for (const [name, st] of Object.entries(status?.deployments ?? {})) {
    if (st.sha === s7) continue;
    const moved = moveOn(status, name, s7, deployments.get(name));
    next[name] = moved.state;
    superseded.push(...moved.superseded);
  }
  for (const [name, hash] of deployments) {
    if (name in next || status?.deployments?.[name]?.sha === s7) continue;
    next[name] = fresh(s7, hash, null);
  }
  return { deployments: next, superseded };
}

/** A Deployment's state at an older sha when `s7` is applied with this applied-hash (undefined: gone). */
function moveOn(
  status: VersionStatus | undefined,
  name: string,
  s7: string,
  hash: string | undefined,
): { state: DeploymentStatePatch; superseded: Outcome[] } {
  const st = status?.deployments?.[name];
  const older = waiting(st) ? [st.sha, ...(st.also ?? [])].filter((s) => !isDecided(status, name, s)) : [];
  if (hash !== undefined && waiting(st) && st.hash === hash)
    return { state: fresh(s7, hash, older.length ? older : null), superseded: [] };
  return {
    state: hash === undefined ? null : fresh(s7, hash, null),
    superseded: older.map((o) => supersededBy(s7, name, o)),
  };
}

/**
 * When `s7` is applied: each commit overtaken before its own apply (status.overtaken) either rides
 * on this rollout — a Deployment whose spec (applied-hash) is the same and is waiting at `s7` gets
 * the sha added to its `also` in `next` — or is Superseded. `next` is startRollouts' patch.
 */
export function takeUpOvertaken(
  status: VersionStatus | undefined,
  s7: string,
  deployments: ReadonlyMap<string, string>,
  next: Record<string, DeploymentStatePatch>,
): Outcome[] {
  const superseded: Outcome[] = [];
  for (const o of status?.overtaken ?? []) {
    if (o.sha === s7) continue;
    for (const [name, hash] of Object.entries(o.deployments)) {
      if (isDecided(status, name, o.sha)) continue;
      const at = waitingAt(status, next, name, s7);
      if (at && deployments.get(name) === hash) next[name] = { ...at, also: [...(at.also ?? []), o.sha] };
      else superseded.push(overtakenBy(s7, name, o.sha));
    }
  }
  return superseded;
}

/** When `s7` failed for good: every other overtaken commit is Superseded by it. */
export function supersedeOvertaken(status: VersionStatus | undefined, s7: string): Outcome[] {
  return (status?.overtaken ?? [])
    .filter((o) => o.sha !== s7)
    .flatMap((o) => Object.keys(o.deployments).map((name) => overtakenBy(s7, name, o.sha)));
}

const overtakenBy = (s7: string, deployment: string, sha: string): Outcome => ({
  deployment,
  sha,
  reason: 'Superseded',
  message: `Superseded by ${s7} before it was applied`,
});

/** The Deployment's state (as patched by `next`) when it waits for the rollout of `s7`. */
function waitingAt(
  status: VersionStatus | undefined,
  next: Record<string, DeploymentStatePatch>,
  name: string,
  s7: string,
): { also?: string[] | null } | undefined {
  if (name in next) {
    const p = next[name];
    return p && p.sha === s7 ? p : undefined;
  }
  const st = status?.deployments?.[name];
  return waiting(st) && st.sha === s7 ? { also: st.also ?? [] } : undefined;
}
