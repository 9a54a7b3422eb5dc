// CI side: wait for the operator's S3 file for one deployment at one sha.

import { setTimeout as sleep } from 'node:timers/promises';
import { GetObjectCommand, NoSuchKey, type S3Client } from '@aws-sdk/client-s3';
import { completionKey, failureKey } from '../notify/s3.ts';

export { exitCode } from './outcome.ts';

export type WaitOutcome =
  | { state: 'deployed'; at: string; key: string }
  | { state: 'failed'; reason: string; key: string }
  | { state: 'timeout'; key: string };

export interface WaitTarget {
  bucket: string;
  cluster: string;
  namespace: string;
  deployment: string;
  /** Short or full sha. */
  sha: string;
}

export async function waitForDeploy(
  s3: S3Client,
  t: WaitTarget,
  opts: { timeoutMs: number; intervalMs: number; onPoll?: () => void },
): Promise<WaitOutcome> {
  const ok = completionKey(t.cluster, t.namespace, t.deployment, t.sha);
  const bad = failureKey(t.cluster, t.namespace, t.deployment, t.sha);
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    opts.onPoll?.();
    const done = await read(s3, t.bucket, ok);
    if (done !== undefined) return { state: 'deployed', at: done.trim(), key: ok };
    const failed = await read(s3, t.bucket, bad);
    if (failed !== undefined) return { state: 'failed', reason: failed.trim(), key: bad };
    if (Date.now() + opts.intervalMs > deadline) return { state: 'timeout', key: ok };
    await sleep(opts.intervalMs);
  }
}

async function read(s3: S3Client, bucket: string, key: string): Promise<string | undefined> {
  try {
    const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return (await res.Body?.transformToString()) ?? '';
  } catch (err) {
    if (err instanceof NoSuchKey || (err as { name?: string }).name === 'NoSuchKey') return undefined;
    throw err;
  }
}
