// Abuse through the config repo and the environment. Every bad folder: a clear error naming the
// file, nothing written in that namespace (not even the valid objects of the same commit), no S3
// file for it, while the other namespace applies the same commit. Every bad environment value:
// exit code 2 and one line naming the variable.
// Covered elsewhere, not repeated here: webhook signatures (bad, missing, replayed) and oversized
// bodies — test/integration/operations.test.ts "run: signed GitHub/Gitea/GitLab webhooks …";
// a Secret in git (applied, never logged) — test/faults/git.test.ts "security: …"; malformed YAML,
// a non-object document, another namespace, a ClusterRole, a symlink to another cluster's folder —
// test/integration/sync.test.ts test 5.
import assert from 'node:assert/strict';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import { after, before, test } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config.ts';
import type { Operator } from '../../src/operator.ts';
import { short } from '../../src/source/sha.ts';
import type { RepoChanges } from '../../testbed/git.ts';
import { removeDir, tempDir } from '../../testbed/proc.ts';
import { seedRepo } from '../../testbed/seed.ts';
import { within } from '../support/processes.ts';
import { condition, snapshot, startWorld, type World } from '../support/world.ts';

const dev = 'bedrock-dev';
const prod = 'bedrock-prod';
const kinds = 'deployments,services,configmaps,secrets,horizontalpodautoscalers,serviceaccounts,rolebindings';
let w: World;
let op: Operator;
let scratch: string;

before(async () => {
  w = await startWorld({ namespaces: [dev, prod], files: seedRepo('iowa-a', [dev, prod]) });
  scratch = await tempDir('bad-input');
  op = w.operator();
  const first = await op.syncOnce();
  assert.deepEqual(
    first.map((r) => r.ok),
    [true, true],
    first.map((r) => r.error).join('; '),
  );
});
after(async () => {
  op?.close();
  await w?.stop();
  if (scratch) await removeDir(scratch);
});

const added = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: added}\ndata: {a: "1"}\n';

/**
 * Commits `files` into dev's folder plus a valid ConfigMap in both namespaces, syncs once and
 * checks: dev rejected with every `errors` pattern and untouched, prod applied; then undoes it.
 */
async function rejected(
  what: string,
  files: RepoChanges,
  errors: RegExp[],
  reason = 'InvalidManifests',
): Promise<void> {
  const inDev = Object.fromEntries(Object.entries(files).map(([k, v]) => [`iowa-a/${dev}/${k}`, v]));
  const before = await snapshot(w, dev, kinds);
  const sha = await w.repo.commit(
    { ...inDev, [`iowa-a/${dev}/added.yaml`]: added, [`iowa-a/${prod}/added.yaml`]: added },
    `bad input: ${what}`,
  );
  // Bounded: an abusive file must not hang the operator (a generous limit, not a speed check).
  const results = new Map((await within('sync --once', 300_000, op.syncOnce())).map((r) => [r.namespace, r]));
  const r = results.get(dev);
  assert.equal(r?.ok, false, `${what} was accepted`);
  for (const e of errors) assert.match(r?.error ?? '', e);
  assert.equal(r?.reason, reason);
  assert.equal(results.get(prod)?.ok, true, results.get(prod)?.error);
  assert.deepEqual(await snapshot(w, dev, kinds), before, `something was written in ${dev}`);
  assert.ok((await w.names(prod, 'configmaps')).includes('added'), 'the other namespace did not carry on');
  const v = await w.version(dev);
  assert.notEqual(v?.applied, short(sha));
  for (const e of errors) assert.match(v?.status?.lastError ?? '', e);
  assert.equal(condition(v, 'Stalled')?.reason, reason);
  // CI waiting on bedrock at this sha hears the failure and its reason at once, and nothing else.
  const key = `iowa-a/${dev}/bedrock/${short(sha)}`;
  assert.deepEqual(await w.s3.listKeys(key), [`${key}.failed`], 'not exactly one .failed signal');
  assert.match((await w.s3.getObject(`${key}.failed`)) ?? '', new RegExp(`^\\S+Z ${reason}: `));
  assert.ok(
    await w.s3.getObject(`iowa-a/${prod}/bedrock/${short(sha)}`),
    'no S3 file for the good namespace',
  );

  const undo = Object.fromEntries(Object.keys(inDev).map((k) => [k, null]));
  await w.repo.commit(
    { ...undo, [`iowa-a/${dev}/added.yaml`]: null, [`iowa-a/${prod}/added.yaml`]: null },
    `undo: ${what}`,
  );
  const back = await op.syncOnce();
  assert.deepEqual(
    back.map((x) => x.ok),
    [true, true],
    back.map((x) => x.error).join('; '),
  );
}

const cm = (name: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ${name}}\n`;

test('YAML bombs: alias expansion (billion laughs) and deep nesting', async () => {
  const levels = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
  for (let i = 1; i < 10; i++) {
    const [name, prev] = [String.fromCharCode(97 + i), String.fromCharCode(96 + i)];
    levels.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(',')}]`);
  }
  const bomb = `${cm('bomb')}data:\n${levels.map((l) => `  ${l}`).join('\n')}\n`;
  const deep = `${cm('deep')}data: {a: ${'['.repeat(5_000)}${']'.repeat(5_000)}}\n`;
  await rejected('YAML bombs', { 'bomb.yaml': bomb, 'deep.yaml': deep }, [
    /iowa-a\/bedrock-dev\/bomb\.yaml:1: document 1: Excessive alias count indicates a resource exhaustion attack/,
    /iowa-a\/bedrock-dev\/deep\.yaml:\d+: invalid YAML in document 1/,
  ]);
});

test('a 100 MB file (limit 4 MiB per file) is refused from its size, never read', async () => {
  const file = join(scratch, 'big.yaml');
  const out = createWriteStream(file);
  const chunk = Buffer.from(`${'# padding '.repeat(6553)}\n`.padEnd(64 * 1024, ' '));
  out.write(cm('big'));
  for (let i = 0; i < 1600; i++)
    if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
  out.end();
  await finished(out);
  await rejected('a 100 MB file', { 'big.yaml': { copyFrom: file } }, [
    /iowa-a\/bedrock-dev\/big\.yaml: is 100\.0 MiB; the limit is 4\.0 MiB per file/,
  ]);
  await removeDir(file);
});

test('10,000 documents in one file (limit 5,000)', async () => {
  const many = Array.from({ length: 10_000 }, (_, i) => cm(`c${i}`)).join('---\n');
  await rejected('10,000 documents', { 'many.yaml': many }, [
    /iowa-a\/bedrock-dev\/many\.yaml: has 10000 documents; the limit is 5000 per file/,
  ]);
});

test('objects without apiVersion, kind, metadata or name, and invalid names', async () => {
  await rejected(
    'incomplete objects and bad names',
    {
      'no-api.yaml': 'kind: ConfigMap\nmetadata: {name: x}\n',
      'no-kind.yaml': 'apiVersion: v1\nmetadata: {name: x}\n',
      'no-meta.yaml': 'apiVersion: v1\nkind: ConfigMap\ndata: {a: b}\n',
      'no-name.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {labels: {a: b}}\n',
      'upper.yaml': cm('Bad_Name'),
      'long.yaml': cm('a'.repeat(254)),
      'slash.yaml': cm('"a/b"'),
      'generate.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {generateName: x-}\n',
    },
    [
      /no-api\.yaml:1: document 1: apiVersion is missing/,
      /no-kind\.yaml:1: document 1: kind is missing/,
      /no-meta\.yaml:1: document 1: ConfigMap has no metadata/,
      /no-name\.yaml:1: document 1: ConfigMap has no metadata\.name/,
      /upper\.yaml:1: document 1: ConfigMap name "Bad_Name" is not a valid Kubernetes name/,
      /long\.yaml:1: document 1: ConfigMap name "a{254}" is not a valid Kubernetes name/,
      /slash\.yaml:1: document 1: ConfigMap name "a\/b" is not a valid Kubernetes name/,
      /generate\.yaml:1: document 1: ConfigMap has no metadata\.name/,
    ],
  );
});

test('a name only the server refuses (Service "web.v2": not a DNS label) fails the dry-run of the whole set', async () => {
  await rejected(
    'a Service name the server refuses',
    { 'svc.yaml': 'apiVersion: v1\nkind: Service\nmetadata: {name: web.v2}\nspec: {ports: [{port: 80}]}\n' },
    [/iowa-a\/bedrock-dev\/svc\.yaml:1: Service\/web\.v2: .*422 Invalid.*web\.v2/],
    'DryRunRejected',
  );
});

test('cluster-scoped kinds: Namespace, ClusterRole, ClusterRoleBinding, CRD, PersistentVolume, one inside a List', async () => {
  const rbac = 'apiVersion: rbac.authorization.k8s.io/v1';
  await rejected(
    'cluster-scoped kinds',
    {
      'ns.yaml': 'apiVersion: v1\nkind: Namespace\nmetadata: {name: evil}\n',
      'cr.yaml': `${rbac}\nkind: ClusterRole\nmetadata: {name: evil}\nrules: [{apiGroups: ["*"], resources: ["*"], verbs: ["*"]}]\n`,
      'crb.yaml': `${rbac}\nkind: ClusterRoleBinding\nmetadata: {name: evil}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}\nsubjects: [{kind: ServiceAccount, name: default, namespace: ${dev}}]\n`,
      'crd.yaml':
        'apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: evils.example.com}\n',
      'pv.yaml':
        'apiVersion: v1\nkind: PersistentVolume\nmetadata: {name: evil}\nspec: {capacity: {storage: 1Gi}, accessModes: [ReadWriteOnce], hostPath: {path: /}}\n',
      'list.yaml':
        'apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Namespace\n  metadata: {name: evil-too}\n',
    },
    [
      /ns\.yaml:1: document 1: Namespace\/evil is cluster-scoped/,
      /cr\.yaml:1: document 1: ClusterRole\/evil is cluster-scoped/,
      /crb\.yaml:1: document 1: ClusterRoleBinding\/evil is cluster-scoped/,
      /crd\.yaml:1: document 1: CustomResourceDefinition\/evils\.example\.com is cluster-scoped/,
      /pv\.yaml:1: document 1: PersistentVolume\/evil is cluster-scoped/,
      /list\.yaml:1: document 1: Namespace\/evil-too is cluster-scoped/,
    ],
  );
  for (const [path, what] of [
    ['/api/v1/namespaces/evil', 'Namespace'],
    ['/apis/rbac.authorization.k8s.io/v1/clusterroles/evil', 'ClusterRole'],
    ['/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/evil', 'ClusterRoleBinding'],
    ['/api/v1/persistentvolumes/evil', 'PersistentVolume'],
  ] as const)
    assert.equal((await w.cp.request('GET', path)).status, 404, `${what} was created`);
});

test('a cluster-scoped kind only the server knows as such (IPAddress) is refused at the dry-run', async () => {
  await rejected(
    'IPAddress',
    { 'ip.yaml': 'apiVersion: networking.k8s.io/v1\nkind: IPAddress\nmetadata: {name: 10.96.0.99}\n' },
    [/iowa-a\/bedrock-dev\/ip\.yaml:1: IPAddress\/.*IPAddress is cluster-scoped/],
    'DryRunRejected',
  );
  assert.equal((await w.cp.request('GET', '/apis/networking.k8s.io/v1/ipaddresses/10.96.0.99')).status, 404);
});

test('symlinks escaping the folder: `..` into the other namespace, and an absolute path', async () => {
  await rejected('a .. symlink', { 'sneaky.yaml': { symlink: `./../${prod}/deploy.yaml` } }, [
    /iowa-a\/bedrock-dev\/sneaky\.yaml: symlink to "\.\/\.\.\/bedrock-prod\/deploy\.yaml" leaves the folder iowa-a\/bedrock-dev\//,
  ]);
  await rejected('an absolute symlink', { 'abs.yaml': { symlink: '/etc/hostname' } }, [
    /iowa-a\/bedrock-dev\/abs\.yaml: symlink to "\/etc\/hostname" leaves the folder/,
  ]);
});

test('unknown kinds: the dry-run rejects the whole set before any write', async () => {
  await rejected(
    'unknown kinds',
    {
      'widget.yaml': 'apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n',
      'wat.yaml': 'apiVersion: v1\nkind: Wat\nmetadata: {name: w}\n',
    },
    [
      /iowa-a\/bedrock-dev\/widget\.yaml:1: Widget\/\*?.*the server has no kind Widget in example\.com\/v1/,
      /iowa-a\/bedrock-dev\/wat\.yaml:1: Wat\/\*?.*the server has no kind Wat in v1/,
    ],
    'DryRunRejected',
  );
});

test('invalid environment values: exit code 2 and one line naming the variable', async () => {
  const cases: [string, string][] = [
    ['CONFIG_REPO', ''],
    ['CONFIG_REPO', '--upload-pack=touch /tmp/x'],
    ['CONFIG_REPO', 'htps://user:tok3n-s3cret@example.com/repo.git'],
    ['CONFIG_BRANCH', 'a..b'],
    ['CONFIG_BRANCH', '--upload-pack=x'],
    ['CLUSTER_NAME', '../etc'],
    ['MANAGED_NAMESPACES', 'Bad_NS'],
    ['MANAGED_NAMESPACES', ' , '],
    ['GIT_SYNC_INTERVAL', 'abc'],
    ['GIT_SYNC_INTERVAL', '0'],
    ['GIT_SYNC_INTERVAL', '1e10'],
    ['ROLLOUT_TIMEOUT', '-5'],
    ['FORCE_CONFLICTS', 'maybe'],
    ['APPLY_CONCURRENCY', '0.5'],
    ['LEADER_ELECT', 'perhaps'],
    ['LEASE_DURATION', '0'],
    ['LEASE_NAMESPACE', 'Not A Namespace'],
    ['LISTEN_ADDRESS', 'nowhere'],
    ['GIT_SSH_KEY_FILE', 'key; rm -rf /'],
    ['LOG_LEVEL', 'loud'],
  ];
  const wrong: string[] = [];
  // Every case through loadConfig (what `run` and `sync` call first)…
  for (const [name, value] of cases) {
    try {
      loadConfig(w.env({ [name]: value }));
      wrong.push(`${name}=${JSON.stringify(value)} was accepted`);
    } catch (err) {
      if (!(err instanceof ConfigError && err.variable === name && !err.message.includes('\n')))
        wrong.push(`${name}=${JSON.stringify(value)}: ${(err as Error).message}`);
      if ((err as Error).message.includes('tok3n-s3cret')) wrong.push(`${name}: the error shows the token`);
    }
  }
  // …and a few through the real process: exit code and the exact shape of stderr. A value wrongly
  // accepted would start the loop: bounded, killed after 60 s.
  const real = cases
    .filter(
      ([name, value]) =>
        ['LOG_LEVEL', 'LEASE_NAMESPACE', 'GIT_SYNC_INTERVAL', 'MANAGED_NAMESPACES'].includes(name) ||
        value.includes('tok3n'),
    )
    .filter(([name], i, all) => all.findIndex(([n]) => n === name) === i);
  const outs = await Promise.all(
    real.map(([name, value]) => w.cli(['run'], { LISTEN_ADDRESS: '127.0.0.1:0', [name]: value }, 60_000)),
  );
  outs.forEach((r, j) => {
    const [name, value] = real[j] as [string, string];
    const lines = r.stderr.trim().split('\n');
    const ok =
      r.code === 2 &&
      lines.length === 1 &&
      lines[0]?.startsWith(`git-sync-operator: ${name}: `) &&
      !r.stderr.includes('tok3n-s3cret') &&
      r.stdout === '';
    if (!ok)
      wrong.push(
        `run with ${name}=${JSON.stringify(value)}: exit ${r.code}, stderr ${JSON.stringify(r.stderr)}`,
      );
  });
  assert.equal(real.length, 5);
  assert.equal(wrong.join('\n'), '');
});
