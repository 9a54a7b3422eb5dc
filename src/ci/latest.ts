// The latest outcome of each cluster × namespace × deployment, reading as few bodies as it can.
//
// "Latest" is by the time in the body (when the Deployment became healthy, or failed), not by
// LastModified: files held back while S3 was down are written together, later, in any order. But a
// body's time is never after its file was written, give or take the clocks of the operator's node
// and S3. So per deployment: read the file written last; a file written more than `skewMs` before
// the time that body gives cannot hold a later time, and is never read. Deploys minutes apart cost
// one GET per deployment; files written together (a backlog) are all read.
import { mapLimit } from '../kube/pool.ts';
import { type Body, type Outcome, type OutcomeFile, outcomeOf, parseBody } from './outcome-files.ts';

/** How far the operator's clock may run ahead of S3's without changing the answer. */
export const skewMs = 5 * 60_000;

/** A file's body, or undefined when it is gone (deleted since the listing). */
export type ReadBody = (f: OutcomeFile) => Promise<string | undefined>;

/** GETs in flight at once. */
const concurrency = 16;

export async function latestOutcomes(files: Iterable<OutcomeFile>, read: ReadBody): Promise<Outcome[]> {
  const groups = new Map<string, OutcomeFile[]>();
  for (const f of files) {
    const id = `${f.cluster}/${f.namespace}/${f.deployment}`;
    groups.set(id, [...(groups.get(id) ?? []), f]);
  }
  const outcomes = await mapLimit([...groups.values()], concurrency, (g) => latestOf(g, read));
  return outcomes.sort(byPlace);
}

/** The newest of one deployment's files (at least one). */
async function latestOf(files: readonly OutcomeFile[], read: ReadBody): Promise<Outcome> {
  const newestFirst = [...files].sort(byWritten);
  const [first, ...rest] = newestFirst as [OutcomeFile, ...OutcomeFile[]];
  const load = async (f: OutcomeFile) => ({ f, body: parseBody((await read(f)) ?? '', f.failed) });
  const head = await load(first);
  const bound = timeOf(head) - skewMs;
  const candidates = [head, ...(await Promise.all(rest.filter((f) => f.lastModified >= bound).map(load)))];
  // Equal times happen: a commit that left the spec as it was shares the rollout (and its healthy
  // time) with the one before. S3 does not record which commit came first; the file written last
  // wins, then the key, so the answer is at least stable.
  const best = candidates.reduce((a, b) => (timeOf(b) > timeOf(a) ? b : a));
  return outcomeOf(best.f, best.body);
}

const timeOf = (c: { f: OutcomeFile; body: Body }) => c.body.time ?? c.f.lastModified;

/** Written last first; the key (descending) breaks ties. */
function byWritten(a: OutcomeFile, b: OutcomeFile): number {
  if (a.lastModified !== b.lastModified) return b.lastModified - a.lastModified;
  return a.key < b.key ? 1 : a.key > b.key ? -1 : 0;
}

/** Cluster, namespace, deployment, in code-point order (the same on every machine). */
export function byPlace(a: Outcome, b: Outcome): number {
  for (const k of ['cluster', 'namespace', 'deployment'] as const) {
    if (a[k] !== b[k]) return a[k] < b[k] ? -1 : 1;
  }
  return 0;
}
