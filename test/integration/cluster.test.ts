// The local control plane is real: pods run on kwok nodes, CRDs work, kubectl sees the pinned version.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { versions } from '../cluster/binaries.ts';
import { type ControlPlane, startControlPlane } from '../cluster/controlplane.ts';
import { run, waitFor } from '../support/proc.ts';

let cp: ControlPlane;
before(async () => {
  cp = await startControlPlane();
});
after(async () => {
  await cp?.stop();
});

const kubectl = (...args: string[]) => run('kubectl', ['--kubeconfig', cp.kubeconfig, ...args]);

test('kubectl version shows the pinned Kubernetes release', async () => {
  const { stdout } = await kubectl('version', '-o', 'json');
  const server = JSON.parse(stdout).serverVersion as { gitVersion: string };
  assert.equal(server.gitVersion, versions().kubernetes);
});

test('a 3-replica Deployment becomes 3/3 available on kwok nodes', async () => {
  await cp.createNamespace('smoke');
  await kubectl('-n', 'smoke', 'create', 'deployment', 'web', '--image=nginx', '--replicas=3');
  const available = await waitFor(
    'deployment web available',
    async () => {
      const res = await cp.request('GET', '/apis/apps/v1/namespaces/smoke/deployments/web');
      const n = (res.body as { status?: { availableReplicas?: number } }).status?.availableReplicas;
      return n === 3 ? n : undefined;
    },
    { timeoutMs: 60_000 },
  );
  assert.equal(available, 3);
  const pods = await cp.request('GET', '/api/v1/namespaces/smoke/pods');
  const items = (pods.body as { items: { status: { phase: string }; spec: { nodeName?: string } }[] }).items;
  assert.equal(items.length, 3);
  for (const p of items) {
    assert.equal(p.status.phase, 'Running');
    assert.match(p.spec.nodeName ?? '', /^kwok-node-/);
  }
});

test('a CRD can be created and its objects used', async () => {
  const crd = {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: 'widgets.example.com' },
    spec: {
      group: 'example.com',
      scope: 'Namespaced',
      names: { plural: 'widgets', singular: 'widget', kind: 'Widget' },
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          schema: { openAPIV3Schema: { type: 'object', properties: { size: { type: 'integer' } } } },
        },
      ],
    },
  };
  assert.equal(
    (await cp.request('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd)).status,
    201,
  );
  await cp.createNamespace('crd');
  const created = await waitFor('widget created', async () => {
    const res = await cp.request('POST', '/apis/example.com/v1/namespaces/crd/widgets', {
      apiVersion: 'example.com/v1',
      kind: 'Widget',
      metadata: { name: 'w1' },
      size: 3,
    });
    return res.status === 201 ? res : undefined;
  });
  assert.equal((created.body as { size: number }).size, 3);
  const { stdout } = await kubectl('-n', 'crd', 'get', 'widgets', '-o', 'name');
  assert.equal(stdout.trim(), 'widget.example.com/w1');
});
