// The one place that decides what the sinks are told of a commit as a whole (a commit status, a
// webhook, a Slack message): `pending` once applied, then one final state. Each (sha, state) is
// told once — remembered in status.commits in the same patch that queues the deliveries, so a
// restart neither loses nor repeats one — and nothing follows a final state.
import { type CommitEvent, type CommitState, owed, type Sink } from '../notify/sink.ts';
import { short } from '../source/sha.ts';
import { isoSeconds } from '../time.ts';
import { oneLine } from './reasons.ts';
import type { CommitTold, PendingFile, VersionStatus } from './types.ts';

/** How many commits' states a Version remembers (the oldest go first; each is ~60 bytes). */
export const commitsLimit = 50;

/** What to tell of one commit (its subject and author are looked up when not given). */
export interface CommitNews {
  sha: string;
  state: CommitState;
  description: string;
  subject?: string | undefined;
  author?: string | undefined;
}

export interface CommitsPatch {
  commits: CommitTold[];
  pending: PendingFile[];
}

const isFinal = (s: CommitState | undefined): boolean => s !== undefined && s !== 'pending';

/**
 * The status patch that queues each sink's delivery for `news` (already told, or after a final
 * state: skipped), or undefined when nothing is new. `pending` is the queue to add to (a patch
 * built before this one in the same write).
 */
export function tellCommits(
  status: VersionStatus | undefined,
  target: { namespace: string; sinks: readonly Sink[] },
  news: readonly CommitNews[],
  pending: readonly PendingFile[] = status?.pending ?? [],
): CommitsPatch | undefined {
  const commits = [...(status?.commits ?? [])];
  const queue = [...pending];
  let told = false;
  for (const n of news) {
    const i = commits.findIndex((c) => c.sha === n.sha);
    const was = commits[i]?.state;
    if (was === n.state || isFinal(was) || (n.state === 'pending' && was !== undefined)) continue;
    if (i >= 0) commits.splice(i, 1);
    commits.push({ sha: n.sha, state: n.state });
    told = true;
    const event = eventOf(status, target.namespace, n);
    for (const s of target.sinks) {
      const d = s.renderCommit?.(event);
      if (d) queue.push(owed(s, d));
    }
  }
  if (!told) return undefined;
  return { commits: commits.slice(-commitsLimit), pending: queue };
}

function eventOf(status: VersionStatus | undefined, namespace: string, n: CommitNews): CommitEvent {
  const known = status?.history?.find((e) => e.sha === n.sha);
  return {
    namespace,
    sha: n.sha,
    state: n.state,
    description: oneLine(n.description),
    subject: n.subject ?? known?.subject ?? (status?.commit === n.sha ? status.message : undefined),
    author: n.author ?? known?.author ?? (status?.commit === n.sha ? status.author : undefined),
    at: isoSeconds(),
  };
}

/** The full sha of `sha7` as this Version knows it (told commits, the applied one, history). */
export function fullSha(status: VersionStatus | undefined, sha7: string): string | undefined {
  const s7 = short(sha7);
  const candidates = [
    ...(status?.commits ?? []).map((c) => c.sha),
    status?.commit,
    ...(status?.history ?? []).map((e) => e.sha),
    ...(status?.overtaken ?? []).map((o) => o.commit),
  ];
  return candidates.find((s): s is string => !!s && s.length > 7 && s.startsWith(s7));
}

/**
 * `head` was applied: every other commit still `pending` was overtaken by it before it became
 * healthy, and every commit overtaken before its apply never will be: both are superseded.
 */
export function supersededBy(
  status: VersionStatus | undefined,
  head: string,
  applied: boolean,
): CommitNews[] {
  const h7 = short(head);
  const rolling = applied
    ? (status?.commits ?? [])
        .filter((c) => c.state === 'pending' && c.sha !== head)
        .map((c) => ({ sha: c.sha, why: `Superseded by ${h7} before it became healthy` }))
    : [];
  const never = (status?.overtaken ?? [])
    .flatMap((o) => (o.commit && o.commit !== head ? [o.commit] : []))
    .map((sha) => ({ sha, why: `Superseded by ${h7} before it was applied` }));
  return [...rolling, ...never].map(({ sha, why }) => ({ sha, state: 'superseded', description: why }));
}

/** A failure of a commit, told as `Reason: message`. */
export const failure = (sha: string, reason: string, message: string): CommitNews => ({
  sha,
  state: 'failure',
  description: `${reason}: ${oneLine(message)}`,
});
