// The central installation's objects, and its Deployment's environment as the operator reads it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../config.ts';
import { centralObjects } from './central.ts';
import { defaultImage, type InstallOptions, namespaceObjects } from './manifests.ts';
import { clusterRole } from './rbac.ts';

const opts: InstallOptions = {
  namespaces: ['a', 'b', 'c'],
  clusterName: 'iowa-a',
  configRepo: 'https://example.com/config.git',
  image: defaultImage,
  awsSecret: 'aws',
  notifySecret: 'notify',
};

interface Obj {
  kind: string;
  metadata: { name: string; namespace?: string };
  roleRef?: { kind: string; name: string };
  subjects?: { kind: string; name: string; namespace: string }[];
  rules?: { apiGroups: string[]; resources: string[]; verbs: string[] }[];
  spec?: {
    replicas: number;
    strategy: unknown;
    template: {
      spec: {
        serviceAccountName: string;
        containers: { env: { name: string; value?: string }[] }[];
      };
    };
  };
}

const objs = (o: Record<string, unknown>[]) => o as unknown as Obj[];
const ids = (o: Obj[]) => o.map((x) => `${x.kind}/${x.metadata.namespace ?? ''}/${x.metadata.name}`);
const deployment = (o: Obj[]) => o.find((x) => x.kind === 'Deployment') as Required<Obj>;
const envOf = (d: Required<Obj>) =>
  Object.fromEntries(
    (d.spec.template.spec.containers[0]?.env ?? []).filter((e) => 'value' in e).map((e) => [e.name, e.value]),
  ) as Record<string, string>;

describe('centralObjects', () => {
  const three = objs(centralObjects({ operatorNamespace: 'ops', replicas: 3 }, opts));

  it('one ServiceAccount, lease Role and Deployment in the operator namespace; a RoleBinding in each managed one', () => {
    assert.deepEqual(ids(three), [
      'ServiceAccount/ops/git-sync-operator',
      'Role/ops/git-sync-operator-leases',
      'RoleBinding/ops/git-sync-operator-leases',
      'RoleBinding/a/git-sync-operator',
      'RoleBinding/b/git-sync-operator',
      'RoleBinding/c/git-sync-operator',
      'Deployment/ops/git-sync-operator',
    ]);
  });

  it('binds the ClusterRole in each managed namespace to the central ServiceAccount', () => {
    for (const b of three.filter((x) => x.kind === 'RoleBinding' && x.metadata.namespace !== 'ops')) {
      assert.deepEqual(b.roleRef, {
        apiGroup: 'rbac.authorization.k8s.io',
        kind: 'ClusterRole',
        name: 'git-sync-operator',
      });
      assert.deepEqual(b.subjects, [{ kind: 'ServiceAccount', name: 'git-sync-operator', namespace: 'ops' }]);
    }
  });

  it('grants only the Leases in the operator namespace: the lease rule of the ClusterRole, nothing more', () => {
    const role = three.find((x) => x.kind === 'Role') as Obj;
    const clusterLeases = (clusterRole() as unknown as Obj).rules?.filter((r) =>
      r.resources.includes('leases'),
    );
    assert.deepEqual(role.rules, [
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update'] },
    ]);
    assert.deepEqual(role.rules, clusterLeases);
    const binding = three.find((x) => x.kind === 'RoleBinding' && x.metadata.namespace === 'ops') as Obj;
    assert.deepEqual(binding.roleRef, {
      apiGroup: 'rbac.authorization.k8s.io',
      kind: 'Role',
      name: 'git-sync-operator-leases',
    });
    assert.deepEqual(binding.subjects, [
      { kind: 'ServiceAccount', name: 'git-sync-operator', namespace: 'ops' },
    ]);
  });

  it('3 replicas: SHARDS=3 (SHARD_REPLICAS left to its default); Recreate, so old and new SHARDS never run together', () => {
    const d = deployment(three);
    assert.equal(d.spec.replicas, 3);
    assert.deepEqual(d.spec.strategy, { type: 'Recreate' });
    assert.equal(d.spec.template.spec.serviceAccountName, 'git-sync-operator');
    const env = envOf(d);
    assert.equal(env.MANAGED_NAMESPACES, 'a,b,c');
    assert.equal(env.SHARDS, '3');
    assert.equal(env.SHARD_REPLICAS, undefined);
    assert.equal(env.LEASE_NAMESPACE, undefined);
  });

  it('the operator reads that environment as 3 shards over a, b, c with its Leases in its own namespace', () => {
    const c = loadConfig({ ...envOf(deployment(three)), POD_NAMESPACE: 'ops' });
    assert.deepEqual(c.managedNamespaces, ['a', 'b', 'c']);
    assert.deepEqual(c.sharding, { shards: 3, replicas: 3 });
    assert.equal(c.leaderElection.namespace, 'ops');
  });

  it('1 replica: no SHARDS, Recreate', () => {
    const d = deployment(objs(centralObjects({ operatorNamespace: 'ops', replicas: 1 }, opts)));
    assert.equal(d.spec.replicas, 1);
    assert.deepEqual(d.spec.strategy, { type: 'Recreate' });
    assert.equal(envOf(d).SHARDS, undefined);
    assert.equal(envOf(d).MANAGED_NAMESPACES, 'a,b,c');
  });

  it('a namespace given twice is bound and managed once', () => {
    const o = objs(
      centralObjects({ operatorNamespace: 'ops', replicas: 2 }, { ...opts, namespaces: ['a', 'b', 'a'] }),
    );
    assert.deepEqual(
      ids(o).filter((id) => id.startsWith('RoleBinding/') && !id.includes('/ops/')),
      ['RoleBinding/a/git-sync-operator', 'RoleBinding/b/git-sync-operator'],
    );
    assert.equal(envOf(deployment(o)).MANAGED_NAMESPACES, 'a,b');
  });
});

describe('namespaceObjects (per-namespace mode, unchanged)', () => {
  it('its own ServiceAccount, one replica, Recreate, only its namespace, no SHARDS', () => {
    const o = objs(namespaceObjects('a', opts));
    assert.deepEqual(ids(o), [
      'ServiceAccount/a/a-git-sync-operator',
      'RoleBinding/a/git-sync-operator',
      'Deployment/a/git-sync-operator',
    ]);
    const d = deployment(o);
    assert.equal(d.spec.replicas, 1);
    assert.deepEqual(d.spec.strategy, { type: 'Recreate' });
    assert.equal(d.spec.template.spec.serviceAccountName, 'a-git-sync-operator');
    assert.equal(envOf(d).MANAGED_NAMESPACES, 'a');
    assert.equal(envOf(d).SHARDS, undefined);
  });
});
