// Issue 16 on the real control plane: `install --operator-namespace ops --replicas 3 --apply`
// creates one central operator for a, b and c, and its ServiceAccount (impersonated) has exactly
// the rights it needs: its Leases in ops and nothing else there, the ClusterRole in a, b and c,
// nothing in d. Then an operator running as that ServiceAccount, sharded, syncs all three.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ApiError, KubeClient } from '../../src/kube/client.ts';
import { shardLeaseName } from '../../src/shard/leases.ts';
import { short } from '../../src/source/sha.ts';
import { waitFor } from '../../testbed/proc.ts';
import { seedRepo } from '../../testbed/seed.ts';
import { startWorld, type World } from '../support/world.ts';

const managed = ['a', 'b', 'c'];
const sa = 'system:serviceaccount:ops:git-sync-operator';
const impersonate = {
  user: sa,
  groups: ['system:serviceaccounts', 'system:serviceaccounts:ops', 'system:authenticated'],
};

let w: World;
before(async () => {
  w = await startWorld({
    namespaces: ['ops', ...managed, 'd'],
    files: seedRepo('iowa-a', [...managed, 'd']),
  });
});
after(async () => {
  await w?.stop();
});

interface Obj {
  metadata: { name: string };
  roleRef?: { kind: string; name: string };
  subjects?: { kind: string; name: string; namespace: string }[];
  spec?: {
    replicas: number;
    strategy: { type: string };
    template: {
      spec: { serviceAccountName: string; containers: { env: { name: string; value?: string }[] }[] };
    };
  };
}

async function get(path: string): Promise<Obj | undefined> {
  const r = await w.cp.request('GET', path);
  assert.ok(r.status === 200 || r.status === 404, `${path}: ${r.status}`);
  return r.status === 200 ? (r.body as Obj) : undefined;
}

/** The HTTP status of a request made as the central ServiceAccount. */
async function statusAs(client: KubeClient, method: string, path: string, body?: unknown): Promise<number> {
  try {
    await client.json(method, path, body === undefined ? {} : { body });
    return 200;
  } catch (err) {
    if (err instanceof ApiError) return err.status;
    throw err;
  }
}

/** Opens a watch as the ServiceAccount; the status it was answered with. */
async function watchStatus(client: KubeClient, path: string): Promise<number> {
  let opened = false;
  try {
    for await (const _ of client.stream(`${path}?watch=1&timeoutSeconds=1`, AbortSignal.timeout(20_000), {
      opened: () => {
        opened = true;
      },
    }));
    return opened ? 200 : 0;
  } catch (err) {
    if (err instanceof ApiError) return err.status;
    throw err;
  }
}

const rbac = '/apis/rbac.authorization.k8s.io/v1/namespaces';
const leases = '/apis/coordination.k8s.io/v1/namespaces/ops/leases';

test('install --operator-namespace ops --replicas 3 --apply: one sharded Deployment in ops, bound in a, b, c', async () => {
  const args = ['install', ...managed.flatMap((ns) => ['--namespace', ns])];
  args.push(
    '--operator-namespace',
    'ops',
    '--replicas',
    '3',
    '--cluster-name',
    'iowa-a',
    '--config-repo',
    'file:///x',
  );
  const r = await w.cli([...args, '--apply']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim().split('\n').length, 9, r.stdout);

  const d = await get('/apis/apps/v1/namespaces/ops/deployments/git-sync-operator');
  assert.ok(d?.spec, 'no Deployment in ops');
  assert.equal(d.spec.replicas, 3);
  assert.equal(d.spec.strategy.type, 'Recreate');
  assert.equal(d.spec.template.spec.serviceAccountName, 'git-sync-operator');
  const env = Object.fromEntries(d.spec.template.spec.containers[0]?.env.map((e) => [e.name, e.value]) ?? []);
  assert.equal(env.MANAGED_NAMESPACES, 'a,b,c');
  assert.equal(env.SHARDS, '3');
  for (const ns of managed) {
    assert.equal(await get(`/apis/apps/v1/namespaces/${ns}/deployments/git-sync-operator`), undefined, ns);
    const b = await get(`${rbac}/${ns}/rolebindings/git-sync-operator`);
    assert.deepEqual([b?.roleRef?.kind, b?.roleRef?.name], ['ClusterRole', 'git-sync-operator'], ns);
    assert.deepEqual(b?.subjects, [{ kind: 'ServiceAccount', name: 'git-sync-operator', namespace: 'ops' }]);
  }
  assert.ok(await get('/api/v1/namespaces/ops/serviceaccounts/git-sync-operator'), 'no ServiceAccount');
  assert.ok(await get(`${rbac}/ops/roles/git-sync-operator-leases`), 'no lease Role');
  assert.equal(
    await get(`${rbac}/ops/rolebindings/git-sync-operator`),
    undefined,
    'the ClusterRole is bound in ops',
  );
  assert.equal(await get(`${rbac}/d/rolebindings/git-sync-operator`), undefined);
});

test('the central ServiceAccount: Leases in ops and nothing else there; the managed kinds in a, b, c; nothing in d', async () => {
  const client = new KubeClient({ kubeconfig: w.cp.kubeconfig, impersonate });
  try {
    const lease = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: 'rights-check', namespace: 'ops' },
      spec: { holderIdentity: 'me', leaseDurationSeconds: 3 },
    };
    assert.equal(await statusAs(client, 'POST', leases, lease), 200, 'create a Lease in ops');
    const read = await client.json<{ metadata: { resourceVersion: string } }>(
      'GET',
      `${leases}/rights-check`,
    );
    const renewed = {
      ...lease,
      metadata: { ...lease.metadata, resourceVersion: read.metadata.resourceVersion },
    };
    assert.equal(
      await statusAs(client, 'PUT', `${leases}/rights-check`, renewed),
      200,
      'update a Lease in ops',
    );
    // What the lease Role does not grant in ops.
    for (const [method, path] of [
      ['GET', leases],
      ['DELETE', `${leases}/rights-check`],
      ['GET', '/api/v1/namespaces/ops/secrets'],
      ['GET', '/api/v1/namespaces/ops/configmaps'],
      ['GET', '/apis/apps/v1/namespaces/ops/deployments'],
      ['GET', '/apis/versions.mozilla.org/v1/namespaces/ops/versions'],
      ['POST', '/api/v1/namespaces/ops/events'],
    ] as const)
      assert.equal(
        await statusAs(client, method, path, method === 'POST' ? {} : undefined),
        403,
        `${method} ${path}`,
      );

    for (const ns of managed) {
      assert.equal(
        await statusAs(client, 'GET', `/apis/apps/v1/namespaces/${ns}/deployments`),
        200,
        `list in ${ns}`,
      );
      assert.equal(
        await watchStatus(client, `/apis/apps/v1/namespaces/${ns}/deployments`),
        200,
        `watch in ${ns}`,
      );
      assert.equal(
        await statusAs(client, 'GET', `/api/v1/namespaces/${ns}/secrets`),
        200,
        `secrets in ${ns}`,
      );
    }
    assert.equal(await statusAs(client, 'GET', '/apis/apps/v1/namespaces/d/deployments'), 403, 'list in d');
    assert.equal(await watchStatus(client, '/apis/apps/v1/namespaces/d/deployments'), 403, 'watch in d');
    assert.equal(await statusAs(client, 'GET', '/apis/apps/v1/deployments'), 403, 'cluster-wide list');
  } finally {
    client.close();
  }
});

test('an operator running as the central ServiceAccount, SHARDS=3 in one replica, holds the shard Leases in ops and syncs a, b, c', async () => {
  const head = await w.repo.head();
  // One replica of three configured: SHARD_REPLICAS=1 lets it take every shard.
  const op = w.operator(
    {
      MANAGED_NAMESPACES: 'a,b,c',
      POD_NAMESPACE: 'ops',
      SHARDS: '3',
      SHARD_REPLICAS: '1',
      LEASE_DURATION: '3',
    },
    { impersonate },
  );
  const stop = new AbortController();
  const loop = op.run(stop.signal);
  try {
    for (const ns of managed)
      await w.waitVersion(
        ns,
        `${ns} applied by the central operator`,
        (v) => v.applied === short(head),
        120_000,
      );
    const holders = await waitFor(
      'three shard Leases held',
      async () => {
        const hs = await Promise.all(
          [0, 1, 2].map(async (i) => {
            const l = (await get(`${leases}/${shardLeaseName(i)}`)) as
              | { spec?: { holderIdentity?: string } }
              | undefined;
            return l?.spec?.holderIdentity;
          }),
        );
        return hs.every(Boolean) ? hs : undefined;
      },
      { timeoutMs: 30_000 },
    );
    assert.equal(new Set(holders).size, 1, `holders: ${holders.join(', ')}`);
    assert.equal(await w.version('d'), undefined, 'd was synced');
  } finally {
    stop.abort();
    await loop;
    op.close();
  }
});
