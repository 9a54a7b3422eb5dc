// The operator's S3 outcome files read back: which keys are outcomes, and what a body says.
// (notify/s3.ts writes them; `status` reads a whole bucket of them, written by every cluster.)
import { isoSeconds } from '../time.ts';
import { clipped, oneLine } from '../version/reasons.ts';

/** One outcome file found in a listing: `cluster/namespace/deployment/<sha7>[.failed]`. */
export interface OutcomeFile {
  readonly key: string;
  readonly cluster: string;
  readonly namespace: string;
  readonly deployment: string;
  readonly sha7: string;
  readonly failed: boolean;
  /** S3's LastModified, ms since the epoch: when the file was written (not when it happened). */
  readonly lastModified: number;
}

/** What `status` reports of one cluster × namespace × deployment (`--output json` prints these). */
export interface Outcome {
  cluster: string;
  namespace: string;
  deployment: string;
  sha: string;
  /** UTC, to the second: healthy or failed at (the body), else the file's LastModified. */
  at: string;
  /** superseded: a `.failed` file whose reason is Superseded (a newer commit took over). */
  state: 'deployed' | 'failed' | 'superseded';
  reason?: string;
  message?: string;
}

const shaFile = /^([0-9a-f]{7})(\.failed)?$/;

/** The outcome file a listed key is, or undefined for any other key (exactly four parts). */
export function outcomeFile(key: string, lastModified: number): OutcomeFile | undefined {
  const parts = key.split('/');
  if (parts.length !== 4 || parts.some((p) => p === '')) return undefined;
  const [cluster, namespace, deployment, file] = parts as [string, string, string, string];
  const m = shaFile.exec(file);
  if (!m?.[1]) return undefined;
  return { key, cluster, namespace, deployment, sha7: m[1], failed: m[2] !== undefined, lastModified };
}

/** The time a body gives and, for a `.failed` body, its reason and message. */
export interface Body {
  /** ms since the epoch; undefined when the body carries no time we can read. */
  readonly time?: number;
  readonly reason?: string;
  readonly message?: string;
}

const isoTime = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;
const timeOf = (s: string | undefined) => (s && isoTime.test(s) ? Date.parse(s) : Number.NaN);

/** `<time>` (deployed) or `<time> <Reason>: <one line>` (failed); anything else has no time. */
export function parseBody(body: string, failed: boolean): Body {
  const text = body.trim();
  if (!failed) {
    const t = timeOf(text);
    return Number.isNaN(t) ? {} : { time: t };
  }
  const m = /^(\S+) ([A-Za-z]+): ?(.*)$/s.exec(text);
  const t = timeOf(m?.[1]);
  if (!m || Number.isNaN(t)) return text ? { message: shortLine(text) } : {};
  return { time: t, reason: m[2], message: shortLine(m[3] ?? '') };
}

/** The record of a file and its body (the body's time, else LastModified). */
export function outcomeOf(f: OutcomeFile, body: Body): Outcome {
  return {
    cluster: f.cluster,
    namespace: f.namespace,
    deployment: f.deployment,
    sha: f.sha7,
    at: isoSeconds(new Date(body.time ?? f.lastModified)),
    state: f.failed ? (body.reason === 'Superseded' ? 'superseded' : 'failed') : 'deployed',
    ...(body.reason ? { reason: body.reason } : {}),
    ...(f.failed && body.message ? { message: body.message } : {}),
  };
}

/** Bodies are one line by contract; a stray one is kept short and on one line. */
const shortLine = (s: string) => clipped(oneLine(s), 300);
