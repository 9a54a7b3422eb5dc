// promote: the seed's serial rollout: all-clusters/NS/ into each cluster's folder in turn, commit,
// push, and (--wait) wait for every Deployment through S3 before the next cluster.
import { exitCode } from '../ci/outcome.ts';
import { groups } from '../config/variables.ts';
import type { Env } from '../config.ts';
import { registerSecret } from '../source/redact.ts';
import { need, type Options, parse } from './command.ts';
import { durations, pollOptions } from './polling.ts';

export const name = 'promote';
export const summary =
  "CI: copy all-clusters/NS/ into each cluster's folder in turn, commit (and push), waiting between " +
  'clusters; exits as wait does';
export const options = {
  repo: { type: 'string', value: 'DIR', default: '.', doc: 'a clone of the config repo' },
  namespace: { type: 'string', value: 'NS', required: true, doc: 'the namespace folder to promote' },
  clusters: {
    type: 'string',
    value: 'A,B,…',
    required: true,
    doc: 'the clusters, in the order to promote to',
  },
  push: { type: 'boolean', doc: 'git push after each commit (the operator sees only pushed commits)' },
  wait: {
    type: 'boolean',
    doc: 'wait for every Deployment of the namespace through S3 before the next cluster',
  },
  bucket: { ...pollOptions.bucket, doc: `${pollOptions.bucket.doc}; required with --wait` },
  timeout: { ...pollOptions.timeout, doc: `${pollOptions.timeout.doc}; per Deployment` },
  interval: pollOptions.interval,
} as const satisfies Options;
export const environment = ['S3_BUCKET', ...groups('aws')] as const;

export async function run(args: string[], env: Env): Promise<number> {
  const { values } = parse({ name, options }, args, env);
  const namespace = need(values.namespace, '--namespace');
  const clusters = need(values.clusters, '--clusters')
    .split(',')
    .map((c) => c.trim())
    .filter(Boolean);
  const bucket = values.wait ? need(values.bucket, '--bucket') : '';
  const times = durations(values);
  registerSecret(env.AWS_SECRET_ACCESS_KEY);
  registerSecret(env.AWS_SESSION_TOKEN);
  const [{ promote, PromoteError }, { waitForDeploy }, { s3Client }] = await Promise.all([
    import('../ci/promote.ts'),
    import('../ci/wait.ts'),
    import('../notify/s3-client.ts'),
  ]);
  const s3 = values.wait ? s3Client(env) : undefined;
  try {
    await promote({
      repo: values.repo,
      namespace,
      clusters,
      push: values.push,
      env,
      log: (line) => process.stdout.write(`${line}\n`),
      ...(s3
        ? {
            wait: async (cluster: string, deployment: string, sha: string) =>
              (await waitForDeploy(s3, { bucket, cluster, namespace, deployment, sha }, times)).state,
          }
        : {}),
    });
    return 0;
  } catch (err) {
    if (err instanceof PromoteError) {
      process.stderr.write(`promote: ${err.message}\n`);
      return exitCode[err.state];
    }
    throw err;
  }
}
