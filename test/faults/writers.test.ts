// Who may write: another field manager owning our fields (409), two operators at once (leader
// election, and a leader that loses its lease), and the operator confined by its generated RBAC.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ApiError, type KubeClient } from '../../src/kube/client.ts';
import { short } from '../../src/source/sha.ts';
import { run } from '../../testbed/proc.ts';
import { appFiles, seedRepo } from '../../testbed/seed.ts';
import { assertS3Once } from '../support/checks.ts';
import { recordWrites, within } from '../support/processes.ts';
import { condition, editByHand, grantOperator, startWorld, type World } from '../support/world.ts';

let w: World;

before(async () => {
  w = await startWorld({
    namespaces: ['conflict', 'leader', 'team', 'other'],
    files: seedRepo('iowa-a', ['conflict', 'leader', 'team', 'other']),
  });
});
after(async () => {
  await w?.stop();
});

const kubectlIn = (args: string[], input: string) =>
  run('kubectl', ['--kubeconfig', w.cp.kubeconfig, ...args], { input });

interface ManagedField {
  manager: string;
  operation: string;
  subresource?: string;
  fieldsV1?: Record<string, Record<string, unknown>>;
}
const getJson = async (ns: string, what: string) =>
  JSON.parse(await w.kubectl('-n', ns, 'get', what, '-o', 'json', '--show-managed-fields')) as {
    spec?: { replicas?: number; template: { spec: { containers: { image: string }[] } } };
    data?: Record<string, string>;
    metadata: { managedFields: ManagedField[] };
  };

test('a field owned by another applier is a conflict naming the object and FORCE_CONFLICTS; nothing of the set is applied; FORCE_CONFLICTS=true takes it over; kubectl scale/patch is drift, not a conflict', async () => {
  const ns = 'conflict';
  const sync = async (extra: Record<string, string> = {}) => {
    const op = w.operator({ MANAGED_NAMESPACES: ns, ...extra });
    try {
      const [r] = await op.syncOnce();
      assert.ok(r);
      return r;
    } finally {
      op.close();
    }
  };
  const first = await sync();
  assert.equal(first.ok, true, first.error);

  // Another tool applies the ConfigMap with its own value for DEBUG (it must force: we own it).
  await kubectlIn(
    ['apply', '--server-side', '--field-manager=other', '--force-conflicts', '-f', '-'],
    `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bedrock-config, namespace: ${ns}}\ndata: {DEBUG: "true"}\n`,
  );
  const sha = await w.repo.commit(appFiles(`iowa-a/${ns}`, 'bedrock', { image: 'mozmeao/bedrock:e1' }), 'e1');
  const r = await sync();
  assert.equal(r.ok, false);
  // Found by the whole-set dry-run, before any write; CI waiting on bedrock hears it at once.
  assert.equal(r.reason, 'DryRunRejected');
  assert.match(
    (await w.s3.getObject(`iowa-a/${ns}/bedrock/${short(sha)}.failed`)) ?? '',
    /^\S+Z DryRunRejected: .*ConfigMap\/bedrock-config: fields are owned by another applier/,
  );
  assert.match(
    r.error ?? '',
    /ConfigMap\/bedrock-config: fields are owned by another applier \(other\); remove them from one of the two sources, or set FORCE_CONFLICTS=true/,
  );
  assert.match(r.error ?? '', /iowa-a\/conflict\/configmap\.yaml/, 'the error does not name the file');
  let d = await getJson(ns, 'deployment/bedrock');
  assert.equal(
    d.spec?.template.spec.containers[0]?.image,
    'mozmeao/bedrock:1',
    'part of a conflicting set was applied',
  );
  assert.equal((await getJson(ns, 'configmap/bedrock-config')).data?.DEBUG, 'true');
  const v = await w.version(ns);
  assert.notEqual(v?.applied, short(sha));
  assert.match(v?.status?.lastError ?? '', /FORCE_CONFLICTS=true/);
  assert.equal(condition(v, 'Stalled')?.reason, 'DryRunRejected');

  const forced = await sync({ FORCE_CONFLICTS: 'true' });
  assert.equal(forced.ok, true, forced.error);
  const cm = await getJson(ns, 'configmap/bedrock-config');
  assert.equal(cm.data?.DEBUG, 'false');
  const owners = cm.metadata.managedFields.filter((f) => f.fieldsV1?.['f:data']?.['f:DEBUG'] !== undefined);
  assert.deepEqual(
    owners.map((f) => f.manager),
    ['git-sync-operator'],
  );
  d = await getJson(ns, 'deployment/bedrock');
  assert.equal(d.spec?.template.spec.containers[0]?.image, 'mozmeao/bedrock:e1');
  assert.equal((await w.version(ns))?.deployed, short(sha));

  // Imperative edits (operation Update): drift, put back without FORCE_CONFLICTS.
  await editByHand(w, ns, { replicas: 5, debug: 'yes' });
  const scaled = await getJson(ns, 'deployment/bedrock');
  assert.ok(
    scaled.metadata.managedFields.some(
      (f) => f.operation === 'Update' && f.fieldsV1?.['f:spec']?.['f:replicas'],
    ),
    'kubectl scale left no Update entry',
  );
  const drift = await sync();
  assert.equal(drift.ok, true, drift.error);
  assert.equal((await getJson(ns, 'deployment/bedrock')).spec?.replicas, 2);
  assert.equal((await getJson(ns, 'configmap/bedrock-config')).data?.DEBUG, 'false');
});

test('two operators at once: one leader writes, the other writes nothing; a leader that loses its lease stops writing and the other takes over', async () => {
  const ns = 'leader';
  const extra = { MANAGED_NAMESPACES: ns, LEASE_DURATION: '3' };
  const ops = [w.operator(extra), w.operator(extra)];
  const writes = ops.map(recordWrites);
  const stops = ops.map(() => new AbortController());
  const runs = ops.map((op, i) => op.run((stops[i] as AbortController).signal));
  try {
    const sha1 = await w.repo.commit(
      appFiles(`iowa-a/${ns}`, 'bedrock', { image: 'mozmeao/bedrock:f1' }),
      'f1',
    );
    await w.waitVersion(ns, 'deployed sha1', (v) => v.deployed === short(sha1), 120_000);
    await new Promise((r) => setTimeout(r, 3000)); // several intervals and lease renewals
    const writers = writes.map((list) => list.length > 0);
    assert.equal(writers.filter(Boolean).length, 1, `writers: ${writes.map((l) => l.length)}`);
    const leader = writers.indexOf(true);
    const follower = 1 - leader;
    assert.deepEqual(writes[follower], [], 'the follower wrote');
    await assertS3Once(w, ns, 'bedrock', sha1);

    // Someone else takes the lease (e.g. a replica that saw it expire during a network split).
    const path = `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases/git-sync-operator`;
    const lease = (await w.cp.request('GET', path)).body as { spec: Record<string, unknown> };
    const now = new Date().toISOString().replace('Z', '000Z');
    const put = await w.cp.request('PUT', path, {
      ...lease,
      spec: { ...lease.spec, holderIdentity: 'intruder', renewTime: now, leaseDurationSeconds: 3 },
    });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    const outcome = await within('the old leader stopping', 30_000, runs[leader] as Promise<string>);
    assert.equal(outcome, 'lost-lease');
    const frozen = (writes[leader] as string[]).length;
    const sha2 = await w.repo.commit(
      appFiles(`iowa-a/${ns}`, 'bedrock', { image: 'mozmeao/bedrock:f2' }),
      'f2',
    );
    await w.waitVersion(
      ns,
      'deployed sha2 by the other operator',
      (v) => v.deployed === short(sha2),
      120_000,
    );
    assert.equal((writes[leader] as string[]).length, frozen, 'the operator that lost its lease wrote');
    assert.ok((writes[follower] as string[]).length > 0);
    await assertS3Once(w, ns, 'bedrock', sha2);
  } finally {
    for (const s of stops) s.abort();
    await within('both operators stopping', 30_000, Promise.allSettled(runs));
    for (const op of ops) op.close();
  }
});

test('security: with only the generated RBAC the operator reads and writes nothing outside its namespace and creates nothing cluster-scoped', async () => {
  const ns = 'team';
  const sa = `${ns}-git-sync-operator`;
  const impersonate = await grantOperator(w, sa, ns, [ns]);
  const op = w.operator({ MANAGED_NAMESPACES: ns }, { impersonate });
  try {
    const [ok] = await op.syncOnce();
    assert.equal(ok?.ok, true, ok?.error);
    const cm = (namespace: string) => ({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'x', namespace },
    });
    const rbac = '/apis/rbac.authorization.k8s.io/v1';
    const attempts: [string, string, unknown?][] = [
      ['GET', '/api/v1/namespaces/other/configmaps'],
      ['GET', '/api/v1/namespaces/other/configmaps/bedrock-config'],
      ['POST', '/api/v1/namespaces/other/configmaps', cm('other')],
      ['DELETE', '/apis/apps/v1/namespaces/other/deployments/bedrock'],
      ['GET', '/api/v1/namespaces/kube-system/secrets'],
      ['GET', '/api/v1/secrets'],
      ['GET', '/api/v1/configmaps'],
      ['GET', '/apis/apps/v1/deployments'],
      ['GET', '/api/v1/nodes'],
      ['POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'evil' } }],
      ['DELETE', `/api/v1/namespaces/${ns}`],
      [
        'POST',
        `${rbac}/clusterroles`,
        {
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'ClusterRole',
          metadata: { name: 'evil' },
          rules: [],
        },
      ],
      [
        'POST',
        `${rbac}/clusterrolebindings`,
        {
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'ClusterRoleBinding',
          metadata: { name: 'evil' },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
          subjects: [{ kind: 'ServiceAccount', name: sa, namespace: ns }],
        },
      ],
      [
        'POST',
        `${rbac}/namespaces/${ns}/rolebindings`,
        {
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'RoleBinding',
          metadata: { name: 'evil', namespace: ns },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
          subjects: [{ kind: 'ServiceAccount', name: sa, namespace: ns }],
        },
      ],
      [
        'PATCH',
        `${rbac}/clusterroles/git-sync-operator`,
        { rules: [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }] },
      ],
      [
        'POST',
        '/apis/apiextensions.k8s.io/v1/customresourcedefinitions',
        {
          apiVersion: 'apiextensions.k8s.io/v1',
          kind: 'CustomResourceDefinition',
          metadata: { name: 'evils.example.com' },
        },
      ],
      [
        'POST',
        '/api/v1/persistentvolumes',
        {
          apiVersion: 'v1',
          kind: 'PersistentVolume',
          metadata: { name: 'evil' },
          spec: { capacity: { storage: '1Gi' }, accessModes: ['ReadWriteOnce'], hostPath: { path: '/' } },
        },
      ],
      [
        'POST',
        '/apis/versions.mozilla.org/v1/namespaces/other/versions',
        { apiVersion: 'versions.mozilla.org/v1', kind: 'Version', metadata: { name: 'other' } },
      ],
      ['GET', '/apis/coordination.k8s.io/v1/namespaces/other/leases'],
      [
        'POST',
        `/api/v1/namespaces/${ns}/pods`,
        {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: 'evil' },
          spec: { containers: [{ name: 'c', image: 'x' }] },
        },
      ],
    ];
    const allowed = await notRefused(op.deps.client, attempts);
    assert.deepEqual(allowed, [], 'requests outside the operator’s rights were not refused');

    // Through the pipeline: a RoleBinding to cluster-admin in git is refused by RBAC, whole set unapplied.
    const escalate = [
      'apiVersion: rbac.authorization.k8s.io/v1',
      'kind: RoleBinding',
      'metadata: {name: escalate}',
      'roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}',
      `subjects: [{kind: ServiceAccount, name: ${sa}, namespace: ${ns}}]`,
      '',
    ].join('\n');
    const extraCm = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: added}\ndata: {a: "1"}\n';
    const sha = await w.repo.commit(
      { [`iowa-a/${ns}/escalate.yaml`]: escalate, [`iowa-a/${ns}/added.yaml`]: extraCm },
      'team: escalation attempt',
    );
    const [r] = await op.syncOnce();
    assert.equal(r?.ok, false);
    assert.match(r?.error ?? '', /RoleBinding\/(\*|escalate)/);
    assert.match(r?.error ?? '', /iowa-a\/team\/escalate\.yaml/);
    assert.match(r?.error ?? '', /forbidden/i);
    assert.ok(!(await w.names(ns, 'configmaps')).includes('added'), 'part of the refused set was applied');
    assert.deepEqual(await w.names(ns, 'rolebindings'), ['git-sync-operator']);
    assert.notEqual((await w.version(ns))?.applied, short(sha));
    await w.repo.commit(
      { [`iowa-a/${ns}/escalate.yaml`]: null, [`iowa-a/${ns}/added.yaml`]: null },
      'team: undo',
    );
    const [back] = await op.syncOnce();
    assert.equal(back?.ok, true, back?.error);
  } finally {
    op.close();
  }
  // The admin view: nothing was created by those attempts.
  for (const [path, what] of [
    ['/api/v1/namespaces/evil', 'Namespace'],
    ['/apis/rbac.authorization.k8s.io/v1/clusterroles/evil', 'ClusterRole'],
    ['/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/evil', 'ClusterRoleBinding'],
    ['/api/v1/persistentvolumes/evil', 'PersistentVolume'],
    ['/api/v1/namespaces/other/configmaps/x', 'ConfigMap in other'],
  ] as const)
    assert.equal((await w.cp.request('GET', path)).status, 404, `${what} exists`);
});

/** The requests the client sent that were not refused with 403, and what came back instead. */
async function notRefused(client: KubeClient, attempts: [string, string, unknown?][]): Promise<string[]> {
  const allowed: string[] = [];
  for (const [method, path, body] of attempts) {
    const opts =
      body === undefined
        ? {}
        : { body, contentType: method === 'PATCH' ? 'application/merge-patch+json' : 'application/json' };
    const err = await client.json(method, path, opts).then(
      () => undefined,
      (e: unknown) => e,
    );
    if (!(err instanceof ApiError && err.status === 403))
      allowed.push(`${method} ${path}: ${err instanceof Error ? err.message : 'allowed'}`);
  }
  return allowed;
}
