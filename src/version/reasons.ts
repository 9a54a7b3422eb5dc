// Every reason the operator gives, in one place: condition reasons, Event reasons, the first word
// of an S3 `.failed` file and the `reason` label of gso_errors_total all come from these unions.
import type { SourceError } from '../source/git.ts';

/** A reason is read by CI logs, `wait` and `kubectl get`: always one line. */
export const oneLine = (s: string): string => s.replace(/\s*\n\s*/g, ' ').trim();

/** `s` cut to `max` characters, an ellipsis marking the cut. */
export const clipped = (s: string, max: number): string =>
  s.length > max ? `${s.slice(0, max - 1).trimEnd()}…` : s;

/** Why a commit failed for a Deployment: the first word of its `.failed` file. */
export type FailureReason =
  | 'InvalidManifests'
  | 'DryRunRejected'
  | 'ApplyFailed'
  | 'PrePhaseFailed'
  | 'RolloutTimeout'
  | 'RolloutFailed'
  | 'Superseded';

/** Why a pass failed without a verdict on the commit: retried at the next poll, no S3 file. */
export type TransientReason = 'ApplyFailed' | 'PruneFailed' | 'SourceUnavailable';

/** Why a sync pass ended in error (ReconcileResult.reason, the Ready/Stalled condition reason). */
export type SyncFailureReason = FailureReason | TransientReason | 'PostPhaseFailed' | 'Error';

/** Why the config repo could not be read (SourceAvailable=False, gso_errors_total{namespace=""}). */
export type SourceReason = SourceError['reason'];

/** Progress: reasons of the conditions and Events of a sync that went well. */
export type ProgressReason =
  | 'Applied'
  | 'Pruned'
  | 'Progressing'
  | 'Deployed'
  | 'Fetched'
  | 'Suspended'
  | 'Resumed'
  | 'Recreated';

/** Kubernetes Events on the Version (`kubectl describe version`). */
export type EventReason =
  | 'Applied'
  | 'Deployed'
  | 'Pruned'
  | 'Suspended'
  | 'Resumed'
  | 'Recreated'
  | 'RolloutFailed'
  | 'InvalidManifests'
  | 'DryRunRejected'
  | 'PrePhaseFailed'
  | 'PostPhaseFailed'
  | 'ApplyFailed';

export type Reason = SyncFailureReason | SourceReason | ProgressReason;

/** The Event a failure is told by: a verdict on the files keeps its name, the rest are apply errors. */
export function eventReason(reason: SyncFailureReason): EventReason {
  const own = ['InvalidManifests', 'DryRunRejected', 'PrePhaseFailed', 'PostPhaseFailed'] as const;
  return (own as readonly string[]).includes(reason) ? (reason as (typeof own)[number]) : 'ApplyFailed';
}
