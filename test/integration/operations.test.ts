// Issue 5 end to end, against the real control plane, git repo and S3 (no mocks): `install` (the
// YAML, --apply, least privilege), the CI commands `wait` and `promote`, and the `run` process
// (webhooks, probes, metrics, SIGTERM, leader failover) started as real child processes.

import assert from 'node:assert/strict';
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseAllDocuments } from 'yaml';
import { PromoteError, promote } from '../../src/ci/promote.ts';
import { exitCode, waitForDeploy } from '../../src/ci/wait.ts';
import { deployFiles } from '../../src/install/deploy-files.ts';
import { maxBodyBytes } from '../../src/server.ts';
import { short } from '../../src/source/sha.ts';
import { gitClient } from '../../testbed/git.ts';
import { removeDir, run, tempDir, waitFor } from '../../testbed/proc.ts';
import { appFiles, seedRepo } from '../../testbed/seed.ts';
import { type RunProcess, startRun } from '../support/processes.ts';
import { adminKey, root, runWait, startWorld, type World } from '../support/world.ts';

const randomSha = () => randomBytes(20).toString('hex');
const webhookSecret = `hook-${randomBytes(8).toString('hex')}`;

let w: World;
const tempDirs: string[] = [];
const runs: RunProcess[] = [];

/** Two Deployments in one file, as CI stages them in all-clusters/NS/. */
function promoDeployments(tag: string): string {
  return ['web', 'worker']
    .map(
      (name) =>
        `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ${name}\nspec:\n  replicas: 1\n` +
        `  selector:\n    matchLabels: {app: ${name}}\n  template:\n    metadata:\n      labels: {app: ${name}}\n` +
        `    spec:\n      containers:\n        - name: ${name}\n          image: example/${name}:${tag}\n`,
    )
    .join('---\n');
}
const promoService = 'apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  ports: [{port: 80}]\n';

before(async () => {
  w = await startWorld({
    namespaces: ['a', 'b', 'c', 'hooks', 'failover'],
    files: {
      // iowa-a/hooks/ is missing on purpose: the webhook test's first sync must fail.
      ...seedRepo('iowa-a', ['a', 'c', 'failover']),
      'a/promo/deploy.yaml': promoDeployments('v0'),
      'b/promo/deploy.yaml': promoDeployments('v0'),
      'b/promo/old.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: stale}\n',
      'b/promo/README.md': 'not a manifest: promote leaves it alone\n',
    },
  });
});

after(async () => {
  await Promise.allSettled(runs.map((r) => r.stop()));
  await w?.stop();
  for (const d of tempDirs) await removeDir(d);
});

async function tmp(prefix: string): Promise<string> {
  const d = await tempDir(prefix);
  tempDirs.push(d);
  return d;
}

function kubectl(args: string[], input?: string): Promise<{ stdout: string; stderr: string }> {
  return run('kubectl', ['--kubeconfig', w.cp.kubeconfig, ...args], input === undefined ? {} : { input });
}

interface Obj {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; managedFields?: { manager: string }[] };
}
interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string } };
}
interface Container {
  env: EnvVar[];
  securityContext?: { readOnlyRootFilesystem?: boolean; allowPrivilegeEscalation?: boolean };
  livenessProbe?: { httpGet?: { path: string } };
  readinessProbe?: { httpGet?: { path: string } };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
}
interface DeploymentObj extends Obj {
  spec: {
    template: {
      spec: {
        serviceAccountName: string;
        securityContext?: { runAsNonRoot?: boolean };
        containers: Container[];
      };
    };
  };
}
interface RoleBindingObj extends Obj {
  roleRef: { kind: string; name: string };
  subjects: { kind: string; name: string; namespace: string }[];
}

const crdPath = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/versions.versions.mozilla.org';

// ---------------------------------------------------------------------------------------------
// install

test('install prints YAML the apiserver accepts, without key values; --apply installs; the RBAC is enough for its namespace only', async () => {
  const args = [
    'install',
    '--namespace',
    'a',
    '--namespace',
    'b',
    '--cluster-name',
    'iowa-a',
    '--config-repo',
    'file:///x',
    '--s3-bucket',
    'B',
  ];
  // Keys in the environment of whoever runs `install` must not leak into the manifests.
  const keys = {
    AWS_ACCESS_KEY_ID: w.s3.admin.accessKeyId,
    AWS_SECRET_ACCESS_KEY: w.s3.admin.secretAccessKey,
    AWS_SESSION_TOKEN: `session-${randomBytes(8).toString('hex')}`,
  };
  const printed = await w.cli(args, keys);
  assert.equal(printed.code, 0, printed.stderr);
  const yaml = printed.stdout;
  for (const secret of [...Object.values(keys), w.s3.putOnly.accessKeyId, w.s3.putOnly.secretAccessKey])
    assert.ok(!yaml.includes(secret), 'an AWS key value is in the install YAML');

  const docs = parseAllDocuments(yaml).map((d) => d.toJS() as Obj);
  assert.deepEqual(
    docs.map((o) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`),
    [
      'CustomResourceDefinition//versions.versions.mozilla.org',
      'ClusterRole//git-sync-operator',
      'ServiceAccount/a/a-git-sync-operator',
      'RoleBinding/a/git-sync-operator',
      'Deployment/a/git-sync-operator',
      'ServiceAccount/b/b-git-sync-operator',
      'RoleBinding/b/git-sync-operator',
      'Deployment/b/git-sync-operator',
    ],
  );
  for (const ns of ['a', 'b']) {
    const d = docs.find((o) => o.kind === 'Deployment' && o.metadata.namespace === ns) as DeploymentObj;
    const pod = d.spec.template.spec;
    assert.equal(pod.serviceAccountName, `${ns}-git-sync-operator`);
    assert.equal(pod.securityContext?.runAsNonRoot, true);
    assert.equal(pod.containers.length, 1);
    const c = pod.containers[0] as Container;
    assert.equal(c.securityContext?.readOnlyRootFilesystem, true);
    assert.equal(c.securityContext?.allowPrivilegeEscalation, false);
    assert.equal(c.livenessProbe?.httpGet?.path, '/healthz');
    assert.equal(c.readinessProbe?.httpGet?.path, '/readyz');
    assert.ok(c.resources?.requests?.cpu && c.resources.requests.memory, 'no resource requests');
    assert.ok(c.resources?.limits?.memory, 'no memory limit');
    const env = Object.fromEntries(c.env.map((e) => [e.name, e]));
    assert.equal(env.MANAGED_NAMESPACES?.value, ns);
    assert.equal(env.CLUSTER_NAME?.value, 'iowa-a');
    assert.equal(env.CONFIG_REPO?.value, 'file:///x');
    assert.equal(env.S3_BUCKET?.value, 'B');
    for (const k of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']) {
      assert.ok(env[k]?.valueFrom?.secretKeyRef, `${k} is not from a secretKeyRef`);
      assert.equal(env[k]?.value, undefined);
    }
    for (const e of c.env.filter((e) => e.name.startsWith('AWS_')))
      assert.equal(e.value, undefined, `${e.name} has a plain value`);
  }

  // The apiserver validates every object (schema, CRD, RBAC) without storing anything.
  const dry = await kubectl(['apply', '--dry-run=server', '-f', '-'], yaml);
  const dryLines = dry.stdout.trim().split('\n');
  assert.equal(dryLines.length, 8, dry.stdout);
  for (const line of dryLines) assert.match(line, /(created|configured) \(server dry run\)$/);
  assert.equal((await w.cp.request('GET', crdPath)).status, 404, 'the dry run stored the CRD');

  // --apply with KUBECONFIG from the environment (w.cli passes the world's admin kubeconfig).
  const applied = await w.cli([...args, '--apply']);
  assert.equal(applied.code, 0, applied.stderr);
  assert.equal(applied.stdout.trim().split('\n').length, 8, applied.stdout);
  const crd = await w.cp.request('GET', crdPath);
  assert.equal(crd.status, 200);
  assert.ok(
    (crd.body as Obj).metadata.managedFields?.some((m) => m.manager === 'git-sync-operator-install'),
    'the CRD was not applied by install',
  );
  const role = await w.cp.request('GET', '/apis/rbac.authorization.k8s.io/v1/clusterroles/git-sync-operator');
  assert.equal(role.status, 200);
  for (const ns of ['a', 'b']) {
    const sa = await w.cp.request('GET', `/api/v1/namespaces/${ns}/serviceaccounts/${ns}-git-sync-operator`);
    assert.equal(sa.status, 200, `ServiceAccount in ${ns}`);
    const rb = await w.cp.request(
      'GET',
      `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/rolebindings/git-sync-operator`,
    );
    assert.equal(rb.status, 200, `RoleBinding in ${ns}`);
    const binding = rb.body as RoleBindingObj;
    assert.deepEqual([binding.roleRef.kind, binding.roleRef.name], ['ClusterRole', 'git-sync-operator']);
    assert.deepEqual(binding.subjects, [
      { kind: 'ServiceAccount', name: `${ns}-git-sync-operator`, namespace: ns },
    ]);
  }
  const unbound = await w.cp.request(
    'GET',
    '/apis/rbac.authorization.k8s.io/v1/namespaces/c/rolebindings/git-sync-operator',
  );
  assert.equal(unbound.status, 404);
  await kubectl([
    'wait',
    '--for=condition=Established',
    'crd/versions.versions.mozilla.org',
    '--timeout=60s',
  ]);

  // An operator with exactly the installed rights: the ServiceAccount of namespace a.
  const impersonate = {
    user: 'system:serviceaccount:a:a-git-sync-operator',
    groups: ['system:serviceaccounts', 'system:serviceaccounts:a', 'system:authenticated'],
  };
  const head = await w.repo.head();
  const op = w.operator({ MANAGED_NAMESPACES: 'a' }, { impersonate });
  const [ra] = await op.syncOnce();
  op.close();
  assert.deepEqual([ra?.namespace, ra?.ok, ra?.error], ['a', true, undefined]);
  const va = await w.version('a');
  assert.equal(va?.applied, short(head));
  assert.equal(va?.deployed, short(head));
  assert.ok(await w.s3.getObject(`iowa-a/a/bedrock/${short(head)}`), 'no S3 file for namespace a');

  // c exists and has a folder in git, but install never bound the role there.
  const op2 = w.operator({ MANAGED_NAMESPACES: 'a,c' }, { impersonate });
  const results = await op2.syncOnce();
  op2.close();
  const byNs = new Map(results.map((r) => [r.namespace, r]));
  assert.equal(byNs.get('a')?.ok, true, byNs.get('a')?.error);
  assert.equal(byNs.get('c')?.ok, false);
  assert.match(byNs.get('c')?.error ?? '', /forbidden|may not/i);
  const inC = await w.kubectl(
    '-n',
    'c',
    'get',
    'deployments,services,configmaps,horizontalpodautoscalers,versions',
    '-o',
    'jsonpath={.items[*].metadata.name}',
  );
  assert.deepEqual(inC.split(' ').filter(Boolean), ['kube-root-ca.crt'], 'something was created in c');
  assert.deepEqual(await w.s3.listKeys('iowa-a/c/'), []);
});

test('deploy/*.yaml is exactly what deployFiles() generates', async () => {
  const expected = deployFiles();
  const onDisk = (await readdir(join(root, 'deploy')))
    .filter((f) => /\.ya?ml$/.test(f))
    .map((f) => `deploy/${f}`)
    .sort();
  assert.deepEqual(onDisk, Object.keys(expected).sort());
  for (const [path, text] of Object.entries(expected)) {
    assert.equal(
      await readFile(join(root, path), 'utf8'),
      text,
      `${path} is stale: run npm run generate:deploy`,
    );
  }
});

// ---------------------------------------------------------------------------------------------
// wait

test('wait: 0 when the file is there (full sha too), 1 with the reason for .failed, 124 on timeout, 2 for a bad sha', async () => {
  const wait = (sha: string, ...more: string[]) =>
    runWait(w, { namespace: 'ci', deployment: 'web', sha }, more);

  const done = randomSha();
  const at = '2030-01-02T03:04:05Z';
  await w.s3.putObject(`iowa-a/ci/web/${short(done)}`, `${at}\n`);
  for (const sha of [done, short(done)]) {
    const r = await wait(sha, '--timeout', '30s', '--interval', '200ms');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `deployed: s3://${w.s3.bucket}/iowa-a/ci/web/${short(done)} at ${at}\n`);
  }

  // A file that appears while waiting is found by the next poll.
  const later = randomSha();
  const pending = wait(later, '--timeout', '60s', '--interval', '200ms');
  await sleep(2000);
  await w.s3.putObject(`iowa-a/ci/web/${short(later)}`, `${at}\n`);
  const found = await pending;
  assert.equal(found.code, 0, found.stderr);

  const failed = randomSha();
  const reason = '2030-01-02T03:04:05Z timeout: Deployment/web: 0/2 updated';
  await w.s3.putObject(`iowa-a/ci/web/${short(failed)}.failed`, `${reason}\n`);
  const f = await wait(failed, '--timeout', '30s', '--interval', '200ms');
  assert.equal(f.code, 1, f.stdout + f.stderr);
  assert.equal(f.stderr, `failed: ${reason}\n`);
  assert.equal(f.stdout, '');

  const never = randomSha();
  const t0 = Date.now();
  const t = await wait(never, '--timeout', '2s', '--interval', '200ms');
  const took = Date.now() - t0;
  assert.equal(t.code, 124, t.stdout + t.stderr);
  assert.match(
    t.stderr,
    new RegExp(`timed out after 2s waiting for s3://${w.s3.bucket}/iowa-a/ci/web/${short(never)}`),
  );
  assert.ok(took >= 1800 && took < 30_000, `timeout took ${took} ms`);

  const bad = await wait('xyz123', '--timeout', '2s');
  assert.equal(bad.code, 2, bad.stdout + bad.stderr);
  assert.match(bad.stderr, /--sha: "xyz123" is not a hex commit sha/);
});

// ---------------------------------------------------------------------------------------------
// promote

test('promote: clusters one at a time, waiting in between; stale files removed; a failure stops the rollout', async () => {
  const bare = w.repo.bareDir;
  const branch = `refs/heads/${w.repo.branch}`;
  const tree = (path: string) => gitClient(['--git-dir', bare, 'rev-parse', `${branch}:${path}`]);
  const show = (path: string) => gitClient(['--git-dir', bare, 'show', `${branch}:${path}`]);
  const ls = async (path: string) =>
    (await gitClient(['--git-dir', bare, 'ls-tree', '--name-only', branch, `${path}/`])).split('\n');

  const work = await tmp('promote');
  await gitClient(['clone', '--quiet', w.repo.fileUrl, work]);
  // promote runs git with the caller's environment: the clone carries the committer identity.
  await gitClient(['config', 'user.name', 'ci'], undefined, work);
  await gitClient(['config', 'user.email', 'ci@example.invalid'], undefined, work);
  // CI commits the new content to all-clusters/promo/ first; promote copies it cluster by cluster.
  const stage = async (tag: string) => {
    await mkdir(join(work, 'all-clusters', 'promo'), { recursive: true });
    await writeFile(join(work, 'all-clusters', 'promo', 'deploy.yaml'), promoDeployments(tag));
    await writeFile(join(work, 'all-clusters', 'promo', 'svc.yaml'), promoService);
    await gitClient(['add', '--all', 'all-clusters'], undefined, work);
    await gitClient(['commit', '--quiet', '-m', `stage promo ${tag}`], undefined, work);
  };
  await stage('v1');

  const b0 = await tree('b/promo');
  const s3 = w.s3.client();
  interface Call {
    cluster: string;
    deployment: string;
    sha: string;
    pushedHead: string;
    calledAt: number;
    bAtCall: string;
    bAtResolve: string;
    resolvedAt: number;
  }
  const calls: Call[] = [];
  const lines: string[] = [];
  const steps = await promote({
    repo: work,
    namespace: 'promo',
    clusters: ['a', 'b'],
    push: true,
    log: (l) => lines.push(l),
    wait: async (cluster, deployment, sha) => {
      const calledAt = Date.now();
      const pushedHead = await w.repo.head();
      const bAtCall = await tree('b/promo');
      await sleep(300); // a promote that did not wait would push b meanwhile
      const bAtResolve = await tree('b/promo');
      await w.s3.putObject(`${cluster}/promo/${deployment}/${short(sha)}`, new Date().toISOString());
      const outcome = await waitForDeploy(
        s3,
        { bucket: w.s3.bucket, cluster, namespace: 'promo', deployment, sha },
        { timeoutMs: 10_000, intervalMs: 100 },
      );
      calls.push({
        cluster,
        deployment,
        sha,
        pushedHead,
        calledAt,
        bAtCall,
        bAtResolve,
        resolvedAt: Date.now(),
      });
      return outcome.state;
    },
  });

  assert.deepEqual(
    calls.map((c) => `${c.cluster}/${c.deployment}`),
    ['a/web', 'a/worker', 'b/web', 'b/worker'],
  );
  assert.deepEqual(
    steps.map((s) => [s.cluster, s.changed, s.deployments]),
    [
      ['a', true, ['web', 'worker']],
      ['b', true, ['web', 'worker']],
    ],
  );
  const [stepA, stepB] = steps;
  assert.ok(stepA && stepB && stepA.sha !== stepB.sha);
  // Each wait is for a commit that is already pushed.
  for (const c of calls)
    assert.equal(c.pushedHead, c.sha, `${c.cluster}/${c.deployment} waited before the push`);
  const aCalls = calls.filter((c) => c.cluster === 'a');
  const bCalls = calls.filter((c) => c.cluster === 'b');
  for (const c of aCalls) {
    assert.equal(c.bAtCall, b0, 'b changed before a was waited for');
    assert.equal(c.bAtResolve, b0, 'b changed while a was being waited for');
  }
  const aDone = Math.max(...aCalls.map((c) => c.resolvedAt));
  for (const c of bCalls) {
    assert.notEqual(c.bAtCall, b0);
    assert.ok(c.calledAt >= aDone);
  }
  await gitClient(['--git-dir', bare, 'merge-base', '--is-ancestor', stepA.sha, stepB.sha]);
  assert.deepEqual(await ls('a/promo'), ['a/promo/deploy.yaml', 'a/promo/svc.yaml']);
  assert.deepEqual(await ls('b/promo'), ['b/promo/README.md', 'b/promo/deploy.yaml', 'b/promo/svc.yaml']);
  for (const c of ['a', 'b']) {
    assert.equal(`${await show(`${c}/promo/deploy.yaml`)}\n`, promoDeployments('v1'));
    assert.equal(`${await show(`${c}/promo/svc.yaml`)}\n`, promoService);
  }
  assert.ok(
    lines.some((l) => l === `a/promo: committed ${short(stepA.sha)}, pushed`),
    lines.join('\n'),
  );

  // v2 fails in cluster a: promote stops there, b is never touched.
  await stage('v2');
  const bBefore = await tree('b/promo');
  const failCalls: string[] = [];
  await assert.rejects(
    promote({
      repo: work,
      namespace: 'promo',
      clusters: ['a', 'b'],
      push: true,
      log: () => {},
      wait: async (cluster, deployment, sha) => {
        failCalls.push(`${cluster}/${deployment}`);
        await w.s3.putObject(
          `${cluster}/promo/${deployment}/${short(sha)}.failed`,
          '2030-01-02T03:04:05Z failed: Deployment/web: ImagePullBackOff',
        );
        return (
          await waitForDeploy(
            s3,
            { bucket: w.s3.bucket, cluster, namespace: 'promo', deployment, sha },
            { timeoutMs: 10_000, intervalMs: 100 },
          )
        ).state;
      },
    }),
    (err: unknown) => {
      assert.ok(err instanceof PromoteError, String(err));
      assert.deepEqual([err.cluster, err.deployment, err.state], ['a', 'web', 'failed']);
      assert.equal(exitCode[err.state], 1);
      assert.match(err.message, /^a: deployment web failed; later clusters were not touched$/);
      return true;
    },
  );
  assert.deepEqual(failCalls, ['a/web']);
  assert.equal(await tree('b/promo'), bBefore, 'b was changed after a failed');
  assert.equal(`${await show('a/promo/deploy.yaml')}\n`, promoDeployments('v2'));

  // The real CLI maps the outcomes to exit codes. a already holds v2 (unchanged: it waits for HEAD,
  // whose .failed file exists) → 1; with web deployed but worker silent → 124. b stays untouched.
  const head = await gitClient(['rev-parse', 'HEAD'], undefined, work);
  const admin = adminKey(w);
  const cli = (timeout: string) =>
    w.cli(
      [
        'promote',
        '--repo',
        work,
        '--namespace',
        'promo',
        '--clusters',
        'a,b',
        '--push',
        '--wait',
        '--bucket',
        w.s3.bucket,
        '--timeout',
        timeout,
        '--interval',
        '200ms',
      ],
      admin,
    );
  const r1 = await cli('10s');
  assert.equal(r1.code, 1, r1.stdout + r1.stderr);
  assert.match(r1.stdout, new RegExp(`^a/promo: unchanged at ${short(head)}, pushed$`, 'm'));
  assert.match(r1.stderr, /^promote: a: deployment web failed; later clusters were not touched$/m);
  await w.s3.putObject(`a/promo/web/${short(head)}`, new Date().toISOString());
  const r2 = await cli('2s');
  assert.equal(r2.code, 124, r2.stdout + r2.stderr);
  assert.match(r2.stderr, /^promote: a: deployment worker timed out; later clusters were not touched$/m);
  assert.equal(await tree('b/promo'), bBefore, 'the CLI touched b after a failed');
});

// ---------------------------------------------------------------------------------------------
// run: webhooks, probes, metrics, SIGTERM, leader election

/** The real CLI `run` as a child process; only a webhook can make it sync (interval 1 h). */
async function startHooked(name: string, extra: Record<string, string>): Promise<RunProcess> {
  const p = await startRun(w, name, { GIT_SYNC_INTERVAL: '3600', WEBHOOK_SECRET: webhookSecret, ...extra });
  runs.push(p);
  return p;
}

async function http(
  p: RunProcess,
  path: string,
  init: RequestInit = {},
): Promise<{ status: number; text: string }> {
  const res = await fetch(`${p.url}${path}`, { ...init, signal: AbortSignal.timeout(20_000) });
  return { status: res.status, text: await res.text() };
}

function hook(p: RunProcess, body: string | Buffer, headers: Record<string, string>) {
  return http(p, '/hooks/git', {
    method: 'POST',
    body: typeof body === 'string' ? body : new Uint8Array(body),
    headers: { 'content-type': 'application/json', ...headers },
  });
}

const sign = (body: string | Buffer, secret = webhookSecret) =>
  createHmac('sha256', secret).update(body).digest('hex');

/** The value of one Prometheus sample whose labels include `labels`. */
function sample(metrics: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of metrics.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3]);
  }
  return undefined;
}

async function metrics(p: RunProcess): Promise<string> {
  const r = await http(p, '/metrics');
  assert.equal(r.status, 200);
  return r.text;
}

test('run: signed GitHub/Gitea/GitLab webhooks sync at once, bad ones are refused; probes and metrics; SIGTERM exits 0', async () => {
  const ns = 'hooks';
  const op = await startHooked('hooks', { MANAGED_NAMESPACES: ns });
  const opts = { service: op.svc, timeoutMs: 90_000 };
  await waitFor(
    '/healthz',
    async () => ((await http(op, '/healthz')).status === 200 ? true : undefined),
    opts,
  );
  // iowa-a/hooks/ does not exist yet: the first sync fails, so the operator is not ready.
  await waitFor(
    'the first (failed) sync',
    async () =>
      sample(await metrics(op), 'gso_syncs_total', { namespace: ns, result: 'failed' }) ? true : undefined,
    opts,
  );
  const notReady = await http(op, '/readyz');
  assert.deepEqual(notReady, { status: 503, text: 'no successful sync yet\n' });
  const lsRemotes = async () => sample(await metrics(op), 'gso_git_requests_total', { op: 'ls-remote' });
  assert.equal(await lsRemotes(), 1);

  const sha1 = await w.repo.commit(appFiles(`iowa-a/${ns}`, 'bedrock'), 'hooks: first app');
  const body1 = JSON.stringify({ ref: 'refs/heads/main', after: sha1 });
  const refused: [Record<string, string>, RegExp][] = [
    [
      { 'x-hub-signature-256': `sha256=${sign(body1, 'not-the-secret')}`, 'x-github-delivery': randomUUID() },
      /X-Hub-Signature-256 does not match/,
    ],
    [{ 'x-gitea-signature': sign(`${body1} `) }, /X-Gitea-Signature does not match/],
    [{ 'x-gitlab-token': 'not-the-secret' }, /X-Gitlab-Token does not match/],
    [{ 'x-github-delivery': randomUUID() }, /no signature/],
  ];
  for (const [headers, why] of refused) {
    const r = await hook(op, body1, headers);
    assert.equal(r.status, 401, JSON.stringify(headers));
    assert.match(r.text, why);
  }
  await sleep(3000);
  assert.equal(await lsRemotes(), 1, 'a refused webhook triggered a sync');
  assert.notEqual((await w.version(ns))?.applied, short(sha1));
  assert.equal((await http(op, '/readyz')).status, 503);

  // GitHub
  const github = {
    'x-github-event': 'push',
    'x-github-delivery': randomUUID(),
    'x-hub-signature-256': `sha256=${sign(body1)}`,
  };
  let t0 = Date.now();
  const accepted = await hook(op, body1, github);
  assert.deepEqual(accepted, { status: 202, text: 'sync started\n' });
  await w.waitVersion(
    ns,
    'applied = sha1 after the GitHub webhook',
    (v) => v.applied === short(sha1),
    30_000,
  );
  assert.ok(Date.now() - t0 < 30_000);
  await waitFor(
    '/readyz 200',
    async () => ((await http(op, '/readyz')).status === 200 ? true : undefined),
    opts,
  );

  // A replayed delivery (same body, signature and delivery id) is not a second trigger.
  const sha2 = await w.repo.commit(
    appFiles(`iowa-a/${ns}`, 'bedrock', { image: 'mozmeao/bedrock:2' }),
    'hooks: image 2',
  );
  const before = await lsRemotes();
  const replay = await hook(op, body1, github);
  assert.equal(replay.status, 200);
  assert.match(replay.text, /duplicate/);
  await sleep(3000);
  assert.equal(await lsRemotes(), before, 'a replayed delivery triggered a sync');
  assert.equal((await w.version(ns))?.applied, short(sha1));

  // Gitea
  const body2 = JSON.stringify({ ref: 'refs/heads/main', after: sha2 });
  t0 = Date.now();
  const gitea = await hook(op, body2, {
    'x-gitea-event': 'push',
    'x-gitea-delivery': randomUUID(),
    'x-gitea-signature': sign(body2),
  });
  assert.equal(gitea.status, 202);
  await w.waitVersion(ns, 'applied = sha2 after the Gitea webhook', (v) => v.applied === short(sha2), 30_000);

  // GitLab
  const sha3 = await w.repo.commit(
    appFiles(`iowa-a/${ns}`, 'bedrock', { image: 'mozmeao/bedrock:3' }),
    'hooks: image 3',
  );
  const body3 = JSON.stringify({ ref: 'refs/heads/main', after: sha3 });
  const gitlab = await hook(op, body3, {
    'x-gitlab-event': 'Push Hook',
    'x-gitlab-event-uuid': randomUUID(),
    'x-gitlab-token': webhookSecret,
  });
  assert.equal(gitlab.status, 202);
  await w.waitVersion(
    ns,
    'applied = sha3 after the GitLab webhook',
    (v) => v.applied === short(sha3),
    30_000,
  );

  // Too big, with a Content-Length and chunked: 413 either way, and no trigger.
  const lsBeforeBig = await lsRemotes();
  const big = Buffer.alloc(maxBodyBytes + 1, 0x20);
  const tooBig = await hook(op, big, { 'x-hub-signature-256': `sha256=${sign(big)}` });
  assert.equal(tooBig.status, 413);
  const chunks = new ReadableStream<Uint8Array>({
    start(c) {
      for (let i = 0; i < 17; i++) c.enqueue(new Uint8Array(64 * 1024).fill(0x20));
      c.close();
    },
  });
  const chunked = await http(op, '/hooks/git', {
    method: 'POST',
    body: chunks,
    headers: { 'x-hub-signature-256': 'sha256=00' },
    duplex: 'half',
  } as RequestInit);
  assert.equal(chunked.status, 413);

  await w.waitVersion(ns, 'deployed = sha3', (v) => v.deployed === short(sha3), 60_000);
  const m = await waitFor(
    '/metrics with sha3',
    async () => {
      const text = await metrics(op);
      return sample(text, 'gso_applied_commit_info', { namespace: ns, sha: short(sha3) }) === 1
        ? text
        : undefined;
    },
    opts,
  );
  assert.equal(sample(m, 'gso_applied_commit_info', { namespace: ns, sha: short(sha1) }), undefined);
  assert.ok((sample(m, 'gso_syncs_total', { namespace: ns, result: 'ok' }) ?? 0) >= 2);
  assert.ok((sample(m, 'gso_sync_duration_seconds_count', { namespace: ns }) ?? 0) >= 3);
  assert.ok(sample(m, 'gso_sync_duration_seconds_bucket', { namespace: ns, le: '+Inf' }) !== undefined);
  // sha1 applied 4 objects (Deployment, Service, HPA, ConfigMap), sha2 and sha3 the Deployment.
  assert.ok((sample(m, 'gso_objects_applied_total', { namespace: ns }) ?? 0) >= 6);
  assert.equal(sample(m, 'gso_git_requests_total', { op: 'ls-remote' }), lsBeforeBig);
  assert.equal((await http(op, '/healthz')).status, 200);
  assert.equal((await http(op, '/nope')).status, 404);
  assert.equal((await http(op, '/hooks/git')).status, 405);

  // SIGTERM: the process finishes and exits 0 within a few seconds.
  t0 = Date.now();
  await op.svc.stop();
  const code = await op.svc.exited;
  const took = Date.now() - t0;
  assert.equal(code, 0, `exit code ${code} after SIGTERM (${took} ms)`);
  assert.ok(took < 8000, `SIGTERM took ${took} ms`);
  const logs = await op.logs();
  assert.ok(logs.some((l) => l.msg === 'SIGTERM: finishing the current write, then stopping'));
  assert.ok(logs.some((l) => typeof l.msg === 'string' && l.msg.startsWith('webhook refused')));
  assert.ok(!JSON.stringify(logs).includes(webhookSecret), 'the webhook secret was logged');
});

test('run: a webhook that arrives while a tick is reading the branch head is not lost', async () => {
  const ns = 'hooks';
  await w.repo.commit(appFiles(`iowa-a/${ns}`, 'bedrock', { image: 'mozmeao/bedrock:3' }), 'hooks: baseline');
  const op = w.operator({ MANAGED_NAMESPACES: ns, GIT_SYNC_INTERVAL: '3600', LEADER_ELECT: 'false' });
  const git = op.deps.git;
  const realHead = git.head.bind(git);
  let heads = 0;
  let pushed: string | undefined;
  // The second tick's ls-remote answers with the head the operator already has; the push and its
  // webhook land while it runs. Nothing else would sync before the interval (1 h).
  git.head = async () => {
    const h = await realHead();
    if (++heads === 2) {
      pushed = await w.repo.commit(
        appFiles(`iowa-a/${ns}`, 'bedrock', { image: 'mozmeao/bedrock:4' }),
        'hooks: pushed during a tick',
      );
      op.wake();
    }
    return h;
  };
  const stop = new AbortController();
  const loop = op.run(stop.signal);
  try {
    // ready is set by the first reconcile, which starts after the loop went to sleep.
    await waitFor('the first sync', async () => (op.ready ? true : undefined), { timeoutMs: 60_000 });
    assert.equal(heads, 1);
    op.wake(); // a webhook: the second tick
    const sha = await waitFor('the push during the second tick', async () => pushed, { timeoutMs: 30_000 });
    await w.waitVersion(
      ns,
      'the commit pushed during the tick is applied',
      (v) => v.applied === short(sha),
      30_000,
    );
    assert.ok(heads >= 3);
  } finally {
    stop.abort();
    await loop;
    op.close();
  }
});

test('run: two replicas, one leader; SIGKILLed, the other takes over within the lease and applies', async () => {
  const ns = 'failover';
  const leaseSeconds = 3;
  const extra = { MANAGED_NAMESPACES: ns, LEASE_DURATION: String(leaseSeconds) };
  const [p1, p2] = [await startHooked('replica-1', extra), await startHooked('replica-2', extra)];
  const said = async (p: RunProcess, msg: string) => (await p.logs()).filter((l) => l.msg === msg);
  const leaders = async () => {
    const out: RunProcess[] = [];
    for (const p of [p1, p2]) if ((await said(p, 'became leader')).length > 0) out.push(p);
    return out;
  };
  const [leader] = await waitFor(
    'a leader',
    async () => ((await leaders()).length > 0 ? leaders() : undefined),
    {
      timeoutMs: 90_000,
    },
  );
  assert.ok(leader);
  const follower = leader === p1 ? p2 : p1;
  const head0 = await w.repo.head();
  await w.waitVersion(ns, 'the leader applied the head', (v) => v.applied === short(head0), 60_000);
  // Well past a lease period: still exactly one leader, and the follower wrote nothing.
  await sleep((leaseSeconds + 1) * 1000);
  assert.deepEqual(await leaders(), [leader]);
  assert.equal((await said(follower, 'waiting for the leader lease')).length, 1);
  for (const msg of ['new commit', 'applied'])
    assert.deepEqual(await said(follower, msg), [], `the follower logged "${msg}"`);
  const leaseOf = async () =>
    (await w.cp.request('GET', `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases/git-sync-operator`))
      .body as { spec: { holderIdentity?: string; leaseTransitions?: number } };
  const [became] = await said(leader, 'became leader');
  assert.equal((await leaseOf()).spec.holderIdentity, became?.identity);

  // A commit the leader never sees (interval 1 h, no webhook); the next leader syncs it on takeover.
  const sha = await w.repo.commit(
    appFiles(`iowa-a/${ns}`, 'bedrock', { image: 'mozmeao/bedrock:9' }),
    'failover: image 9',
  );
  assert.equal((await w.version(ns))?.applied, short(head0));
  leader.svc.child.kill('SIGKILL');
  await leader.svc.exited.catch(() => {});
  const killedAt = Date.now();
  await waitFor(
    'the follower becomes leader',
    async () => ((await said(follower, 'became leader')).length > 0 ? true : undefined),
    { service: follower.svc, timeoutMs: 60_000, intervalMs: 100 },
  );
  const took = Date.now() - killedAt;
  assert.ok(took < (leaseSeconds + 6) * 1000, `takeover took ${took} ms`);
  const [next] = await said(follower, 'became leader');
  const lease = await leaseOf();
  assert.equal(lease.spec.holderIdentity, next?.identity);
  assert.notEqual(next?.identity, became?.identity);
  assert.ok((lease.spec.leaseTransitions ?? 0) >= 1);
  await w.waitVersion(ns, 'the new leader applied the new commit', (v) => v.applied === short(sha), 60_000);

  await follower.svc.stop();
  assert.equal(await follower.svc.exited, 0);
});
