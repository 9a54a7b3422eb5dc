// wait: CI polls S3 for the outcome of one deployment at one commit.
import { exitCode } from '../ci/outcome.ts';
import { groups } from '../config/variables.ts';
import { ConfigError, type Env } from '../config.ts';
import { registerSecret } from '../source/redact.ts';
import { need, type Options, parse } from './command.ts';
import { durations, pollOptions } from './polling.ts';

export const name = 'wait';
export const summary =
  'CI: wait for the S3 file of one deployment at one commit; exit 0 deployed, 1 failed, ' +
  '2 bad input or credentials, 124 timed out';
export const options = {
  bucket: { ...pollOptions.bucket, required: true },
  cluster: {
    type: 'string',
    value: 'NAME',
    required: true,
    env: 'CLUSTER_NAME',
    doc: "the cluster's folder in the config repo",
  },
  namespace: { type: 'string', value: 'NS', required: true, doc: 'the namespace' },
  deployment: { type: 'string', value: 'NAME', required: true, doc: 'the Deployment' },
  sha: { type: 'string', value: 'SHA', required: true, doc: 'the commit (7 to 64 hex characters)' },
  timeout: pollOptions.timeout,
  interval: pollOptions.interval,
} as const satisfies Options;
export const environment = ['S3_BUCKET', 'CLUSTER_NAME', ...groups('aws')] as const;

export async function run(args: string[], env: Env): Promise<number> {
  const { values } = parse({ name, options }, args, env);
  const sha = need(values.sha, '--sha');
  if (!/^[0-9a-f]{7,64}$/.test(sha))
    throw new ConfigError('--sha', `"${sha}" is not a hex commit sha (7 or more characters)`);
  const target = {
    bucket: need(values.bucket, '--bucket'),
    cluster: need(values.cluster, '--cluster'),
    namespace: need(values.namespace, '--namespace'),
    deployment: need(values.deployment, '--deployment'),
    sha,
  };
  const times = durations(values);
  // Never echoed; redacted should an S3 or SDK message ever carry them.
  registerSecret(env.AWS_SECRET_ACCESS_KEY);
  registerSecret(env.AWS_SESSION_TOKEN);
  // The AWS SDK (~0.2 s) loads only now, after the arguments are known to be good.
  const [{ waitForDeploy, describeTimeout, WaitRejectedError }, { s3Client }] = await Promise.all([
    import('../ci/wait.ts'),
    import('../notify/s3-client.ts'),
  ]);
  let outcome: Awaited<ReturnType<typeof waitForDeploy>>;
  try {
    // One HTTP request per GET: the poll loop is the retry, and counts what S3 answered.
    outcome = await waitForDeploy(s3Client(env, { maxAttempts: 1 }), target, times);
  } catch (err) {
    if (!(err instanceof WaitRejectedError)) throw err;
    process.stderr.write(`${err.message}\n`); // "wait: S3 rejected … : check …"
    return exitCode.rejected;
  }
  if (outcome.state === 'deployed')
    process.stdout.write(`deployed: s3://${target.bucket}/${outcome.key} at ${outcome.at}\n`);
  if (outcome.state === 'failed') process.stderr.write(`failed: ${outcome.reason}\n`);
  if (outcome.state === 'timeout')
    process.stderr.write(`${describeTimeout(outcome, target.bucket, values.timeout)}\n`);
  return exitCode[outcome.state];
}
