import type { ObjectRef } from '../manifests/object.ts';
import type { CommitState, Delivery } from '../notify/sink.ts';
import type { Reason } from './reasons.ts';

/** metav1.Condition */
export interface Condition {
  type: 'Ready' | 'Reconciling' | 'Stalled' | 'SourceAvailable' | 'Suspended';
  status: 'True' | 'False' | 'Unknown';
  reason: Reason;
  message: string;
  lastTransitionTime: string;
}

/**
 * One Deployment's progress: the sha it is rolling out (or was decided at), healthy or failed
 * there, and whether S3 was told. Neither healthyAt nor failed: still waiting for an outcome.
 */
export interface DeploymentState {
  sha: string;
  /** The applied-hash of its spec at `sha`: a newer commit with the same hash carries the wait on. */
  hash?: string;
  /** Older shas whose spec was the same: they get this rollout's outcome too. */
  also?: string[];
  healthyAt?: string;
  failed?: string;
  notified: boolean;
}

/** A merge-patch of one state: null removes a field (or the whole state). */
export type DeploymentStatePatch = { [K in keyof DeploymentState]?: DeploymentState[K] | null } | null;

/** A delivery a sink still owes (an S3 file not yet written, a commit status…): kept until it is sent. */
export type PendingFile = Delivery;

/** A commit's state as told to the sinks (status.commits): once per state, nothing after a final one. */
export interface CommitTold {
  /** The full sha. */
  sha: string;
  state: CommitState;
}

/** One sync of a commit, for `history`: when each step happened (UTC, seconds) and how it ended. */
export interface HistoryEntry {
  sha: string;
  subject: string;
  author: string;
  committedAt?: string;
  /** The operator first saw it as the head. */
  seenAt?: string;
  appliedAt?: string;
  /** Every workload healthy. */
  healthyAt?: string;
  /** The last S3 file of this commit was written: CI can know. */
  notifiedAt?: string;
  result: 'Progressing' | 'Deployed' | 'Failed' | 'Superseded';
  /** `Reason: one line` when Failed or Superseded. */
  reason?: string;
}

export interface VersionStatus {
  commit?: string;
  message?: string;
  author?: string;
  conditions?: Condition[];
  deployments?: Record<string, DeploymentState>;
  inventory?: ObjectRef[];
  pending?: PendingFile[];
  /** `deployment/sha7` of the latest outcomes decided (bounded): a pair decided once stays final. */
  decided?: string[];
  lastError?: string;
  /** The last syncs (10), oldest first. */
  history?: HistoryEntry[];
  /**
   * Jobs of the set that completed, as `name@applied-hash`: one deleted since (its TTL) is not
   * created, so not run, again at that spec.
   */
  ranJobs?: string[];
  /**
   * Commits seen as the head whose set was never applied, with their Deployments (name →
   * applied-hash): their pass stopped before the apply (a newer commit came during the plan or the
   * pre phase) or the namespace was suspended. When another head is applied, a Deployment of the
   * same spec carries the wait on (that rollout decides both), any other is Superseded; a definite
   * failure of another head supersedes them all.
   */
  overtaken?: { sha: string; deployments: Record<string, string>; commit?: string }[];
  /**
   * Short shas, oldest first, of commits never rolled out themselves whose every Deployment rides
   * on a later rollout of the same spec (in `also`): when the last is healthy, `deployed` moves
   * to the commit. One with a failed or superseded Deployment leaves the list.
   */
  riding?: string[];
  /** The commits' states told to the sinks (bounded, newest last): each told once. */
  commits?: CommitTold[];
  /** The commit whose pre phase failed, and why: it is not run again (a new commit is). */
  preFailed?: { sha: string; message: string };
  /** `sha7: message` of the last post phase failure: its Event is emitted once. */
  postFailed?: string;
  /** Last sync that found the namespace healthy; a heartbeat refreshed every 5 minutes at most. */
  lastSyncTime?: string;
}

/** A merge-patch of the status: maps merge by key (null removes), arrays replace. */
export type VersionStatusPatch = Omit<VersionStatus, 'deployments'> & {
  deployments?: Record<string, DeploymentStatePatch>;
};

export interface Version {
  apiVersion: string;
  kind: 'Version';
  metadata: {
    name: string;
    namespace: string;
    resourceVersion?: string;
    uid?: string;
    annotations?: Record<string, string>;
  };
  applied?: string;
  deployed?: string;
  status?: VersionStatus;
}
