// `git-sync-operator status` (the real CLI process) against real MinIO: three clusters' outcome
// files, several commits per deployment written out of order, keys that are not outcomes, more
// than one page of listing; run with a key that has only s3:ListBucket + s3:GetObject. Then the
// keys and configurations S3 refuses, each in one line.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Outcome } from '../../src/ci/outcome-files.ts';
import { mapLimit } from '../../src/kube/pool.ts';
import { isoSeconds } from '../../src/time.ts';
import { exec, freePort, removeDir, run, tempDir } from '../../testbed/proc.ts';
import { minioBinaries, type S3Credentials, type S3Fixture, startS3 } from '../../testbed/s3.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const bucket = 'deploy-status';
const clusters = ['frankfurt', 'iowa-a', 'oregon-b'];
const namespaces = ['bedrock-dev', 'bedrock-prod'];
const deployments = ['bedrock', 'celery'];
/** Non-outcome keys sorted before every cluster: the clusters' files are on the listing's 2nd page. */
const noise = 1000;
const sha7 = () => randomBytes(4).toString('hex').slice(0, 7);
const minute = 60_000;

let s3: S3Fixture;
let work: string;
/** Keys with their own MinIO policy: exactly status's (ListBucket + GetObject), ListBucket only, none. */
let users: Record<'status' | 'listOnly' | 'noPolicy', S3Credentials>;
/** What status must report, computed from what was written. */
const expected: Outcome[] = [];
/** The deployment whose newest file has no readable time: its LastModified stands in. */
const garbage = { cluster: 'oregon-b', namespace: 'bedrock-dev', deployment: 'celery' };
let t0: number;

before(async () => {
  s3 = await startS3({ bucket });
  work = await tempDir('status-bucket');
  users = await createUsers();
  t0 = Date.now();
  const at = (ago: number) => isoSeconds(new Date(t0 - ago));
  const groups = clusters.flatMap((c) => namespaces.flatMap((n) => deployments.map((d) => ({ c, n, d }))));
  const writes = groups.map(({ c, n, d }) => {
    const place = { cluster: c, namespace: n, deployment: d };
    const [old, mid, last] = [sha7(), sha7(), sha7()];
    const files: [string, string][] = [];
    const lastFails = c === 'oregon-b' && n === 'bedrock-prod' && d === 'bedrock';
    const noNewer = c === 'iowa-a' && n === 'bedrock-dev' && d === 'bedrock';
    // The newest first: by LastModified the oldest would look newest; the time in the body decides.
    if (!noNewer)
      files.push(
        lastFails
          ? [
              `${last}.failed`,
              `${at(90 * minute)} RolloutFailed: deployment bedrock: ProgressDeadlineExceeded\n`,
            ]
          : [last, at(90 * minute)],
      );
    files.push([old, at(50 * 60 * minute)]);
    files.push([`${mid}.failed`, `${at(330 * minute)} RolloutTimeout: not healthy within 600 s\n`]);
    if (noNewer)
      expected.push({
        ...place,
        sha: mid,
        at: at(330 * minute),
        state: 'failed',
        reason: 'RolloutTimeout',
        message: 'not healthy within 600 s',
      });
    else if (lastFails)
      expected.push({
        ...place,
        sha: last,
        at: at(90 * minute),
        state: 'failed',
        reason: 'RolloutFailed',
        message: 'deployment bedrock: ProgressDeadlineExceeded',
      });
    else expected.push({ ...place, sha: last, at: at(90 * minute), state: 'deployed' });
    if (c === garbage.cluster && n === garbage.namespace && d === garbage.deployment) {
      const g = sha7();
      files.push([g, 'not a time\n']);
      expected[expected.length - 1] = { ...place, sha: g, at: '(LastModified)', state: 'deployed' };
    }
    return { prefix: `${c}/${n}/${d}`, files };
  });
  // Each deployment's files in order (LastModified increases), the deployments in parallel.
  await mapLimit(writes, 12, async ({ prefix, files }) => {
    for (const [name, body] of files) await s3.putObject(`${prefix}/${name}`, body);
  });
  // Keys that are not outcomes: beside outcomes, deeper, and a page of them before the clusters.
  await s3.putObject('iowa-a/bedrock-dev/bedrock/README.txt', 'not an outcome');
  await s3.putObject(`iowa-a/bedrock-dev/bedrock/${sha7()}/extra`, at(0));
  await s3.putObject('iowa-a/bedrock-dev/notes', at(0));
  await mapLimit(
    Array.from({ length: noise }, (_, i) => i),
    32,
    (i) => s3.putObject(`archive/2025/${String(i).padStart(4, '0')}.json`, '{}'),
  );
});

after(async () => {
  await s3?.stop();
  if (work) await removeDir(work);
});

/** Users with their own policy, made with mc (MinIO's admin API encrypts its payloads). */
async function createUsers(): Promise<typeof users> {
  const { mc } = minioBinaries();
  const env = { ...process.env, MC_CONFIG_DIR: join(work, 'mc') };
  const run_ = (...args: string[]) => run(mc, ['--no-color', ...args], { env });
  await run_('alias', 'set', 'gso', s3.endpoint, s3.admin.accessKeyId, s3.admin.secretAccessKey);
  const list = { Effect: 'Allow', Action: ['s3:ListBucket'], Resource: [`arn:aws:s3:::${bucket}`] };
  const get = { Effect: 'Allow', Action: ['s3:GetObject'], Resource: [`arn:aws:s3:::${bucket}/*`] };
  const policies = { status: [list, get], listOnly: [list], noPolicy: undefined };
  const made: Partial<typeof users> = {};
  for (const [name, statements] of Object.entries(policies)) {
    const creds = {
      accessKeyId: `${name.toLowerCase()}-${sha7()}`,
      secretAccessKey: randomBytes(16).toString('hex'),
    };
    await run_('admin', 'user', 'add', 'gso', creds.accessKeyId, creds.secretAccessKey);
    if (statements) {
      const file = join(work, `${name}.json`);
      await writeFile(file, JSON.stringify({ Version: '2012-10-17', Statement: statements }));
      await run_('admin', 'policy', 'create', 'gso', `gso-${name}`, file);
      await run_('admin', 'policy', 'attach', 'gso', `gso-${name}`, '--user', creds.accessKeyId);
    }
    made[name as keyof typeof users] = creds;
  }
  return made as typeof users;
}

/** The environment of an engineer's shell: only these AWS settings (none inherited). */
function shellEnv(creds: S3Credentials | undefined, endpoint = s3.endpoint): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(AWS_|S3_BUCKET$)/.test(k)) env[k] = v;
  return {
    ...env,
    ...(creds ? { AWS_ACCESS_KEY_ID: creds.accessKeyId, AWS_SECRET_ACCESS_KEY: creds.secretAccessKey } : {}),
    AWS_REGION: 'us-east-1',
    AWS_ENDPOINT_URL_S3: endpoint,
    AWS_EC2_METADATA_DISABLED: 'true',
    // No profile to fall back on.
    AWS_CONFIG_FILE: join(work, 'no-aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(work, 'no-aws-credentials'),
  };
}

async function status(args: string[], env: NodeJS.ProcessEnv = shellEnv(users.status)) {
  const r = await exec(process.execPath, [join(root, 'bin', 'git-sync-operator.js'), 'status', ...args], {
    env,
  });
  return { code: r.code, stdout: r.stdout, stderr: r.stderr };
}

const isGarbage = (cluster?: string, namespace?: string, deployment?: string) =>
  cluster === garbage.cluster && namespace === garbage.namespace && deployment === garbage.deployment;

/** The `at` of the LastModified stand-in: written during before(), so between t0 and now. */
function fillIn(outcomes: Outcome[]): Outcome[] {
  return outcomes.map((o) => {
    if (!isGarbage(o.cluster, o.namespace, o.deployment)) return o;
    const t = Date.parse(o.at);
    assert.ok(
      t >= Math.floor(t0 / 1000) * 1000 && t <= Date.now(),
      `the stand-in ${o.at} is the file's LastModified`,
    );
    return { ...o, at: '(LastModified)' };
  });
}

const cells = (stdout: string) =>
  stdout
    .trimEnd()
    .split('\n')
    .map((l) => l.split(/ {2,}/));

/** The AGE of the times written: 90 minutes, 5.5 hours and 50 hours before t0. */
const age = (at: string) => {
  const ago = Math.floor((t0 - Date.parse(at)) / minute);
  return ({ 90: '90m', 330: '5h', 3000: '2d' } as Record<number, string>)[ago] ?? `${ago} minutes?`;
};

test('JSON: the latest outcome of each of the 12 cluster × namespace × deployment, sorted, from 2 pages', async (t) => {
  const r = await status(['--bucket', bucket, '--output', 'json']);
  assert.equal(r.code, 0, r.stderr);
  t.diagnostic(r.stderr);
  assert.deepEqual(fillIn(JSON.parse(r.stdout)), expected);
  // Every key listed, in two pages; every outcome file read: all were written within seconds, so
  // any of a deployment's files may hold its latest time.
  const m =
    /^status: s3:\/\/deploy-status: 12 deployments from (\d+) keys \(2 list pages, (\d+) files read\)\n$/.exec(
      r.stderr,
    );
  assert.ok(m, r.stderr);
  assert.equal(Number(m[1]), noise + 12 * 3 - 1 + 1 + 3);
  assert.equal(Number(m[2]), 12 * 3, r.stderr);
});

test('table: one row per deployment with sha, age, UTC time, state and reason', async (t) => {
  const r = await status(['--bucket', bucket]);
  assert.equal(r.code, 0, r.stderr);
  t.diagnostic(`\n${r.stdout}`);
  const [head, ...rows] = cells(r.stdout);
  assert.deepEqual(head, ['CLUSTER', 'NAMESPACE', 'DEPLOYMENT', 'SHA', 'AGE', 'AT (UTC)', 'STATE', 'REASON']);
  // The stand-in's age is seconds, its time the file's: placeholders (the JSON test checks the time).
  const shown = rows.map((row) =>
    isGarbage(...row)
      ? [...row.slice(0, 4), row[4]?.replace(/^\d+s$/, '(s)'), '(LastModified)', ...row.slice(6)]
      : row,
  );
  assert.deepEqual(
    shown,
    expected.map((o) => [
      o.cluster,
      o.namespace,
      o.deployment,
      o.sha,
      o.at === '(LastModified)' ? '(s)' : age(o.at),
      o.at,
      o.state,
      ...(o.state === 'failed' ? [`${o.reason}: ${o.message}`] : []),
    ]),
  );
});

test('matrix: a column per cluster, the failures listed below', async (t) => {
  const r = await status(['--bucket', bucket, '--output', 'matrix']);
  assert.equal(r.code, 0, r.stderr);
  t.diagnostic(`\n${r.stdout}`);
  const [grid = '', failures = ''] = r.stdout.split('\nfailed:\n');
  const [head, ...rows] = cells(grid);
  assert.deepEqual(head, ['NAMESPACE', 'DEPLOYMENT', ...clusters]);
  const cell = (o: Outcome) =>
    o.at === '(LastModified)'
      ? `${o.sha} (s)`
      : `${o.sha}${o.state === 'failed' ? ' FAILED' : ''} ${age(o.at)}`;
  assert.deepEqual(
    rows.map((row) => row.map((c) => c.replace(/ \d+s$/, ' (s)'))),
    namespaces.flatMap((n) =>
      deployments.map((d) => [
        n,
        d,
        ...clusters.map((c) =>
          cell(expected.find((o) => o.cluster === c && o.namespace === n && o.deployment === d) as Outcome),
        ),
      ]),
    ),
  );
  assert.deepEqual(
    failures.trimEnd().split('\n'),
    expected
      .filter((o) => o.state === 'failed')
      .map(
        (o) => `  ${o.cluster} ${o.namespace}/${o.deployment} ${o.sha} at ${o.at}: ${o.reason}: ${o.message}`,
      ),
  );
});

test('--cluster and --namespace: only their keys are listed', async () => {
  const r = await status([
    '--bucket',
    bucket,
    '--cluster',
    'iowa-a',
    '--namespace',
    'bedrock-prod',
    '--output',
    'json',
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(
    JSON.parse(r.stdout),
    expected.filter((o) => o.cluster === 'iowa-a' && o.namespace === 'bedrock-prod'),
  );
  // 6 GETs: the 3 files of each were written within seconds, so any may hold the latest time.
  assert.equal(
    r.stderr,
    'status: s3://deploy-status: 2 deployments from 6 keys (1 list page, 6 files read)\n',
  );
  // A namespace alone filters the whole listing; S3_BUCKET stands in for --bucket.
  const ns = await status(['--namespace', 'bedrock-dev', '--output', 'json'], {
    ...shellEnv(users.status),
    S3_BUCKET: bucket,
  });
  assert.equal(ns.code, 0, ns.stderr);
  assert.deepEqual(
    fillIn(JSON.parse(ns.stdout)),
    expected.filter((o) => o.namespace === 'bedrock-dev'),
  );
  const none = await status(['--bucket', bucket, '--cluster', 'tokyo']);
  assert.deepEqual(
    [none.code, none.stdout],
    [0, 'no outcome files in s3://deploy-status for cluster tokyo\n'],
  );
});

test('usage, keys and configurations S3 refuses: one line each saying what to do, no secret', async () => {
  const closed = `http://127.0.0.1:${await freePort()}`;
  const wrong = { accessKeyId: `nobody-${sha7()}`, secretAccessKey: randomBytes(16).toString('hex') };
  const cases: [string, string[], NodeJS.ProcessEnv, number, RegExp][] = [
    ['no bucket', [], shellEnv(users.status), 2, /^git-sync-operator: --bucket: is required$/],
    [
      'bad --output',
      ['--bucket', bucket, '--output', 'yaml'],
      shellEnv(users.status),
      2,
      /--output is table, matrix or json, not "yaml"/,
    ],
    [
      'GetObject only (no s3:ListBucket)',
      ['--bucket', bucket],
      shellEnv(s3.getOnly),
      2,
      /^git-sync-operator: status: S3 answered 403 AccessDenied to listing bucket deploy-status: the key needs s3:ListBucket on arn:aws:s3:::deploy-status and s3:GetObject on arn:aws:s3:::deploy-status\/\*/,
    ],
    [
      'a user without any policy',
      ['--bucket', bucket],
      shellEnv(users.noPolicy),
      2,
      /403 AccessDenied to listing bucket deploy-status: the key needs s3:ListBucket/,
    ],
    [
      'ListBucket only (no s3:GetObject)',
      ['--bucket', bucket],
      shellEnv(users.listOnly),
      2,
      /^git-sync-operator: status: S3 answered 403 AccessDenied to reading s3:\/\/deploy-status\/\S+: the key may list the bucket but not read it: it needs s3:GetObject on arn:aws:s3:::deploy-status\/\*$/,
    ],
    [
      'unknown access key',
      ['--bucket', bucket],
      shellEnv(wrong),
      2,
      /403 InvalidAccessKeyId to listing bucket deploy-status: S3 does not know this access key: check AWS_ACCESS_KEY_ID$/,
    ],
    [
      'a bucket the key may not list (on AWS and MinIO alike: 403, not 404)',
      ['--bucket', 'no-such-bucket'],
      shellEnv(users.status),
      2,
      /403 AccessDenied to listing bucket no-such-bucket: .*, or --bucket is not the bucket meant$/,
    ],
    [
      'no such bucket (a key that may list any)',
      ['--bucket', 'no-such-bucket'],
      shellEnv(s3.admin),
      2,
      /404 NoSuchBucket to listing bucket no-such-bucket: no such bucket: check --bucket \(or S3_BUCKET\)/,
    ],
    [
      'no credentials',
      ['--bucket', bucket],
      shellEnv(undefined),
      2,
      /^git-sync-operator: status: no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY/,
    ],
    [
      'no S3 at the endpoint',
      ['--bucket', bucket],
      shellEnv(users.status, closed),
      1,
      new RegExp(
        `^git-sync-operator: status: S3 at ${closed} did not answer listing bucket deploy-status \\(ECONNREFUSED\\): check AWS_ENDPOINT_URL_S3`,
      ),
    ],
  ];
  for (const [what, args, env, code, line] of cases) {
    const r = await status(args, env);
    assert.equal(r.code, code, `${what}: ${r.stderr}`);
    assert.equal(r.stdout, '', what);
    assert.equal(r.stderr.split('\n').length, 2, `${what}: one line: ${r.stderr}`);
    assert.match(r.stderr.trimEnd(), line, what);
    for (const secret of [users.status.secretAccessKey, s3.getOnly.secretAccessKey, wrong.secretAccessKey])
      assert.ok(!r.stderr.includes(secret), `${what}: a secret in ${r.stderr}`);
  }
});
