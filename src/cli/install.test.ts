// `install` as the real CLI runs it: the central mode's objects, and the usage errors (exit 2, one
// line). Printing needs no cluster; --apply is in test/integration/central-install.test.ts.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';

const bin = new URL('../../bin/git-sync-operator.js', import.meta.url).pathname;
const base = ['install', '--cluster-name', 'iowa-a', '--config-repo', 'https://example.com/c.git'];
const abc = ['--namespace', 'a', '--namespace', 'b', '--namespace', 'c'];

async function install(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [bin, ...base, ...args]);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

interface Doc {
  kind: string;
  metadata: { name: string; namespace?: string };
  spec?: {
    replicas?: number;
    strategy?: { type: string };
    template?: { spec: { containers: { env: { name: string; value?: string }[] }[] } };
  };
}
const docs = (yaml: string) => parseAllDocuments(yaml).map((d) => d.toJS() as Doc);
const ids = (d: Doc[]) => d.map((o) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`);
const env = (d: Doc[]) => {
  const dep = d.find((o) => o.kind === 'Deployment');
  return Object.fromEntries(
    (dep?.spec?.template?.spec.containers[0]?.env ?? []).map((e) => [e.name, e.value]),
  );
};

describe('install --operator-namespace', () => {
  it('--replicas 3: the CRD, the ClusterRole, then one central operator for a, b, c, sharded by 3', async () => {
    const r = await install(...abc, '--operator-namespace', 'ops', '--replicas', '3');
    assert.equal(r.code, 0, r.stderr);
    const d = docs(r.stdout);
    assert.deepEqual(ids(d), [
      'CustomResourceDefinition//versions.versions.mozilla.org',
      'ClusterRole//git-sync-operator',
      'ServiceAccount/ops/git-sync-operator',
      'Role/ops/git-sync-operator-leases',
      'RoleBinding/ops/git-sync-operator-leases',
      'RoleBinding/a/git-sync-operator',
      'RoleBinding/b/git-sync-operator',
      'RoleBinding/c/git-sync-operator',
      'Deployment/ops/git-sync-operator',
    ]);
    const dep = d.at(-1);
    assert.equal(dep?.spec?.replicas, 3);
    assert.equal(dep?.spec?.strategy?.type, 'Recreate');
    assert.equal(env(d).MANAGED_NAMESPACES, 'a,b,c');
    assert.equal(env(d).SHARDS, '3');
  });

  it('without --replicas: one replica, Recreate, no SHARDS', async () => {
    const r = await install(...abc, '--operator-namespace', 'ops');
    assert.equal(r.code, 0, r.stderr);
    const d = docs(r.stdout);
    assert.equal(d.filter((o) => o.kind === 'Deployment').length, 1);
    assert.equal(d.at(-1)?.spec?.replicas, 1);
    assert.equal(d.at(-1)?.spec?.strategy?.type, 'Recreate');
    assert.equal('SHARDS' in env(d), false);
  });
});

describe('install without --operator-namespace', () => {
  it('--replicas 1 changes nothing: one operator per namespace, as before', async () => {
    const plain = await install(...abc);
    const one = await install(...abc, '--replicas', '1');
    assert.equal(plain.code, 0, plain.stderr);
    assert.equal(one.stdout, plain.stdout);
    assert.deepEqual(
      ids(docs(plain.stdout)).filter((id) => id.startsWith('Deployment/')),
      ['Deployment/a/git-sync-operator', 'Deployment/b/git-sync-operator', 'Deployment/c/git-sync-operator'],
    );
  });
});

describe('install usage errors: exit 2, one line, nothing printed', () => {
  const cases: [string[], RegExp][] = [
    [
      [...abc, '--replicas', '3'],
      /^git-sync-operator: install: --replicas above 1 needs --operator-namespace NS: a per-namespace operator has one namespace, nothing to shard\n$/,
    ],
    [
      [...abc, '--operator-namespace', 'ops', '--replicas', '0'],
      /^git-sync-operator: install: --replicas "0" must be a positive integer/,
    ],
    [
      [...abc, '--operator-namespace', 'ops', '--replicas', '2.5'],
      /--replicas "2.5" must be a positive integer/,
    ],
    [
      [...abc, '--operator-namespace', 'b'],
      /^git-sync-operator: install: --operator-namespace b is also a --namespace: keep the operator in a namespace of its own/,
    ],
    [
      [...abc, '--operator-namespace', 'Ops'],
      /^git-sync-operator: --operator-namespace: "Ops" is not a valid namespace name/,
    ],
  ];
  for (const [args, why] of cases) {
    it(args.slice(abc.length).join(' '), async () => {
      const r = await install(...args);
      assert.equal(r.code, 2, r.stdout + r.stderr);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, why);
      assert.equal(r.stderr.split('\n').length, 2, 'more than one line');
    });
  }
});
