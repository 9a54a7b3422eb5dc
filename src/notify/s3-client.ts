// An S3 client from the environment, shared by the operator (writes) and CI commands (reads).
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import type { Env } from '../config/variables.ts';

/**
 * The SDK's standard chain (env, profile, web identity); a custom endpoint implies path-style (MinIO).
 * `env`: the AWS_* variables (the CLI entry hands its environment down). `overrides` for one use
 * (CI's `wait` polls with maxAttempts 1: its loop is the retry).
 */
export function s3Client(env: Env, overrides: Pick<S3ClientConfig, 'maxAttempts'> = {}): S3Client {
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
    ...overrides,
  });
}
