// What the status page and GET /api/v1/status show: the source, this replica, and per managed
// namespace its state, commits, workloads, last error and recent syncs. Built from the Versions
// (read only) and what the loop knows of the source; nothing here writes.
import type { Commit } from '../source/git.ts';
import { displayUrl, redact } from '../source/redact.ts';
import { short } from '../source/sha.ts';
import { isoSeconds } from '../time.ts';
import type { HistoryEntry, Version } from '../version/types.ts';
import { type NamespaceState, namespaceState, type WorkloadState, workloadState } from './state.ts';

export interface StatusSnapshot {
  /** When the snapshot was taken (UTC, seconds): ages are counted from it. */
  generatedAt: string;
  cluster: string;
  replica: ReplicaStatus;
  source: SourceStatus;
  namespaces: NamespaceStatus[];
}

/** single: no leader election; standby: another replica leads (`leader`, when the Lease names it). */
export interface ReplicaStatus {
  role: 'single' | 'leader' | 'standby';
  leader?: string;
}

export interface CommitInfo {
  /** Full sha when known (the head, the applied commit), else the 7 digits the Version keeps. */
  sha: string;
  subject?: string;
  author?: string;
  /** Committer time (UTC, seconds). */
  committedAt?: string;
}

export interface SourceStatus {
  /** The config repo without credentials. */
  repo: string;
  /** The branch followed; the remote's default until the first poll learns its name. */
  branch?: string;
  /** The branch head as last fetched. */
  head?: CommitInfo;
  lastPollAt?: string;
  /** Why the repo could not be read at the last poll. */
  error?: string;
}

export interface WorkloadStatus {
  name: string;
  /** The sha it rolls out, or was decided at (7 digits). */
  sha: string;
  state: WorkloadState;
  healthyAt?: string;
  /** `Reason: message` when Failed. */
  message?: string;
  /** Its outcome file is written (CI can know). */
  notified: boolean;
}

export interface NamespaceStatus {
  namespace: string;
  state: NamespaceState;
  /** The condition that decided `state`: its reason and message. */
  reason?: string;
  message?: string;
  applied?: CommitInfo;
  deployed?: CommitInfo;
  workloads: WorkloadStatus[];
  /** The last error of a sync (manifest errors carry `file:line`); absent when the last pass went well. */
  lastError?: string;
  /** The last syncs, newest first. */
  history: HistoryEntry[];
}

/** What the loop knows that no Version holds: the head it fetched, when it polled, its source error. */
export interface LoopView {
  head: Commit | undefined;
  branch: string | undefined;
  lastPollAt: string | undefined;
  /** The source error last recorded; '' = the repo was readable, undefined = no poll yet. */
  sourceState: string | undefined;
  standby: boolean;
}

export interface StatusInputs {
  cluster: string;
  repo: string;
  namespaces: readonly string[];
  leaderElection: boolean;
  loop: () => LoopView;
  /** The namespace's Version, undefined when it has none yet. */
  version: (ns: string) => Promise<Version | undefined>;
  /** Who holds the leader Lease (undefined: unknown). */
  leader: () => Promise<string | undefined>;
}

/** One snapshot: every Version read once, in parallel. */
export async function takeSnapshot(inputs: StatusInputs, now = new Date()): Promise<StatusSnapshot> {
  const loop = inputs.loop();
  const [versions, leader] = await Promise.all([
    Promise.all(inputs.namespaces.map((ns) => read(inputs, ns))),
    inputs.leaderElection ? inputs.leader().catch(() => undefined) : undefined,
  ]);
  const role = !inputs.leaderElection ? 'single' : loop.standby ? 'standby' : 'leader';
  return {
    generatedAt: isoSeconds(now),
    cluster: inputs.cluster,
    replica: { role, ...(leader ? { leader } : {}) },
    source: sourceStatus(inputs.repo, loop, versions),
    namespaces: versions.map((v, i) => namespaceStatus(inputs.namespaces[i] ?? '', v)),
  };
}

/** A Version, or the error reading it (shown as that namespace's Unknown state). */
async function read(inputs: StatusInputs, ns: string): Promise<Version | Error | undefined> {
  try {
    return await inputs.version(ns);
  } catch (err) {
    return err as Error;
  }
}

function sourceStatus(repo: string, loop: LoopView, versions: (Version | Error | undefined)[]): SourceStatus {
  // A standby polls nothing: the leader's SourceAvailable=False on a Version tells its error.
  const recorded = versions
    .flatMap((v) => (v instanceof Error ? [] : (v?.status?.conditions ?? [])))
    .find((c) => c.type === 'SourceAvailable' && c.status === 'False')?.message;
  const error = loop.sourceState === undefined ? recorded : loop.sourceState;
  const head = loop.head;
  return {
    repo: displayUrl(repo),
    ...(loop.branch ? { branch: loop.branch } : {}),
    ...(head ? { head: commitInfo(head.sha, head.message, head.author, head.committedAt) } : {}),
    ...(loop.lastPollAt ? { lastPollAt: loop.lastPollAt } : {}),
    ...(error ? { error: redact(error) } : {}),
  };
}

export function namespaceStatus(namespace: string, v: Version | Error | undefined): NamespaceStatus {
  if (v instanceof Error)
    return {
      namespace,
      state: 'Unknown',
      message: `cannot read its Version: ${redact(v.message)}`,
      workloads: [],
      history: [],
    };
  const status = v?.status;
  const verdict = v ? namespaceState(status?.conditions) : { state: 'Progressing' as const };
  const history = [...(status?.history ?? [])].reverse();
  const workloads = Object.entries(status?.deployments ?? {})
    .map(([name, d]): WorkloadStatus => {
      const state = workloadState(d);
      return {
        name,
        sha: short(d.sha),
        state,
        ...(d.healthyAt ? { healthyAt: d.healthyAt } : {}),
        ...(state === 'Failed' && d.failed ? { message: redact(d.failed) } : {}),
        notified: d.notified,
      };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
  return {
    namespace,
    state: verdict.state,
    ...(verdict.reason ? { reason: verdict.reason } : {}),
    message: redact(verdict.message ?? (v ? '' : 'no sync recorded yet')),
    ...commits(v, history),
    workloads,
    ...(status?.lastError ? { lastError: redact(status.lastError) } : {}),
    history: history.map((e) => ({ ...e, ...(e.reason ? { reason: redact(e.reason) } : {}) })),
  };
}

/** The applied commit (status.commit/message/author are its) and the deployed one, from history. */
function commits(v: Version | undefined, history: readonly HistoryEntry[]) {
  const entry = (sha7: string) => history.find((e) => e.sha.startsWith(sha7));
  const info = (sha7: string | undefined): CommitInfo | undefined => {
    if (!sha7) return undefined;
    const e = entry(sha7);
    const s = v?.status;
    if (s?.commit?.startsWith(sha7)) return commitInfo(s.commit, s.message, s.author, e?.committedAt);
    return e ? commitInfo(e.sha, e.subject, e.author, e.committedAt) : { sha: sha7 };
  };
  const applied = info(v?.applied);
  const deployed = info(v?.deployed);
  return { ...(applied ? { applied } : {}), ...(deployed ? { deployed } : {}) };
}

function commitInfo(
  sha: string,
  subject: string | undefined,
  author: string | undefined,
  committedAt: string | undefined,
): CommitInfo {
  return {
    sha,
    ...(subject !== undefined ? { subject } : {}),
    ...(author !== undefined ? { author } : {}),
    ...(committedAt ? { committedAt } : {}),
  };
}
