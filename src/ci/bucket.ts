// `status`'s reads of the bucket: list the outcome files (every page), GET the bodies latest.ts asks
// for. Needs s3:ListBucket on the bucket and s3:GetObject on its objects, nothing else.
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { ConfigError } from '../config.ts';
import { redact } from '../source/redact.ts';
import { clipped, oneLine as reasonLine } from '../version/reasons.ts';
import { latestOutcomes } from './latest.ts';
import { type Outcome, type OutcomeFile, outcomeFile } from './outcome-files.ts';

export interface Scan {
  outcomes: Outcome[];
  /** Keys listed (outcome files or not), pages listed, bodies read: what the answer cost. */
  keys: number;
  pages: number;
  reads: number;
}

export interface ScanTarget {
  bucket: string;
  /** Key prefixes to list ('' lists all), e.g. `iowa-a/` for one cluster. */
  prefixes: readonly string[];
  /** Which outcome files count (the --cluster and --namespace filters). */
  keep: (f: OutcomeFile) => boolean;
  /** The S3 endpoint as configured, for messages: a URL or "AWS". */
  endpoint: string;
}

/** S3 refused the credentials, permissions or configuration: asking again cannot help (exit 2). */
export class BucketRejectedError extends ConfigError {
  constructor(problem: string) {
    super('status', problem);
    this.name = 'BucketRejectedError';
  }
}

export async function scanBucket(s3: S3Client, t: ScanTarget): Promise<Scan> {
  const scan: Scan = { outcomes: [], keys: 0, pages: 0, reads: 0 };
  const files: OutcomeFile[] = [];
  for (const prefix of t.prefixes) {
    const listed = await list(s3, t, prefix);
    files.push(...listed.files);
    scan.keys += listed.keys;
    scan.pages += listed.pages;
  }
  scan.outcomes = await latestOutcomes(files, async (f) => {
    scan.reads++;
    try {
      const res = await s3.send(new GetObjectCommand({ Bucket: t.bucket, Key: f.key }));
      return (await res.Body?.transformToString('utf8')) ?? '';
    } catch (err) {
      if ((err as SdkError).name === 'NoSuchKey') return undefined; // deleted since the listing
      return failed(err, t, f.key);
    }
  });
  return scan;
}

/** Every page of `prefix`: the outcome files `t` keeps, and how many keys and pages there were. */
async function list(s3: S3Client, t: ScanTarget, prefix: string) {
  const listed = { files: [] as OutcomeFile[], keys: 0, pages: 0 };
  let token: string | undefined;
  do {
    const page = await s3
      .send(
        new ListObjectsV2Command({ Bucket: t.bucket, Prefix: prefix || undefined, ContinuationToken: token }),
      )
      .catch((err: unknown) => failed(err, t, 'list'));
    listed.pages++;
    for (const o of page.Contents ?? []) {
      listed.keys++;
      const f = o.Key ? outcomeFile(o.Key, o.LastModified?.getTime() ?? 0) : undefined;
      if (f && t.keep(f)) listed.files.push(f);
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return listed;
}

interface SdkError {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

/** One line saying what S3 answered and what to do: rejections exit 2, S3 unavailable exits 1. */
function failed(err: unknown, t: ScanTarget, what: 'list' | string): never {
  const e = err as SdkError;
  const status = e.$metadata?.httpStatusCode;
  const code = e.name ?? 'Error';
  const op = what === 'list' ? `listing bucket ${t.bucket}` : `reading s3://${t.bucket}/${what}`;
  if (code === 'CredentialsProviderError')
    throw new BucketRejectedError(
      'no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE, or a role)',
    );
  if (status === undefined)
    throw new Error(
      `status: S3 at ${t.endpoint} did not answer ${op} (${e.code ?? code}): check AWS_ENDPOINT_URL_S3 and the network`,
    );
  const says = e.message ? `: ${oneLine(e.message)}` : '';
  if (status >= 500 || status === 429 || status === 408)
    throw new Error(`status: S3 answered ${status} ${code} to ${op}${says}: try again later`);
  throw new BucketRejectedError(`S3 answered ${status} ${code} to ${op}: ${advice(code, t, what)}`);
}

function advice(code: string, t: ScanTarget, what: string): string {
  const arn = `arn:aws:s3:::${t.bucket}`;
  switch (code) {
    case 'AccessDenied':
      return what === 'list'
        ? `the key needs s3:ListBucket on ${arn} and s3:GetObject on ${arn}/*, or --bucket is not the bucket meant`
        : `the key may list the bucket but not read it: it needs s3:GetObject on ${arn}/*`;
    case 'NoSuchBucket':
      return 'no such bucket: check --bucket (or S3_BUCKET), AWS_REGION and AWS_ENDPOINT_URL_S3';
    case 'InvalidAccessKeyId':
      return 'S3 does not know this access key: check AWS_ACCESS_KEY_ID';
    case 'SignatureDoesNotMatch':
      return 'check AWS_SECRET_ACCESS_KEY (it must belong to AWS_ACCESS_KEY_ID)';
    case 'InvalidToken':
    case 'ExpiredToken':
    case 'TokenRefreshRequired':
      return 'refresh AWS_SESSION_TOKEN (or unset it for a long-term key)';
    case 'AuthorizationHeaderMalformed':
    case 'PermanentRedirect':
    case 'IllegalLocationConstraintException':
      return "the bucket is in another region: set AWS_REGION to the bucket's region";
  }
  return "check the bucket, AWS_REGION, AWS_ENDPOINT_URL_S3 and the key's permissions";
}

/** One line, secrets (registered at start-up) replaced, bounded length. */
function oneLine(text: string): string {
  return clipped(reasonLine(redact(text)), 300);
}
