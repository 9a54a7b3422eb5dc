import type { ObjectRef } from '../manifests/object.ts';

/** metav1.Condition */
export interface Condition {
  type: 'Ready' | 'Reconciling' | 'Stalled' | 'SourceAvailable';
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  lastTransitionTime: string;
}

/** One Deployment's progress: healthy (or failed) at which sha, and whether S3 was told. */
export interface DeploymentState {
  sha: string;
  healthyAt?: string;
  failed?: string;
  notified: boolean;
}

/** An S3 completion or failure file not yet written: kept until the PUT succeeds. */
export interface PendingFile {
  key: string;
  body: string;
}

export interface VersionStatus {
  commit?: string;
  message?: string;
  author?: string;
  conditions?: Condition[];
  deployments?: Record<string, DeploymentState>;
  inventory?: ObjectRef[];
  pending?: PendingFile[];
  lastError?: string;
  /** Last sync that found the namespace healthy; a heartbeat refreshed every 5 minutes at most. */
  lastSyncTime?: string;
}

export interface Version {
  apiVersion: string;
  kind: 'Version';
  metadata: { name: string; namespace: string; resourceVersion?: string; uid?: string };
  applied?: string;
  deployed?: string;
  status?: VersionStatus;
}
