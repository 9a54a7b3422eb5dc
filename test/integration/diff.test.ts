// `diff` on the real control plane: git (the branch head, a --sha, a local folder) against the live
// namespace, field by field; Secret values never shown; prunes listed; nothing written; exit 0 no
// difference, 1 differences, 2 errors.
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { short } from '../../src/source/sha.ts';
import { removeDir, tempDir } from '../../testbed/proc.ts';
import { appFiles, seedRepo } from '../../testbed/seed.ts';
import { startWorld, type World } from '../support/world.ts';

const ns = 'shop';
const folder = `iowa-a/${ns}`;
const b64 = (s: string) => Buffer.from(s).toString('base64');
const oldPassword = 'old-pw-Zq81';
const newPassword = 'new-pw-Xk27';
const newToken = 'tok-Mw55';
/** Every way a Secret value could leak into the output. */
const secretTexts = [oldPassword, newPassword, newToken].flatMap((v) => [v, b64(v)]);

const secret = (data: Record<string, string>, stringData: Record<string, string> = {}) =>
  `${JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db' }, type: 'Opaque', data, stringData })}\n`;

let w: World;
let dirs: string[] = [];
/** The cluster as the initial sync left it: what no diff may change. */
let initial: string;
let versionRv: string | undefined;
const shas: Record<string, string> = {};

/** The specs and data of the namespace's objects, and the Version's resourceVersion. */
async function state(): Promise<string> {
  const kinds = 'deployments,services,configmaps,secrets,horizontalpodautoscalers';
  const list = JSON.parse(await w.kubectl('-n', ns, 'get', kinds, '-o', 'json')) as {
    items: {
      kind: string;
      metadata: { name: string; generation?: number };
      spec?: unknown;
      data?: unknown;
    }[];
  };
  const objects = list.items
    .filter((o) => o.metadata.name !== 'kube-root-ca.crt')
    .map((o) => [`${o.kind}/${o.metadata.name}`, o.metadata.generation, o.spec ?? o.data]);
  return JSON.stringify({ objects, version: (await w.version(ns))?.metadata.resourceVersion });
}

async function assertNothingWritten(): Promise<void> {
  assert.equal(await state(), initial, 'a diff changed the cluster');
  assert.equal((await w.version(ns))?.metadata.resourceVersion, versionRv, 'a diff wrote the Version');
}

const noLeak = (res: { stdout: string; stderr: string }) => {
  for (const t of secretTexts)
    assert.ok(!`${res.stdout}${res.stderr}`.includes(t), `a Secret value shown: ${t}`);
};

before(async () => {
  w = await startWorld({
    namespaces: [ns],
    files: { ...seedRepo('iowa-a', [ns]), [`${folder}/secret.yaml`]: secret({ password: b64(oldPassword) }) },
  });
  shas.seed = await w.repo.head();
  const res = await w.cli(['sync', '--once']);
  assert.equal(res.code, 0, res.stdout + res.stderr);
  initial = await state();
  versionRv = (await w.version(ns))?.metadata.resourceVersion;
  assert.ok(versionRv);
});
after(async () => {
  for (const d of dirs) await removeDir(d);
  dirs = [];
  await w?.stop();
});

test('no change since the sync: exit 0, says so', async () => {
  const head = await w.repo.head();
  for (const args of [['diff'], ['diff', '--namespace', ns]]) {
    const res = await w.cli(args);
    assert.equal(res.code, 0, res.stdout + res.stderr);
    assert.equal(res.stdout, `${ns} @ ${short(head)}: no differences (5 objects)\n`);
    assert.equal(res.stderr, '');
  }
  await assertNothingWritten();
});

test('a changed Deployment: exit 1, each changed field with its old and new value; nothing applied', async () => {
  shas.deployment = await w.repo.commit(
    appFiles(folder, 'bedrock', { image: 'mozmeao/bedrock:2', replicas: 3 }),
    'new image, 3 replicas',
  );
  const res = await w.cli(['diff']);
  assert.equal(res.code, 1, res.stdout + res.stderr);
  assert.equal(
    res.stdout,
    [
      `${ns} @ ${short(shas.deployment)}: 1 changed, 0 new, 0 to prune, 4 unchanged`,
      `~ Deployment/bedrock (${folder}/deploy.yaml:1)`,
      '    spec.replicas: 2 → 3',
      '    spec.template.spec.containers[0].image: "mozmeao/bedrock:1" → "mozmeao/bedrock:2"',
      '',
    ].join('\n'),
  );
  assert.equal(res.stderr, '');
  await assertNothingWritten();
});

test('a changed Secret: the keys named, neither the old nor the new value (nor their base64) shown', async () => {
  shas.secret = await w.repo.commit(
    { [`${folder}/secret.yaml`]: secret({ password: b64(newPassword) }, { token: newToken }) },
    'rotate the db password, add a token',
  );
  const res = await w.cli(['diff']);
  assert.equal(res.code, 1, res.stdout + res.stderr);
  const lines = res.stdout.split('\n');
  const at = lines.indexOf(`~ Secret/db (${folder}/secret.yaml:1)`);
  assert.ok(at > 0, res.stdout);
  assert.deepEqual(lines.slice(at + 1, at + 3), [
    '    data.password: changed (hidden)',
    '    data.token: (none) → (hidden)',
  ]);
  assert.match(res.stdout, /: 2 changed, 0 new, 0 to prune, 3 unchanged\n/);
  noLeak(res);
  await assertNothingWritten();
});

test('a removed file: its objects would be pruned', async () => {
  shas.prune = await w.repo.commit({ [`${folder}/hpa.yaml`]: null }, 'drop the HPA');
  const res = await w.cli(['diff']);
  assert.equal(res.code, 1, res.stdout + res.stderr);
  assert.match(res.stdout, /^- HorizontalPodAutoscaler\/bedrock \(would be pruned\)$/m);
  assert.match(res.stdout, /: 2 changed, 0 new, 1 to prune, 2 unchanged\n/);
  noLeak(res);
  await assertNothingWritten();
});

test('--sha: that commit of the repo, not the head', async () => {
  const res = await w.cli(['diff', '--sha', shas.deployment as string]);
  assert.equal(res.code, 1, res.stdout + res.stderr);
  assert.match(
    res.stdout,
    new RegExp(`^${ns} @ ${short(shas.deployment as string)}: 1 changed, 0 new, 0 to prune`),
  );
  assert.match(res.stdout, /spec\.replicas: 2 → 3/);
  assert.doesNotMatch(res.stdout, /Secret|pruned/);
  // The synced commit, two commits back: what is live.
  const synced = await w.cli(['diff', '--sha', shas.seed as string]);
  assert.equal(synced.code, 0, synced.stdout + synced.stderr);
  assert.equal(synced.stdout, `${ns} @ ${short(shas.seed as string)}: no differences (5 objects)\n`);
  await assertNothingWritten();
});

test('DIR: a local folder against the live namespace (a PR check before merge)', async () => {
  const base = await tempDir('diff');
  dirs.push(base);
  const dir = join(base, ns);
  await mkdir(dir);
  const app = appFiles('x', 'bedrock');
  await writeFile(join(dir, 'deploy.yaml'), app['x/deploy.yaml'] as string);
  await writeFile(
    join(dir, 'configmap.yaml'),
    (app['x/configmap.yaml'] as string).replace('"false"', '"true"'),
  );
  await writeFile(
    join(dir, 'extra.yaml'),
    'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\ndata:\n  A: "1"\n',
  );
  const res = await w.cli(['diff', dir]);
  assert.equal(res.code, 1, res.stdout + res.stderr);
  const lines = res.stdout.trimEnd().split('\n');
  assert.deepEqual(lines.slice(0, 4), [
    `${ns} @ ${dir}: 1 changed, 1 new, 3 to prune, 1 unchanged`,
    `~ ConfigMap/bedrock-config (${dir}/configmap.yaml:1)`,
    '    data.DEBUG: "false" → "true"',
    `+ ConfigMap/extra (${dir}/extra.yaml:1)`,
  ]);
  // Prunes in the inventory's order.
  assert.deepEqual(lines.slice(4).sort(), [
    '- HorizontalPodAutoscaler/bedrock (would be pruned)',
    '- Secret/db (would be pruned)',
    '- Service/bedrock (would be pruned)',
  ]);
  // The same folder under another name, with --namespace; unchanged content: exit 0.
  const other = join(base, 'checkout');
  await mkdir(other);
  for (const f of ['deploy.yaml', 'svc.yaml', 'hpa.yaml', 'configmap.yaml'])
    await writeFile(join(other, f), app[`x/${f}`] as string);
  await writeFile(join(other, 'secret.yaml'), secret({ password: b64(oldPassword) }));
  const same = await w.cli(['diff', '--namespace', ns, other]);
  assert.equal(same.code, 0, same.stdout + same.stderr);
  assert.equal(same.stdout, `${ns} @ ${other}: no differences (5 objects)\n`);
  noLeak(same);
  await assertNothingWritten();
});

test('errors exit 2 with one line: invalid manifests, a refused dry-run, bad usage, an unknown commit', async () => {
  const oneLine = (res: { code: number | null; stdout: string; stderr: string }, pattern: RegExp) => {
    assert.equal(res.code, 2, res.stdout + res.stderr);
    assert.equal(res.stderr.trimEnd().split('\n').length, 1, res.stderr);
    assert.match(res.stderr, pattern);
    noLeak(res);
  };
  const broken = await w.repo.commit({ [`${folder}/configmap.yaml`]: 'kind: [\n' }, 'broken yaml');
  const bad = await w.cli(['diff']);
  oneLine(
    bad,
    new RegExp(
      `^diff: ${ns} @ ${short(broken)}: invalid manifests, nothing compared: ${folder}/configmap\\.yaml`,
    ),
  );
  assert.equal(bad.stdout, '');

  const refusedSha = await w.repo.commit(
    {
      ...appFiles(folder, 'bedrock', { replicas: -1 }),
      [`${folder}/secret.yaml`]: secret({ password: b64(newPassword) }),
    },
    'negative replicas',
  );
  const refused = await w.cli(['diff']);
  oneLine(
    refused,
    new RegExp(
      `^diff: ${ns} @ ${short(refusedSha)}: the cluster refused the dry-run, nothing compared: ${folder}/deploy\\.yaml:1: Deployment/bedrock: .*replicas`,
    ),
  );

  const base = await tempDir('diff-bad');
  dirs.push(base);
  await writeFile(join(base, 'cm.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n');
  oneLine(
    await w.cli(['diff', '--namespace', ns, base]),
    /^diff: shop @ .*: invalid manifests, nothing compared: .*cm\.yaml/,
  );
  oneLine(
    await w.cli(['diff', base, '--sha', refusedSha]),
    /diff: compares a folder or a commit \(--sha\), not both/,
  );
  oneLine(await w.cli(['diff', '--sha', 'abc1234']), /--sha needs a full commit id/);
  oneLine(
    await w.cli(['diff', '--sha', 'f'.repeat(40)]),
    /^diff: cannot fetch commit f{40} of CONFIG_REPO: /,
  );
  oneLine(await w.cli(['diff', '--bogus']), /unknown option '--bogus'/);
  await assertNothingWritten();
});

test('an immutable change the plan would make by delete and create is shown as a replacement', async () => {
  // Live and ours (the label), immutable; git changes its data and opts in to recreation.
  const frozen = (value: string, annotations: Record<string, string> = {}) => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: 'frozen',
      labels: { 'git-sync-operator.mozilla.org/managed-by': 'git-sync-operator' },
      annotations,
    },
    immutable: true,
    data: { a: value },
  });
  const created = await w.cp.request('POST', `/api/v1/namespaces/${ns}/configmaps`, frozen('1'));
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const sha = await w.repo.commit(
    {
      ...appFiles(folder, 'bedrock'),
      [`${folder}/frozen.yaml`]: JSON.stringify(
        frozen('2', { 'git-sync-operator.mozilla.org/recreate': 'true' }),
      ),
    },
    'frozen config, recreated',
  );
  const res = await w.cli(['diff']);
  assert.equal(res.code, 1, res.stdout + res.stderr);
  assert.match(res.stdout, new RegExp(`^${ns} @ ${short(sha)}: \\d+ changed, 0 new, 1 to replace, `));
  assert.match(
    res.stdout,
    new RegExp(
      `^± ConfigMap/frozen \\(${folder}/frozen\\.yaml:1\\) would be deleted and created again \\(immutable fields change\\)$`,
      'm',
    ),
  );
  const live = JSON.parse(await w.kubectl('-n', ns, 'get', 'configmap', 'frozen', '-o', 'json'));
  assert.deepEqual(live.data, { a: '1' }, 'the diff replaced it');
});
