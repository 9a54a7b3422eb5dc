// Completion and failure files in S3. Only s3:PutObject is needed: the operator never reads S3;
// what it wrote is remembered in the Version status.
import type { PutObjectCommand as PutObjectCommandType, S3Client } from '@aws-sdk/client-s3';

export interface Notifier {
  /** `signal` ends a PUT early (shutdown, newer commit): the file stays pending. */
  put(key: string, body: string, signal?: AbortSignal): Promise<void>;
}

/** Key of the file CI waits for: cluster/namespace/deployment/sha7 (the seed's form). */
export function completionKey(cluster: string, namespace: string, deployment: string, sha: string): string {
  return `${cluster}/${namespace}/${deployment}/${sha.slice(0, 7)}`;
}

export function failureKey(cluster: string, namespace: string, deployment: string, sha: string): string {
  return `${completionKey(cluster, namespace, deployment, sha)}.failed`;
}

/** The AWS SDK loads on the first write (it costs ~0.2 s of start-up to every command otherwise). */
export function s3Notifier(bucket: string, env: NodeJS.ProcessEnv = process.env): Notifier {
  let sdk: Promise<{ client: S3Client; PutObjectCommand: typeof PutObjectCommandType }> | undefined;
  return {
    async put(key, body, signal) {
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
