// CI side: wait for the operator's S3 file for one deployment at one sha.
//
// Each poll GETs `<sha7>` and `<sha7>.failed`. What an answer means:
// - 200: the file is there (deployed, or failed with its reason);
// - 404 NoSuchKey, and 403 AccessDenied: not yet. AWS answers 403 instead of 404 for a missing key
//   when the caller lacks s3:ListBucket on the bucket, so a key with only s3:GetObject on
//   `bucket/*` (what CI needs) sees 403 until the operator writes the file;
// - connection errors, timeouts, 5xx, throttling (429, 503 SlowDown): not yet, counted;
// - a definite credential or configuration error (unknown access key, wrong secret, no such bucket,
//   expired token, wrong region, other 4xx): WaitRejectedError at once (exit 2).

import { setTimeout as sleep } from 'node:timers/promises';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { ConfigError } from '../config.ts';
import { completionKey, failureKey } from '../notify/s3.ts';
import { redact } from '../source/redact.ts';

export { exitCode } from './outcome.ts';

export type WaitOutcome =
  | { state: 'deployed'; at: string; key: string }
  | { state: 'failed'; reason: string; key: string }
  | ({ state: 'timeout'; key: string; failedKey: string } & PollStats);

/** What the polls saw, for the timeout line. */
export interface PollStats {
  /** Rounds (each GETs both keys). */
  polls: number;
  /** Answers 404 (NoSuchKey). */
  missing: number;
  /** Answers 403 AccessDenied. */
  denied: number;
  /** Connection errors, timeouts, 5xx, throttling. */
  transient: number;
  /** The last transient error, e.g. `503 SlowDown`, `ECONNRESET` (never a secret). */
  lastTransient?: string;
}

export interface WaitTarget {
  bucket: string;
  cluster: string;
  namespace: string;
  deployment: string;
  /** Short or full sha. */
  sha: string;
}

/** S3 rejected the credentials or the configuration: polling again cannot help (exit 2). */
export class WaitRejectedError extends ConfigError {
  constructor(
    /** The S3 error code (InvalidAccessKeyId, SignatureDoesNotMatch, NoSuchBucket, …). */
    readonly code: string,
    problem: string,
  ) {
    super('wait', problem);
    this.name = 'WaitRejectedError';
  }
}

/**
 * Upper bound of one GET, whatever the client's retries: s3Client() allows 15 s per attempt, and 2
 * attempts unless told otherwise (`wait` makes one; `promote --wait` keeps the SDK's retry).
 */
const maxGetMs = 30_000;

export async function waitForDeploy(
  s3: S3Client,
  t: WaitTarget,
  opts: { timeoutMs: number; intervalMs: number; onPoll?: () => void },
): Promise<WaitOutcome> {
  const ok = completionKey(t.cluster, t.namespace, t.deployment, t.sha);
  const bad = failureKey(t.cluster, t.namespace, t.deployment, t.sha);
  const deadline = Date.now() + opts.timeoutMs;
  const stats: PollStats = { polls: 0, missing: 0, denied: 0, transient: 0 };
  let gets = 0;
  const get = async (key: string): Promise<string | undefined> => {
    // Past the deadline (a GET that hung until then) nothing more is asked, but the first GET is.
    if (gets++ > 0 && Date.now() >= deadline) return undefined;
    const answer = await read(s3, t, key, deadline);
    if (answer.kind === 'found') return answer.body;
    if (answer.kind === 'missing') stats.missing++;
    if (answer.kind === 'denied') stats.denied++;
    if (answer.kind === 'transient') {
      stats.transient++;
      stats.lastTransient = answer.what;
    }
    return undefined;
  };
  for (;;) {
    opts.onPoll?.();
    stats.polls++;
    const done = await get(ok);
    if (done !== undefined) return { state: 'deployed', at: done.trim(), key: ok };
    const failed = await get(bad);
    if (failed !== undefined) return { state: 'failed', reason: failed.trim(), key: bad };
    if (Date.now() + opts.intervalMs > deadline)
      return { state: 'timeout', key: ok, failedKey: bad, ...stats };
    await sleep(opts.intervalMs);
  }
}

type Answer =
  | { kind: 'found'; body: string }
  | { kind: 'missing' }
  | { kind: 'denied' }
  | { kind: 'transient'; what: string };

interface SdkError {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  $response?: { statusCode?: number };
}

async function read(s3: S3Client, t: WaitTarget, key: string, deadline: number): Promise<Answer> {
  const left = deadline - Date.now();
  // Bounded by the deadline and by maxGetMs, whatever the client's retries and timeouts are.
  const signal = AbortSignal.timeout(Math.max(1, Math.min(left, maxGetMs)));
  try {
    const res = await s3.send(new GetObjectCommand({ Bucket: t.bucket, Key: key }), {
      abortSignal: signal,
    });
    return { kind: 'found', body: (await res.Body?.transformToString()) ?? '' };
  } catch (err) {
    return classify(err as SdkError, t, key, deadline);
  }
}

/** Codes that mean "try again later" whatever their status. */
const transientCodes = new Set([
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'RequestThrottled',
  'RequestTimeout', // 400 on AWS: the connection was idle too long
  'RequestTimeTooSkewed', // the SDK corrects its clock offset from the answer; the next poll is signed right
  'InternalError',
  'ServiceUnavailable',
  'XMinioServerNotInitialized',
  'XMinioIAMNotInitialized',
]);

function classify(err: SdkError, t: WaitTarget, key: string, deadline: number): Answer {
  const status = err.$metadata?.httpStatusCode ?? err.$response?.statusCode;
  const code = err.name ?? 'Error';
  if (status === undefined) return unanswered(err, t, deadline);
  if (code === 'NoSuchKey') return { kind: 'missing' };
  if (code === 'AccessDenied') return { kind: 'denied' };
  const s3Says = err.message ? `: ${oneLine(err.message)}` : '';
  const rejected = rejection(code, t, s3Says);
  if (rejected) throw rejected;
  if (transientCodes.has(code) || status >= 500 || status === 429 || status === 408 || status < 400)
    return { kind: 'transient', what: `${status} ${code}` };
  // A 404 without a code (a HEAD-like answer, a proxy): the file is not there.
  if (status === 404) return { kind: 'missing' };
  // A 403 with another code is still "not yet": a bucket policy or proxy may word it differently.
  if (status === 403 && !/^(AllAccessDisabled|AccountProblem|InvalidObjectState)$/.test(code))
    return { kind: 'denied' };
  // Any other 4xx is about the request itself: asking again gets the same answer.
  throw new WaitRejectedError(
    code,
    `S3 answered ${status} ${code} for s3://${t.bucket}/${key}${s3Says}: check the bucket, AWS_REGION, AWS_ENDPOINT_URL_S3 and the key's permissions`,
  );
}

/** No HTTP answer: no credentials (rejected), or refused, reset, DNS, timed out, cut at the deadline. */
function unanswered(err: SdkError, t: WaitTarget, deadline: number): Answer {
  const code = err.name ?? 'Error';
  if (code === 'CredentialsProviderError')
    throw new WaitRejectedError(
      code,
      `no AWS credentials found (${oneLine(err.message ?? code)}): set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE, or a role) for bucket ${t.bucket}`,
    );
  if (code === 'AbortError')
    return {
      kind: 'transient',
      what:
        Date.now() >= deadline - 5
          ? 'no answer before the deadline'
          : `no answer within ${maxGetMs / 1000} s`,
    };
  return { kind: 'transient', what: err.code ?? code };
}

/** The codes that mean the credentials or configuration are wrong: polling again cannot help. */
function rejection(code: string, t: WaitTarget, s3Says: string): WaitRejectedError | undefined {
  const where = `bucket ${t.bucket}`;
  switch (code) {
    case 'InvalidAccessKeyId':
      return new WaitRejectedError(
        code,
        `S3 rejected the access key (${code}): check AWS_ACCESS_KEY_ID for ${where}`,
      );
    case 'SignatureDoesNotMatch':
      return new WaitRejectedError(
        code,
        `S3 rejected the request signature (${code}): check AWS_SECRET_ACCESS_KEY (it must belong to AWS_ACCESS_KEY_ID) for ${where}`,
      );
    case 'InvalidToken':
    case 'ExpiredToken':
    case 'TokenRefreshRequired':
      return new WaitRejectedError(
        code,
        `S3 rejected the session token (${code}): refresh AWS_SESSION_TOKEN (or unset it for a long-term key) for ${where}`,
      );
    case 'NoSuchBucket':
      return new WaitRejectedError(
        code,
        `bucket ${t.bucket} does not exist (${code}): check --bucket (or S3_BUCKET), AWS_REGION and AWS_ENDPOINT_URL_S3`,
      );
    case 'AuthorizationHeaderMalformed':
    case 'PermanentRedirect':
    case 'IllegalLocationConstraintException':
      return new WaitRejectedError(
        code,
        `S3 says ${where} is in another region (${code}${s3Says}): set AWS_REGION to the bucket's region`,
      );
  }
  return undefined;
}

/** One line, secrets (registered at start-up) replaced, bounded length. */
function oneLine(text: string): string {
  const line = redact(text).replace(/\s+/g, ' ').trim();
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}

/** The line CI sees when waitForDeploy timed out: what was polled, what S3 answered. */
export function describeTimeout(
  outcome: Extract<WaitOutcome, { state: 'timeout' }>,
  bucket: string,
  timeout: string,
): string {
  const name = (k: string) => k.slice(k.lastIndexOf('/') + 1);
  const prefix = outcome.key.slice(0, outcome.key.lastIndexOf('/') + 1);
  const answers = outcome.missing + outcome.denied;
  const parts = [
    `timed out after ${timeout} waiting for s3://${bucket}/${outcome.key} ` +
      `(polled ${name(outcome.key)} and ${name(outcome.failedKey)} ${outcome.polls} ${outcome.polls === 1 ? 'time' : 'times'})`,
  ];
  if (outcome.denied > 0 && outcome.denied === answers)
    parts.push(
      `S3 answered only 403 AccessDenied: this key may lack s3:GetObject on arn:aws:s3:::${bucket}/${prefix}*, ` +
        'or it has no s3:ListBucket (then S3 answers 403 for a missing file) and the file never appeared',
    );
  else if (outcome.denied > 0)
    parts.push(
      `${outcome.denied} of ${answers} answers were 403 AccessDenied (check s3:GetObject on arn:aws:s3:::${bucket}/${prefix}*)`,
    );
  if (outcome.transient > 0)
    parts.push(
      `${outcome.transient} transient ${outcome.transient === 1 ? 'error' : 'errors'} (last: ${outcome.lastTransient})`,
    );
  return parts.join('; ');
}
