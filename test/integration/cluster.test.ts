// The local control plane is real: pods run on kwok nodes, CRDs work, kubectl sees the pinned version.
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type ApiError, KubeClient } from '../../src/kube/client.ts';
import { versions } from '../../testbed/binaries.ts';
import { type ControlPlane, startControlPlane } from '../../testbed/controlplane.ts';
import { removeDir, run, tempDir, waitFor } from '../../testbed/proc.ts';

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

test('the operator authenticates with a static kubeconfig, an exec plugin (via client-node) and a wrong token', async () => {
  const dir = await tempDir('auth');
  try {
    const ca = await readFile(cp.caFile);
    const write = async (name: string, user: string) => {
      const file = join(dir, name);
      await writeFile(
        file,
        `apiVersion: v1\nkind: Config\ncurrent-context: x\nclusters: [{name: c, cluster: {server: "${cp.server}", certificate-authority-data: ${ca.toString('base64')}}}]\nusers: [{name: u, user: ${user}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\n`,
      );
      return new KubeClient({ kubeconfig: file });
    };
    const plugin = join(dir, 'plugin.sh');
    await writeFile(
      plugin,
      `#!/bin/sh\necho '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"${cp.token}"}}'\n`,
      { mode: 0o755 },
    );
    const clients = [
      await write('static', `{token: ${cp.token}}`),
      await write(
        'exec',
        `{exec: {apiVersion: client.authentication.k8s.io/v1, command: ${plugin}, interactiveMode: Never}}`,
      ),
    ];
    for (const c of clients) {
      const ns = await c.json<{ items: unknown[] }>('GET', '/api/v1/namespaces');
      assert.ok(ns.items.length > 0);
      c.close();
    }
    const wrong = await write('wrong', '{token: not-the-token}');
    await assert.rejects(wrong.json('GET', '/api/v1/namespaces'), (e: ApiError) => e.status === 401);
    wrong.close();
  } finally {
    await removeDir(dir);
  }
});
