// status: what is live where, from S3 alone — the latest outcome file of every cluster × namespace ×
// deployment in the bucket every cluster's operator writes to. The one cross-cluster view.
import { groups } from '../config/variables.ts';
import type { Env } from '../config.ts';
import { registerSecret } from '../source/redact.ts';
import { need, type Options, parse, UsageError } from './command.ts';
import { pollOptions } from './polling.ts';
import { matrix, table } from './status-view.ts';

export const name = 'status';
export const summary =
  'what is live where: the latest S3 outcome of every cluster × namespace × deployment in the bucket ' +
  '(the key needs s3:ListBucket and s3:GetObject, nothing else)';
export const options = {
  bucket: {
    ...pollOptions.bucket,
    required: true,
    doc:
      "the bucket every cluster's operator writes to; the key needs s3:ListBucket on it and " +
      's3:GetObject on its objects, nothing else. Without s3:ListBucket S3 answers 403 AccessDenied ' +
      '(AWS; MinIO answers the same to a user without any policy)',
  },
  cluster: {
    type: 'string',
    value: 'NAME',
    multiple: true,
    doc: 'only this cluster (repeat for more); lists only its keys',
  },
  namespace: { type: 'string', value: 'NS', multiple: true, doc: 'only this namespace (repeat for more)' },
  output: {
    type: 'string',
    value: 'FORMAT',
    default: 'table',
    doc: 'table (a row per cluster × namespace × deployment), matrix (a column per cluster) or json',
  },
} as const satisfies Options;
export const environment = ['S3_BUCKET', ...groups('aws')] as const;

const formats = ['table', 'matrix', 'json'] as const;

export async function run(args: string[], env: Env): Promise<number> {
  const { values } = parse({ name, options }, args, env);
  const bucket = need(values.bucket, '--bucket');
  const output = checked(values);
  registerSecret(env.AWS_SECRET_ACCESS_KEY);
  registerSecret(env.AWS_SESSION_TOKEN);
  // The AWS SDK (~0.2 s) loads only now, after the arguments are known to be good.
  const [{ scanBucket }, { s3Client }] = await Promise.all([
    import('../ci/bucket.ts'),
    import('../notify/s3-client.ts'),
  ]);
  const clusters = new Set(values.cluster);
  const namespaces = new Set(values.namespace);
  const s3 = s3Client(env);
  const scan = await scanBucket(s3, {
    bucket,
    prefixes: prefixes(values.cluster, values.namespace),
    keep: (f) =>
      (!clusters.size || clusters.has(f.cluster)) && (!namespaces.size || namespaces.has(f.namespace)),
    endpoint: env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL ?? 'AWS',
  }).finally(() => s3.destroy());
  const { outcomes } = scan;
  process.stderr.write(
    `status: s3://${bucket}: ${outcomes.length} deployments from ${scan.keys} keys ` +
      `(${scan.pages} list ${scan.pages === 1 ? 'page' : 'pages'}, ${scan.reads} files read)\n`,
  );
  if (output === 'json') process.stdout.write(`${JSON.stringify(outcomes, null, 2)}\n`);
  else if (outcomes.length === 0)
    process.stdout.write(`no outcome files in s3://${bucket}${filtered(values)}\n`);
  else process.stdout.write((output === 'matrix' ? matrix : table)(outcomes, Date.now()));
  return 0;
}

/** The output format, after checking the options (UsageError: exit 2). */
function checked(v: { output: string; cluster: string[]; namespace: string[] }): (typeof formats)[number] {
  const output = formats.find((f) => f === v.output);
  if (!output) throw new UsageError(name, `--output is table, matrix or json, not "${v.output}"`);
  for (const [flag, list] of [
    ['--cluster', v.cluster],
    ['--namespace', v.namespace],
  ] as const)
    for (const n of list)
      if (!n || n.includes('/'))
        throw new UsageError(name, `${flag} "${n}" is not a name (no "/", not empty)`);
  return output;
}

/** One listing per cluster (and namespace) asked for: only their keys are listed. */
function prefixes(clusters: readonly string[], namespaces: readonly string[]): string[] {
  if (clusters.length === 0) return [''];
  const cs = [...new Set(clusters)];
  return namespaces.length === 0
    ? cs.map((c) => `${c}/`)
    : cs.flatMap((c) => [...new Set(namespaces)].map((n) => `${c}/${n}/`));
}

/** " for cluster a, b; namespace x", or nothing without filters. */
function filtered(v: { cluster: readonly string[]; namespace: readonly string[] }): string {
  const parts: string[] = [];
  if (v.cluster.length) parts.push(`cluster ${v.cluster.join(', ')}`);
  if (v.namespace.length) parts.push(`namespace ${v.namespace.join(', ')}`);
  return parts.length ? ` for ${parts.join('; ')}` : '';
}
