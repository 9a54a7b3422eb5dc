// `git-sync-operator wait` as CI runs it (the real CLI process), against real MinIO: directly, and
// through a loopback proxy that answers like AWS (403 AccessDenied for a missing key to a caller
// without s3:ListBucket) and injects 5xx, throttling, connection resets and hangs.
// Exit codes: 0 deployed, 1 failed, 2 bad input or credentials, 124 timed out.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { short } from '../../src/source/sha.ts';
import { removeDir, run, tempDir, waitFor } from '../../testbed/proc.ts';
import { type S3Credentials, type S3Fixture, startS3 } from '../../testbed/s3.ts';
import { type AwsLikeS3, startAwsLikeS3 } from '../support/aws-like-s3.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const randomSha = () => randomBytes(20).toString('hex');
const prefix = 'iowa-a/ci/web';

let s3: S3Fixture;
let aws: AwsLikeS3;
const tempDirs: string[] = [];

before(async () => {
  s3 = await startS3({ bucket: 'ci-status' });
  aws = await startAwsLikeS3(s3.endpoint);
});

after(async () => {
  await aws?.stop();
  await s3?.stop();
  for (const d of tempDirs) await removeDir(d);
});

interface Result {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

/** The environment of a CI job: only these AWS settings (none inherited from this machine). */
function ciEnv(creds: S3Credentials, endpoint: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env))
    if (!/^(AWS_|S3_BUCKET$|CLUSTER_NAME$)/.test(k)) env[k] = v;
  return {
    ...env,
    AWS_ACCESS_KEY_ID: creds.accessKeyId,
    AWS_SECRET_ACCESS_KEY: creds.secretAccessKey,
    AWS_REGION: 'us-east-1',
    AWS_ENDPOINT_URL_S3: endpoint,
    AWS_EC2_METADATA_DISABLED: 'true',
  };
}

/** Runs the real CLI to completion. */
async function cli(args: string[], env: NodeJS.ProcessEnv, cwd = root): Promise<Result> {
  const t0 = Date.now();
  try {
    const { stdout, stderr } = await run(
      process.execPath,
      [join(root, 'bin', 'git-sync-operator.js'), ...args],
      {
        env,
        cwd,
      },
    );
    return { code: 0, stdout, stderr, ms: Date.now() - t0 };
  } catch (err) {
    const x = err as { code: number; stdout: string; stderr: string };
    return { code: x.code, stdout: x.stdout, stderr: x.stderr, ms: Date.now() - t0 };
  }
}

/** `wait` for iowa-a/ci/web at `sha` (defaults: through the AWS-like proxy, with the get-only key). */
function wait(
  sha: string,
  o: { creds?: S3Credentials; endpoint?: string; bucket?: string; timeout?: string; interval?: string } = {},
): Promise<Result> {
  const args = ['wait', '--bucket', o.bucket ?? s3.bucket, '--cluster', 'iowa-a', '--namespace', 'ci'];
  args.push('--deployment', 'web', '--sha', sha, '--timeout', o.timeout ?? '60s');
  args.push('--interval', o.interval ?? '200ms');
  return cli(args, ciEnv(o.creds ?? s3.getOnly, o.endpoint ?? aws.endpoint));
}

/** Waits for `until`, failing at once if the CLI ends first (the old behaviour: give up early). */
async function whileWaiting<T>(pending: Promise<Result>, what: string, until: () => Promise<T | undefined>) {
  return Promise.race([
    waitFor(what, until, { timeoutMs: 30_000, intervalMs: 50 }),
    pending.then((r) => assert.fail(`wait ended before ${what}: exit ${r.code}\n${r.stdout}${r.stderr}`)),
  ]);
}

const stamp = '2030-01-02T03:04:05Z';

test('a GetObject-only key on AWS (403 for a missing key): wait polls through the 403s and exits 0 when the file appears', async () => {
  const sha = randomSha();
  const denied0 = aws.stats.denied;
  const pending = wait(sha);
  await sleep(3000);
  // It has been polling (and seeing 403) all along, not exited.
  await whileWaiting(pending, 'two 403 answers', async () =>
    aws.stats.denied - denied0 >= 2 ? true : undefined,
  );
  await s3.putObject(`${prefix}/${short(sha)}`, `${stamp}\n`);
  const r = await pending;
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.equal(r.stdout, `deployed: s3://${s3.bucket}/${prefix}/${short(sha)} at ${stamp}\n`);
  assert.equal(r.stderr, '');
  assert.ok(aws.stats.denied - denied0 >= 4, `only ${aws.stats.denied - denied0} 403 answers`);
});

test('500s, 503 SlowDown and connection resets for a while, then the file: exit 0', async () => {
  const sha = randomSha();
  const faults0 = aws.stats.faults;
  // In pairs: a client that retries once still meets a fault each time.
  const faults = [500, 500, 'reset', 'reset', 503, 503, 'reset', 500, 500, 'reset'] as const;
  aws.inject(...faults);
  try {
    const pending = wait(sha);
    await whileWaiting(pending, 'every fault served', async () =>
      aws.pendingFaults === 0 ? true : undefined,
    );
    await sleep(500); // and some polls answered (403) after them
    await s3.putObject(`${prefix}/${short(sha)}`, `${stamp}\n`);
    const r = await pending;
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(r.stdout, `deployed: s3://${s3.bucket}/${prefix}/${short(sha)} at ${stamp}\n`);
    assert.equal(aws.stats.faults - faults0, faults.length);
  } finally {
    aws.clearFaults();
  }
});

test('credentials or bucket S3 rejects: exit 2 at once with one line naming what to fix, no secret', async () => {
  const wrongSecret = `wrong-${randomBytes(12).toString('hex')}`;
  const cases = [
    {
      what: 'wrong secret',
      o: { creds: { accessKeyId: s3.getOnly.accessKeyId, secretAccessKey: wrongSecret } },
      line: /^wait: S3 rejected the request signature \(SignatureDoesNotMatch\): check AWS_SECRET_ACCESS_KEY .*for bucket ci-status\n$/,
    },
    {
      what: 'unknown access key',
      o: { creds: { accessKeyId: `nobody-${randomBytes(4).toString('hex')}`, secretAccessKey: wrongSecret } },
      line: /^wait: S3 rejected the access key \(InvalidAccessKeyId\): check AWS_ACCESS_KEY_ID for bucket ci-status\n$/,
    },
    {
      what: 'unknown bucket',
      o: { creds: s3.admin, bucket: 'no-such-bucket' },
      line: /^wait: bucket no-such-bucket does not exist \(NoSuchBucket\): check --bucket/,
    },
  ];
  for (const c of cases) {
    for (const endpoint of [aws.endpoint, s3.endpoint]) {
      const r = await wait(randomSha(), { ...c.o, endpoint });
      const where = `${c.what} via ${endpoint === aws.endpoint ? 'the AWS-like proxy' : 'MinIO'}`;
      assert.equal(r.code, 2, `${where}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, c.line, where);
      assert.equal(r.stderr.split('\n').length, 2, `${where}: one line: ${r.stderr}`);
      assert.equal(r.stdout, '');
      assert.ok(!r.stderr.includes(wrongSecret) && !r.stderr.includes(s3.admin.secretAccessKey), where);
      assert.ok(r.ms < 15_000, `${where}: took ${r.ms} ms with --timeout 60s`);
    }
  }
});

test('timeout while S3 answers only 403: exit 124, the line names both keys and the missing s3:GetObject', async () => {
  const hint = new RegExp(
    'S3 answered only 403 AccessDenied: this key may lack s3:GetObject on ' +
      `arn:aws:s3:::ci-status/${prefix}/\\*, or it has no s3:ListBucket .* and the file never appeared`,
  );
  // Through the AWS-like proxy: a get-only key and no file. Directly: a key without s3:GetObject.
  for (const [what, o] of [
    ['get-only key, no file, AWS-like', {}],
    ['put-only key on MinIO', { creds: s3.putOnly, endpoint: s3.endpoint }],
  ] as const) {
    const sha = randomSha();
    const r = await wait(sha, { ...o, timeout: '2s' });
    assert.equal(r.code, 124, `${what}: ${r.stdout}${r.stderr}`);
    const line = r.stderr.trimEnd();
    assert.ok(!line.includes('\n'), `${what}: one line: ${r.stderr}`);
    assert.match(line, new RegExp(`^timed out after 2s waiting for s3://ci-status/${prefix}/${short(sha)} `));
    assert.match(line, new RegExp(`polled ${short(sha)} and ${short(sha)}\\.failed \\d+ times`), what);
    assert.match(line, hint, what);
    assert.doesNotMatch(line, /transient/, what);
    assert.ok(r.ms >= 1800 && r.ms < 15_000, `${what}: took ${r.ms} ms`);
  }
});

test('timeout through S3 errors (503 SlowDown) and hangs: exit 124 by the deadline, the errors counted', async () => {
  aws.inject(...Array.from({ length: 1000 }, () => 503 as const));
  try {
    const r = await wait(randomSha(), { timeout: '2s' });
    assert.equal(r.code, 124, r.stdout + r.stderr);
    assert.match(r.stderr, /; \d+ transient errors \(last: 503 SlowDown\)\n$/);
  } finally {
    aws.clearFaults();
  }
  // A hung S3 (connections accepted, never answered): each GET is cut at the deadline.
  aws.inject(...Array.from({ length: 100 }, () => 'hang' as const));
  try {
    const r = await wait(randomSha(), { timeout: '3s' });
    assert.equal(r.code, 124, r.stdout + r.stderr);
    assert.match(
      r.stderr,
      /polled \w+ and \w+\.failed 1 time\); 1 transient error \(last: no answer before the deadline\)\n$/,
    );
    assert.ok(r.ms < 10_000, `took ${r.ms} ms with --timeout 3s`);
  } finally {
    aws.clearFaults();
  }
});

test('a .failed file (behind 403s until it appears): exit 1 with its reason', async () => {
  const sha = randomSha();
  const reason = `${stamp} RolloutTimeout: Deployment/web: 0/2 updated`;
  const denied0 = aws.stats.denied;
  const pending = wait(sha);
  await whileWaiting(pending, 'two 403 answers', async () =>
    aws.stats.denied - denied0 >= 2 ? true : undefined,
  );
  await s3.putObject(`${prefix}/${short(sha)}.failed`, `${reason}\n`);
  const r = await pending;
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.equal(r.stderr, `failed: ${reason}\n`);
  assert.equal(r.stdout, '');
});

test('promote --wait with a secret S3 rejects: exit 2 with the same line', async () => {
  const repo = await tempDir('wait-promote');
  tempDirs.push(repo);
  const env = {
    ...ciEnv({ accessKeyId: s3.getOnly.accessKeyId, secretAccessKey: 'not-the-secret' }, aws.endpoint),
    GIT_AUTHOR_NAME: 'ci',
    GIT_AUTHOR_EMAIL: 'ci@example.invalid',
    GIT_COMMITTER_NAME: 'ci',
    GIT_COMMITTER_EMAIL: 'ci@example.invalid',
  };
  await mkdir(join(repo, 'all-clusters', 'ci'), { recursive: true });
  await writeFile(
    join(repo, 'all-clusters', 'ci', 'web.yaml'),
    'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  selector: {matchLabels: {app: web}}\n' +
      '  template:\n    metadata: {labels: {app: web}}\n    spec: {containers: [{name: web, image: nginx}]}\n',
  );
  await run('git', ['init', '--quiet', repo], { env });
  await run('git', ['add', '--all'], { env, cwd: repo });
  await run('git', ['commit', '--quiet', '-m', 'stage'], { env, cwd: repo });
  const args = ['promote', '--repo', repo, '--namespace', 'ci', '--clusters', 'iowa-a', '--wait'];
  const r = await cli([...args, '--bucket', s3.bucket, '--timeout', '60s', '--interval', '200ms'], env);
  assert.equal(r.code, 2, r.stdout + r.stderr);
  assert.match(r.stderr, /wait: S3 rejected the request signature \(SignatureDoesNotMatch\)/);
  assert.ok(r.ms < 15_000, `took ${r.ms} ms`);
});
