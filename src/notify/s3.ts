// Completion and failure files in S3. Only s3:PutObject is needed: the operator never reads S3;
// what it wrote is remembered in the Version status.
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';

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

/** The SDK's standard chain (env, profile, web identity); a custom endpoint implies path-style (MinIO). */
export function s3Client(env: NodeJS.ProcessEnv = process.env): S3Client {
  const endpoint = env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL;
  return new S3Client({
    region: env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1',
    ...(endpoint ? { endpoint, forcePathStyle: true } : {}),
    // Explicit keys when given (tests, several operators in one process); else the SDK's chain.
    ...(env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY
      ? {
          credentials: {
            accessKeyId: env.AWS_ACCESS_KEY_ID,
            secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
            sessionToken: env.AWS_SESSION_TOKEN,
          },
        }
      : {}),
    maxAttempts: 2,
    // Without timeouts a hung S3 (accepting, never answering) holds a PUT — and with it the
    // namespace's next reconcile and the shutdown — for ever. A failed PUT stays pending.
    requestHandler: { connectionTimeout: 5_000, requestTimeout: 15_000, throwOnRequestTimeout: true },
  });
}

export function s3Notifier(bucket: string, env: NodeJS.ProcessEnv = process.env): Notifier {
  const client = s3Client(env);
  return {
    async put(key, body, signal) {
      await client.send(
        new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: 'text/plain' }),
        signal ? { abortSignal: signal } : {},
      );
    },
  };
}
