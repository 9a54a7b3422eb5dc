// status.history: the last syncs, one entry per commit, each step's time and the result. Pure
// functions over the list; the Recorder puts their result into the status patch of the outcome
// that moved it, so history costs no write of its own.

import { parseKey } from '../notify/s3.ts';
import type { Commit } from '../source/git.ts';
import { short } from '../source/sha.ts';
import type { HistoryEntry } from './types.ts';

/** How many syncs are kept. */
export const historyLimit = 10;

type Step = Partial<Omit<HistoryEntry, 'sha' | 'subject' | 'author' | 'committedAt' | 'seenAt'>>;

const of = (history: readonly HistoryEntry[] | undefined, sha: string) =>
  (history ?? []).find((e) => e.sha.startsWith(short(sha)));

/**
 * The history with `commit`'s entry updated by `step` (created when new; with `supersedes`, an
 * older entry still Progressing is then Superseded). Times already set are kept. Undefined when
 * nothing changes.
 */
export function historyWith(
  history: readonly HistoryEntry[] | undefined,
  commit: Commit,
  step: Step,
  supersedes = true,
): HistoryEntry[] | undefined {
  const old = of(history, commit.sha);
  if (old) return replaced(history, old, (e) => stepped(e, step));
  const entry: HistoryEntry = {
    sha: commit.sha,
    subject: commit.message,
    author: commit.author,
    ...(commit.committedAt ? { committedAt: commit.committedAt } : {}),
    ...(commit.seenAt ? { seenAt: commit.seenAt } : {}),
    result: 'Progressing',
    ...step,
  };
  const superseded = `Superseded by ${short(commit.sha)}`;
  // A commit that is applied replaces the rollout in progress; one refused before applying does not.
  const before = (history ?? []).map((e) =>
    supersedes && e.result === 'Progressing'
      ? { ...e, result: 'Superseded' as const, reason: superseded }
      : e,
  );
  return [...before, entry].slice(-historyLimit);
}

/** The history with the entry of `sha` (if any) updated by `step`; undefined when nothing changes. */
export function historyStep(
  history: readonly HistoryEntry[] | undefined,
  sha: string,
  step: Step,
): HistoryEntry[] | undefined {
  return replaced(history, of(history, sha), (e) => stepped(e, step));
}

/**
 * A Deployment of `sha` became healthy at `at`: `healthyAt` moves to the latest such time (the
 * commit is healthy when its last workload is). Undefined when nothing changes.
 */
export function historyHealthy(
  history: readonly HistoryEntry[] | undefined,
  sha: string,
  at: string,
): HistoryEntry[] | undefined {
  return replaced(history, of(history, sha), (e) =>
    e.healthyAt === at ? undefined : { ...e, healthyAt: at },
  );
}

/** The history with `old` replaced by what `f` makes of it; undefined when there is no change. */
function replaced(
  history: readonly HistoryEntry[] | undefined,
  old: HistoryEntry | undefined,
  f: (e: HistoryEntry) => HistoryEntry | undefined,
): HistoryEntry[] | undefined {
  const next = old && f(old);
  return next ? (history ?? []).map((e) => (e === old ? next : e)) : undefined;
}

/** Times are set once; result and reason follow the latest step (a final result stays final). */
function stepped(old: HistoryEntry, step: Step): HistoryEntry | undefined {
  const next: HistoryEntry = { ...old };
  for (const k of ['appliedAt', 'healthyAt', 'notifiedAt'] as const)
    if (step[k] && !old[k]) next[k] = step[k];
  if (step.result && old.result === 'Progressing') {
    next.result = step.result;
    if (step.reason) next.reason = step.reason;
  }
  return JSON.stringify(next) === JSON.stringify(old) ? undefined : next;
}

/**
 * After a delivery: `notifiedAt` of each commit an S3 file was just written for becomes `now` —
 * the time its latest file went out (with several Deployments, when the last CI job could know).
 * Undefined when nothing changes.
 */
export function historyNotified(
  history: readonly HistoryEntry[] | undefined,
  sent: readonly string[],
  now: string,
): HistoryEntry[] | undefined {
  const sentShas = new Set(sent.map((key) => parseKey(key)?.sha7));
  if (!history?.some((e) => sentShas.has(short(e.sha)) && e.notifiedAt !== now)) return undefined;
  return history.map((e) => (sentShas.has(short(e.sha)) ? { ...e, notifiedAt: now } : e));
}
