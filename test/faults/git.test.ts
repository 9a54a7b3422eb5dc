// Faults of the config repo, served over http with basic auth as in production: unreachable, wrong
// credentials, branch deleted, a force-push of an unrelated history, every file deleted. Each
// leaves the cluster as it is, says why on the Version, and recovers by itself once fixed. Then:
// with LOG_LEVEL=debug, no secret (git password, AWS key, webhook secret, Secret data) reaches a
// log line, an event, /metrics or the Version.
import assert from 'node:assert/strict';
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { after, before, test } from 'node:test';
import { short } from '../../src/source/sha.ts';
import { createConfigRepo, type GitHttpServer, gitClient, serveHttp } from '../../testbed/git.ts';
import { waitFor } from '../../testbed/proc.ts';
import { appFiles, seedRepo } from '../../testbed/seed.ts';
import { type RunProcess, type Supervised, startRun, supervise, within } from '../support/processes.ts';
import { condition, snapshot, startWorld, type World } from '../support/world.ts';

const ns = 'gitfault';
const secretsNs = 'secrets';
const kinds = 'deployments,services,configmaps,horizontalpodautoscalers';
const hex = (n: number) => randomBytes(n).toString('hex');
const password = `pw-${hex(10)}`;
const creds = { user: 'gso', password };
let w: World;
let http: GitHttpServer;
let port: number;
let url: string;
let sup: Supervised | undefined;
const cleanups: (() => Promise<unknown>)[] = [];

/** A free port whose number contains "401" (git prints it in connection errors). */
async function portContaining401(): Promise<number> {
  for (const p of [...Array.from({ length: 100 }, (_, i) => 40100 + i), 34010, 34011, 34012, 44010, 54010]) {
    const free = await new Promise<boolean>((resolve) => {
      const srv = createServer();
      srv.once('error', () => resolve(false));
      srv.listen(p, '127.0.0.1', () => srv.close(() => resolve(true)));
    });
    if (free) return p;
  }
  throw new Error('no free port containing 401');
}

before(async () => {
  w = await startWorld({ namespaces: [ns, secretsNs], files: seedRepo('iowa-a', [ns]) });
  port = await portContaining401();
  http = await serveHttp(w.repo, creds, { port });
  url = `http://${creds.user}:${creds.password}@127.0.0.1:${port}/repo.git`;
});
after(async () => {
  await sup?.stop();
  for (const c of cleanups) await c().catch(() => {});
  await http?.stop();
  await w?.stop();
});

const operatorEnv = () => ({
  CONFIG_REPO: url,
  CONFIG_BRANCH: 'main',
  MANAGED_NAMESPACES: ns,
  LEASE_DURATION: '3',
});

const sourceIs = (status: 'True' | 'False', reason?: string) =>
  w.waitVersion(
    ns,
    `SourceAvailable=${status}${reason ? ` (${reason})` : ''}`,
    (v) => {
      const c = condition(v, 'SourceAvailable');
      return c?.status === status && (reason === undefined || c.reason === reason);
    },
    90_000,
  );

/** Source errors logged so far for `reason`: the fault lasted that many ticks. */
const sourceErrors = (reason: string) =>
  w.logs.filter((l) => l.includes(`"reason":"${reason}"`) && l.includes('"retryInSeconds"')).length;

/** Waits until the fault has been seen on `n` more ticks, then checks nothing was written. */
async function untouchedFor(reason: string, n: number, before: Record<string, string>, applied: string) {
  const start = sourceErrors(reason);
  await waitFor(
    `${n} more ticks failing with ${reason}`,
    async () => (sourceErrors(reason) >= start + n ? true : undefined),
    {
      timeoutMs: 60_000,
    },
  );
  assert.deepEqual(await snapshot(w, ns, kinds), before, 'the cluster was touched during the fault');
  assert.equal((await w.version(ns))?.applied, applied);
}

function assertNoPassword(text: string | undefined) {
  assert.ok(!(text ?? '').includes(password), `the git password is in: ${text}`);
}

test('the operator follows the repo over http (the state every git fault below starts from)', async () => {
  const head = await w.repo.head();
  sup = supervise(w, operatorEnv());
  await w.waitVersion(ns, 'deployed = head', (v) => v.deployed === short(head), 120_000);
  await sourceIs('True');
});

test('git server unreachable: nothing touched, SourceAvailable=False (Unreachable, even on a port with "401" in it); restarted during the outage, it recovers', async () => {
  const applied = (await w.version(ns))?.applied ?? '';
  const before = await snapshot(w, ns, kinds);
  await http.stop();
  const sha = await w.repo.commit(appFiles(`iowa-a/${ns}`, 'bedrock', { image: 'mozmeao/bedrock:g1' }), 'g1');
  try {
    const v = await sourceIs('False');
    const c = condition(v, 'SourceAvailable');
    assert.equal(c?.reason, 'Unreachable', c?.message);
    assert.match(c?.message ?? '', new RegExp(`127\\.0\\.0\\.1:${port}`));
    assertNoPassword(c?.message);
    await untouchedFor('Unreachable', 2, before, applied);
    // The operator restarts while git is down; git is back before its first tick.
    await sup?.stop();
  } finally {
    http = await serveHttp(w.repo, creds, { port });
  }
  sup = supervise(w, operatorEnv());
  await sourceIs('True');
  await w.waitVersion(ns, 'deployed = commit made during the outage', (v) => v.deployed === short(sha));
});

test('wrong credentials (password rotated on the server): nothing touched, AuthFailed, recovers', async () => {
  const applied = (await w.version(ns))?.applied ?? '';
  const before = await snapshot(w, ns, kinds);
  creds.password = `rotated-${hex(6)}`;
  try {
    const v = await sourceIs('False', 'AuthFailed');
    assert.match(condition(v, 'SourceAvailable')?.message ?? '', /Authentication failed/);
    assertNoPassword(condition(v, 'SourceAvailable')?.message);
    await untouchedFor('AuthFailed', 2, before, applied);
  } finally {
    creds.password = password;
  }
  await sourceIs('True');
  assert.deepEqual(await snapshot(w, ns, kinds), before);
});

test('branch deleted: nothing touched, BranchNotFound naming the branch, recovers when it is back', async () => {
  const head = await w.repo.head();
  const applied = (await w.version(ns))?.applied ?? '';
  const before = await snapshot(w, ns, kinds);
  await w.repo.deleteBranch('main');
  try {
    const v = await sourceIs('False', 'BranchNotFound');
    assert.match(
      condition(v, 'SourceAvailable')?.message ?? '',
      new RegExp(`branch "main" not found in http://127\\.0\\.0\\.1:${port}/repo\\.git`),
    );
    await untouchedFor('BranchNotFound', 2, before, applied);
  } finally {
    await w.repo.resetBranch('main', head);
  }
  await sourceIs('True');
  assert.deepEqual(await snapshot(w, ns, kinds), before);
});

test('force-push of an unrelated history (another repo): nothing applied or pruned, InvalidManifests .failed only, error names the folder; recovers', async () => {
  const good = await w.repo.head();
  const before = await snapshot(w, ns, kinds);
  const other = await createConfigRepo({ 'README.md': 'another project\n', 'app/main.go': 'package main\n' });
  cleanups.push(() => other.stop());
  const alien = await other.head();
  await gitClient([
    '--git-dir',
    other.bareDir,
    'push',
    '--quiet',
    '--force',
    w.repo.bareDir,
    'refs/heads/main:refs/heads/main',
  ]);
  try {
    const v = await w.waitVersion(ns, 'the unrelated history seen', (x) => x.status?.lastError !== '');
    assert.match(
      v.status?.lastError ?? '',
      /iowa-a\/gitfault\/: is missing or has no \.yaml\/\.yml\/\.json files; nothing is applied or pruned/,
    );
    assert.equal(condition(v, 'Stalled')?.reason, 'InvalidManifests');
    assert.equal(condition(v, 'SourceAvailable')?.status, 'True');
    await new Promise((r) => setTimeout(r, 3000)); // several intervals
    assert.deepEqual(await snapshot(w, ns, kinds), before, 'objects were pruned or changed');
    assert.equal((await w.version(ns))?.applied, short(good));
    // CI waiting on bedrock (from the inventory) hears InvalidManifests, and nothing else.
    const key = `iowa-a/${ns}/bedrock/${short(alien)}`;
    assert.deepEqual(await w.s3.listKeys(key), [`${key}.failed`], 'not exactly one .failed signal');
    assert.match((await w.s3.getObject(`${key}.failed`)) ?? '', /^\S+Z InvalidManifests: /);
  } finally {
    await w.repo.forcePush(good);
  }
  await w.waitVersion(
    ns,
    'recovered',
    (v) => v.status?.lastError === '' && condition(v, 'Ready')?.status === 'True',
  );
  assert.deepEqual(await snapshot(w, ns, kinds), before);
});

test('every file deleted from the repo: nothing pruned, lastError names the folder, InvalidManifests .failed only; recovers', async () => {
  const before = await snapshot(w, ns, kinds);
  const applied = (await w.version(ns))?.applied;
  const all = (
    await gitClient(['--git-dir', w.repo.bareDir, 'ls-tree', '-r', '--name-only', 'refs/heads/main'])
  )
    .split('\n')
    .filter(Boolean);
  const empty = await w.repo.commit(Object.fromEntries(all.map((f) => [f, null])), 'delete everything');
  const v = await w.waitVersion(ns, 'the empty repo seen', (x) =>
    /is missing or has no/.test(x.status?.lastError ?? ''),
  );
  assert.equal(v.applied, applied);
  await new Promise((r) => setTimeout(r, 3000));
  assert.deepEqual(await snapshot(w, ns, kinds), before, 'objects were pruned');
  const key = `iowa-a/${ns}/bedrock/${short(empty)}`;
  assert.deepEqual(await w.s3.listKeys(key), [`${key}.failed`], 'not exactly one .failed signal');
  assert.match((await w.s3.getObject(`${key}.failed`)) ?? '', /^\S+Z InvalidManifests: /);
  const back = await w.repo.commit(
    appFiles(`iowa-a/${ns}`, 'bedrock', { image: 'mozmeao/bedrock:g2' }),
    'files back',
  );
  await w.waitVersion(
    ns,
    'deployed after the files are back',
    (x) => x.deployed === short(back) && x.status?.lastError === '',
  );
  assert.ok(await w.s3.getObject(`iowa-a/${ns}/bedrock/${short(back)}`));
  await sup?.stop();
  sup = undefined;
});

test('security: at LOG_LEVEL=debug no secret reaches logs, events, /metrics or the Version (git password, AWS key, webhook secret, Secret data)', async () => {
  const hook = `hook-${hex(12)}`;
  const planted = `planted-${hex(12)}`;
  const plantedData = `data-${hex(12)}`;
  const plantedBad = `bad-${hex(12)}`;
  const wrongAwsSecret = `wrong-${hex(16)}`;
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const secretYaml = [
    'apiVersion: v1',
    'kind: Secret',
    'metadata: {name: app-secret}',
    'type: Opaque',
    `stringData: {password: ${planted}}`,
    `data: {token: ${b64(plantedData)}}`,
    '',
  ].join('\n');
  const sha = await w.repo.commit(
    { ...appFiles(`iowa-a/${secretsNs}`, 'bedrock'), [`iowa-a/${secretsNs}/secret.yaml`]: secretYaml },
    'secrets: an app with a Secret',
  );
  const env = {
    CONFIG_REPO: url,
    MANAGED_NAMESPACES: secretsNs,
    LOG_LEVEL: 'debug',
    WEBHOOK_SECRET: hook,
    LEASE_DURATION: '3',
  };
  const p: RunProcess = await startRun(w, 'secrets', env);
  cleanups.push(() => p.stop());
  const opts = { service: p.svc, timeoutMs: 120_000 };
  await w.waitVersion(secretsNs, 'deployed with the Secret', (v) => v.deployed === short(sha), 120_000);
  const secret = JSON.parse(await w.kubectl('-n', secretsNs, 'get', 'secret', 'app-secret', '-o', 'json'));
  assert.equal(secret.data.password, b64(planted), 'the Secret was not applied');
  assert.equal(secret.data.token, b64(plantedData));

  // Paths that log: a refused and an accepted webhook, a git auth failure, a Secret the server rejects.
  const body = JSON.stringify({ ref: 'refs/heads/main', after: sha });
  const post = (sig: string) =>
    fetch(`${p.url}/hooks/git`, {
      method: 'POST',
      body,
      headers: { 'x-hub-signature-256': sig, 'x-github-delivery': randomUUID() },
      signal: AbortSignal.timeout(20_000),
    });
  assert.equal((await post('sha256=00')).status, 401);
  assert.equal((await post(`sha256=${createHmac('sha256', hook).update(body).digest('hex')}`)).status, 202);
  creds.password = `rotated-${hex(6)}`;
  try {
    await waitFor(
      'a logged git auth failure',
      async () => ((await p.output()).includes('AuthFailed') ? true : undefined),
      opts,
    );
  } finally {
    creds.password = password;
  }
  const bad = await w.repo.commit(
    {
      [`iowa-a/${secretsNs}/bad-secret.yaml`]: [
        'apiVersion: v1',
        'kind: Secret',
        'metadata: {name: pull-secret}',
        'type: kubernetes.io/dockerconfigjson',
        `stringData: {.dockerconfigjson: "{not json ${plantedBad}"}`,
        '',
      ].join('\n'),
    },
    'secrets: a Secret the server rejects',
  );
  const rejected = await w.waitVersion(secretsNs, 'the bad Secret rejected', (v) =>
    /pull-secret/.test(v.status?.lastError ?? ''),
  );
  assert.match(rejected.status?.lastError ?? '', /bad-secret\.yaml/);
  assert.notEqual(rejected.applied, short(bad));
  const fixed = await w.repo.commit(
    { [`iowa-a/${secretsNs}/bad-secret.yaml`]: null },
    'secrets: bad Secret removed',
  );
  await w.waitVersion(secretsNs, 'deployed after the fix', (v) => v.deployed === short(fixed), 120_000);
  const metrics = await (await fetch(`${p.url}/metrics`, { signal: AbortSignal.timeout(20_000) })).text();
  assert.match(metrics, /gso_syncs_total/);
  await within('SIGTERM', 30_000, p.svc.stop());
  const logs = await p.output();

  // S3 refusing the key: a one-shot sync with a wrong secret key, its output captured too.
  const next = await w.repo.commit(
    appFiles(`iowa-a/${secretsNs}`, 'bedrock', { image: 'mozmeao/bedrock:s2' }),
    's2',
  );
  const once = await w.cli(['sync', '--once'], { ...env, AWS_SECRET_ACCESS_KEY: wrongAwsSecret });
  const onceOut = once.stdout + once.stderr;
  assert.match(onceOut, /S3 write failed/);
  assert.equal((await w.version(secretsNs))?.deployed, short(next));

  assert.match(logs, /webhook refused/);
  assert.match(logs, /AuthFailed/);
  assert.match(logs, /"level":"(info|debug)"/);
  const events = await w.kubectl('-n', secretsNs, 'get', 'events', '-o', 'json');
  assert.match(events, /DryRunRejected/);
  const version = JSON.stringify(await w.version(secretsNs));
  // The failure files CI reads carry the apiserver's message too.
  const s3Bodies = (
    await Promise.all(
      (await w.s3.listKeys(`iowa-a/${secretsNs}/`)).map(async (k) => `${k} ${await w.s3.getObject(k)}`),
    )
  ).join('\n');
  assert.match(s3Bodies, new RegExp(`${short(bad)}\\.failed \\S+Z DryRunRejected: .*pull-secret`));
  const secrets = {
    'git password': password,
    'webhook secret': hook,
    'AWS secret key': w.s3.putOnly.secretAccessKey,
    'wrong AWS secret key': wrongAwsSecret,
    'Secret stringData': planted,
    'Secret stringData (base64)': b64(planted),
    'Secret data (decoded)': plantedData,
    'Secret data': b64(plantedData),
    'rejected Secret data': plantedBad,
  };
  const places = {
    'operator log': logs,
    'sync --once output': onceOut,
    events,
    '/metrics': metrics,
    Version: version,
    'S3 files': s3Bodies,
  };
  const leaks: string[] = [];
  for (const [what, value] of Object.entries(secrets))
    for (const [where, text] of Object.entries(places))
      if (text.includes(value)) leaks.push(`${what} in ${where}`);
  assert.deepEqual(leaks, []);
});
