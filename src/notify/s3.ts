// Completion and failure files in S3, the first outcome sink. Only s3:PutObject is needed: the
// operator never reads S3; what it wrote is remembered in the Version status.
import type { PutObjectCommand as PutObjectCommandType, S3Client } from '@aws-sdk/client-s3';
import { short } from '../source/sha.ts';
import { oneLine } from '../version/reasons.ts';
import type { Decided, Sink } from './sink.ts';

/** Key of the file CI waits for: cluster/namespace/deployment/sha7 (the seed's form). */
export function completionKey(cluster: string, namespace: string, deployment: string, sha: string): string {
  return `${cluster}/${namespace}/${deployment}/${short(sha)}`;
}

/** The parts of an outcome key, or undefined for another key. */
export function parseKey(key: string): { deployment: string; sha7: string; failed: boolean } | undefined {
  const [, , deployment, file] = key.split('/');
  if (!deployment || !file) return undefined;
  const failed = file.endsWith('.failed');
  return { deployment, sha7: failed ? file.slice(0, -'.failed'.length) : file, failed };
}

export function failureKey(cluster: string, namespace: string, deployment: string, sha: string): string {
  return `${completionKey(cluster, namespace, deployment, sha)}.failed`;
}

/** `<sha7>` holds the healthy time; `<sha7>.failed` holds `<time> <Reason>: <one line>`. */
export function s3File(cluster: string, o: Decided): { key: string; body: string } {
  return 'healthyAt' in o
    ? { key: completionKey(cluster, o.namespace, o.deployment, o.sha7), body: o.healthyAt }
    : {
        key: failureKey(cluster, o.namespace, o.deployment, o.sha7),
        body: `${o.at} ${o.reason}: ${oneLine(o.message)}\n`,
      };
}

export interface S3SinkOptions {
  bucket: string;
  cluster: string;
  /** Environment for the AWS SDK's credentials and endpoint. */
  env: NodeJS.ProcessEnv;
}

/** The AWS SDK loads on the first write (it costs ~0.2 s of start-up to every command otherwise). */
export function s3Sink({ bucket, cluster, env }: S3SinkOptions): Sink {
  let sdk: Promise<{ client: S3Client; PutObjectCommand: typeof PutObjectCommandType }> | undefined;
  return {
    name: 's3',
    render: (o) => s3File(cluster, o),
    async send({ key, body }, signal) {
      sdk ??= Promise.all([import('./s3-client.ts'), import('@aws-sdk/client-s3')]).then(([c, m]) => ({
        client: c.s3Client(env),
        PutObjectCommand: m.PutObjectCommand,
      }));
      const { client, PutObjectCommand } = await sdk;
      await client.send(
        new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: 'text/plain' }),
        signal ? { abortSignal: signal } : {},
      );
    },
  };
}
