// Health of every kind on the real control plane: a sync waits for a StatefulSet, a DaemonSet, a
// Job, a PersistentVolumeClaim and a custom resource (a CRD of this test's own, whose status a small
// in-test controller sets) — each held back until the test lets it go; a status-less custom
// resource is Ready at once; a Stalled one fails the rollout at once; one it may not list as well.
//
// Pods are held with a scheduling gate: the workload's pods stay Pending (not Ready) until the test
// removes the gate, so "the sync had not ended while X was not ready" is checked, not hoped for.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { short } from '../../src/source/sha.ts';
import { waitFor } from '../../testbed/proc.ts';
import { condition, grantOperator, startWorld, type World } from '../support/world.ts';

const ns = 'health';
const dir = `iowa-a/${ns}`;
const group = 'health.example.com';
let w: World;

const json = (o: unknown) => `${JSON.stringify(o, null, 2)}\n`;

/** A CRD of this test's own; `status` true: a status subresource whose observedGeneration defaults to -1. */
function crd(kind: string, plural: string, status: boolean): Record<string, unknown> {
  const open = { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.${group}` },
    spec: {
      group,
      scope: 'Namespaced',
      names: { kind, plural, singular: kind.toLowerCase(), listKind: `${kind}List` },
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          ...(status ? { subresources: { status: {} } } : {}),
          schema: {
            openAPIV3Schema: {
              type: 'object',
              properties: {
                spec: open,
                // As Flux's CRDs since fluxcd/kustomize-controller#387: an object no controller has
                // looked at yet says so (kstatus counts a status-less object as Current).
                ...(status
                  ? {
                      status: {
                        ...open,
                        default: { observedGeneration: -1 },
                        properties: { observedGeneration: { type: 'integer', format: 'int64' } },
                      },
                    }
                  : {}),
              },
            },
          },
        },
      ],
    },
  };
}

const gate = 'health.example.com/hold';
/** A pod template held Pending by a scheduling gate (released by `release`). */
const heldPod = (app: string, more: Record<string, unknown> = {}) => ({
  metadata: { labels: { app } },
  spec: { containers: [{ name: app, image: 'busybox' }], schedulingGates: [{ name: gate }], ...more },
});

const statefulSet = {
  apiVersion: 'apps/v1',
  kind: 'StatefulSet',
  metadata: { name: 'db' },
  spec: {
    replicas: 2,
    serviceName: 'db',
    selector: { matchLabels: { app: 'db' } },
    template: heldPod('db'),
  },
};
const daemonSet = {
  apiVersion: 'apps/v1',
  kind: 'DaemonSet',
  metadata: { name: 'agent' },
  spec: { selector: { matchLabels: { app: 'agent' } }, template: heldPod('agent') },
};
const job = {
  apiVersion: 'batch/v1',
  kind: 'Job',
  metadata: { name: 'migrate' },
  spec: { backoffLimit: 0, template: heldPod('migrate', { restartPolicy: 'Never' }) },
};
const widget = (name: string, size = 1) => ({
  apiVersion: `${group}/v1`,
  kind: 'Widget',
  metadata: { name },
  spec: { size },
});
const claim = {
  apiVersion: 'v1',
  kind: 'PersistentVolumeClaim',
  metadata: { name: 'data' },
  spec: {
    storageClassName: 'manual',
    accessModes: ['ReadWriteOnce'],
    resources: { requests: { storage: '1Gi' } },
  },
};

before(async () => {
  w = await startWorld({
    namespaces: [ns],
    files: {
      'README.md': '# config repo\n',
      [`${dir}/configmap.yaml`]: json({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' } }),
    },
  });
  for (const body of [crd('Widget', 'widgets', true), crd('Note', 'notes', false)]) {
    const res = await w.cp.request('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', body);
    assert.equal(res.status, 201, JSON.stringify(res.body));
  }
  for (const plural of ['widgets', 'notes'])
    await waitFor(`the ${plural} CRD served`, async () =>
      (await w.cp.request('GET', `/apis/${group}/v1/namespaces/${ns}/${plural}`)).status === 200
        ? true
        : undefined,
    );
  const res = await w.cli(['sync', '--once']);
  assert.equal(res.code, 0, res.stdout + res.stderr);
});
after(async () => {
  await w?.stop();
});

const get = async (path: string) => {
  const res = await w.cp.request('GET', path);
  return res.status === 200
    ? (res.body as { metadata: { generation: number }; status?: { observedGeneration?: number } })
    : undefined;
};
const widgetPath = (name: string) => `/apis/${group}/v1/namespaces/${ns}/widgets/${name}`;
const statusOf = async (kind: string, name: string) =>
  JSON.parse(await w.kubectl('-n', ns, 'get', kind, name, '-o', 'json')).status;

/** The test's controller: writes a Widget's status (observedGeneration = its generation). */
async function setWidgetStatus(name: string, conditions: Record<string, unknown>[]): Promise<void> {
  const obj = await waitFor(`Widget/${name} applied`, () => get(widgetPath(name)), { intervalMs: 100 });
  const status = { observedGeneration: obj.metadata.generation, conditions };
  const res = await w.cp.request(
    'PATCH',
    `${widgetPath(name)}/status`,
    { status },
    'application/merge-patch+json',
  );
  assert.equal(res.status, 200, JSON.stringify(res.body));
}
const ready = {
  type: 'Ready',
  status: 'True',
  reason: 'Succeeded',
  lastTransitionTime: new Date().toISOString(),
};

/** Removes the scheduling gate from every pod of `app` until `done()` (bounded: 60 s). */
async function release(app: string, done: () => boolean): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!done() && Date.now() < deadline) {
    const pods = JSON.parse(await w.kubectl('-n', ns, 'get', 'pods', '-l', `app=${app}`, '-o', 'json'));
    for (const p of pods.items as { metadata: { name: string }; spec: { schedulingGates?: unknown[] } }[]) {
      if (!p.spec.schedulingGates?.length) continue;
      const ungate = '[{"op":"remove","path":"/spec/schedulingGates"}]';
      await w.kubectl('-n', ns, 'patch', 'pod', p.metadata.name, '--type=json', '-p', ungate).catch(() => ''); // gone, or ungated meanwhile
    }
    await sleep(200);
  }
}

const heldPods = async (app: string) => {
  const pods = JSON.parse(await w.kubectl('-n', ns, 'get', 'pods', '-l', `app=${app}`, '-o', 'json'));
  return pods.items.some((p: { spec: { schedulingGates?: unknown[] } }) => p.spec.schedulingGates?.length)
    ? true
    : undefined;
};

/**
 * Commits `files`, runs `sync --once`, and once `applied()` says the object is there checks that the
 * sync is still waiting (1.5 s later: not ended, not deployed); then `letGo()`; the sync then ends
 * healthy with the commit deployed.
 */
async function heldThenReleased(o: {
  files: Record<string, string | null>;
  what: string;
  applied: () => Promise<true | undefined>;
  letGo: (ended: () => boolean) => Promise<void>;
}): Promise<void> {
  const sha = await w.repo.commit(o.files, o.what);
  let ended = false;
  const sync = w.cli(['sync', '--once'], {}, 120_000).finally(() => {
    ended = true;
  });
  await waitFor(`${o.what}: applied`, o.applied, { intervalMs: 100 });
  await sleep(1500);
  if (ended) assert.fail(`the sync ended while ${o.what} was not ready: ${(await sync).stdout}`);
  assert.notEqual((await w.version(ns))?.deployed, short(sha), `deployed before ${o.what} was ready`);
  await o.letGo(() => ended);
  const res = await sync;
  assert.equal(res.code, 0, res.stdout + res.stderr);
  assert.match(res.stdout, new RegExp(`${ns} @ ${short(sha)}: .*, healthy`));
  assert.equal((await w.version(ns))?.deployed, short(sha));
}

test('a StatefulSet: the sync waits until every replica is ready', async () => {
  await heldThenReleased({
    files: { [`${dir}/statefulset.yaml`]: json(statefulSet) },
    what: 'StatefulSet/db',
    applied: () => heldPods('db'),
    letGo: (ended) => release('db', ended),
  });
  const s = await statusOf('statefulset', 'db');
  assert.equal(s.readyReplicas, 2);
  assert.equal(s.currentRevision, s.updateRevision);
});

test('a DaemonSet: the sync waits until its pod on every node is ready', async () => {
  await heldThenReleased({
    files: { [`${dir}/daemonset.yaml`]: json(daemonSet) },
    what: 'DaemonSet/agent',
    applied: () => heldPods('agent'),
    letGo: (ended) => release('agent', ended),
  });
  const s = await statusOf('daemonset', 'agent');
  assert.ok(s.desiredNumberScheduled >= 1, JSON.stringify(s));
  assert.equal(s.numberAvailable, s.desiredNumberScheduled);
});

test('a Job: the sync waits until it completes', async () => {
  await heldThenReleased({
    files: { [`${dir}/job.yaml`]: json(job) },
    what: 'Job/migrate',
    applied: () => heldPods('migrate'),
    letGo: (ended) => release('migrate', ended),
  });
  const s = await statusOf('job', 'migrate');
  assert.equal(s.conditions.find((c: { type: string }) => c.type === 'Complete')?.status, 'True');
});

test('a custom resource: the sync waits until its controller has observed it and says Ready, at each generation', async () => {
  await heldThenReleased({
    files: { [`${dir}/widget.yaml`]: json(widget('front')) },
    what: 'Widget/front',
    applied: async () => {
      const obj = await get(widgetPath('front'));
      // The CRD's default: no controller has looked at it yet.
      if (obj) assert.equal(obj.status?.observedGeneration, -1, JSON.stringify(obj));
      return obj ? true : undefined;
    },
    letGo: () => setWidgetStatus('front', [ready]),
  });
  // A new spec: generation 2, the controller's status still says 1 (and Ready=True): waited for.
  await heldThenReleased({
    files: { [`${dir}/widget.yaml`]: json(widget('front', 2)) },
    what: 'Widget/front at generation 2',
    applied: async () => ((await get(widgetPath('front')))?.metadata.generation === 2 ? true : undefined),
    letGo: () => setWidgetStatus('front', [ready]),
  });
});

test('a custom resource without any status is Ready at once', async () => {
  const sha = await w.repo.commit(
    {
      [`${dir}/note.yaml`]: json({
        apiVersion: `${group}/v1`,
        kind: 'Note',
        metadata: { name: 'hello' },
        spec: {},
      }),
    },
    'a Note',
  );
  const res = await w.cli(['sync', '--once'], { ROLLOUT_TIMEOUT: '10' });
  assert.equal(res.code, 0, res.stdout + res.stderr);
  assert.match(res.stdout, new RegExp(`${ns} @ ${short(sha)}: 1 applied, .*, healthy`));
  assert.equal((await w.version(ns))?.deployed, short(sha));
  assert.equal(JSON.parse(await w.kubectl('-n', ns, 'get', 'note', 'hello', '-o', 'json')).status, undefined);
});

test('a PersistentVolumeClaim: Pending is a RolloutTimeout naming it; the sync waits until it is Bound', async () => {
  const sha = await w.repo.commit({ [`${dir}/pvc.yaml`]: json(claim) }, 'a claim');
  const res = await w.cli(['sync', '--once'], { ROLLOUT_TIMEOUT: '3' });
  assert.equal(res.code, 1, res.stdout + res.stderr);
  assert.match(
    res.stdout,
    /failed: rollout not done after 3 s: PersistentVolumeClaim\/data: Pending, not bound to a volume yet/,
  );
  const v = await w.version(ns);
  assert.equal(condition(v, 'Ready')?.reason, 'RolloutTimeout');
  assert.notEqual(v?.deployed, short(sha));
  // A volume made by hand for this claim (the control plane has no provisioner): the PV binder binds it.
  await heldThenReleased({
    files: { [`${dir}/pvc.yaml`]: json({ ...claim, metadata: { name: 'data', labels: { tier: 'db' } } }) },
    what: 'PersistentVolumeClaim/data',
    applied: async () => ((await statusOf('pvc', 'data')).phase === 'Pending' ? true : undefined),
    letGo: async () => {
      const pv = {
        apiVersion: 'v1',
        kind: 'PersistentVolume',
        metadata: { name: `${ns}-data` },
        spec: {
          storageClassName: 'manual',
          capacity: { storage: '1Gi' },
          accessModes: ['ReadWriteOnce'],
          hostPath: { path: '/tmp/git-sync-operator-health-data' },
          claimRef: { namespace: ns, name: 'data' },
        },
      };
      const created = await w.cp.request('POST', '/api/v1/persistentvolumes', pv);
      assert.equal(created.status, 201, JSON.stringify(created.body));
    },
  });
  assert.equal((await statusOf('pvc', 'data')).phase, 'Bound');
});

test('a custom resource its controller says is Stalled fails the rollout at once, naming it; Ready=False alone waits', async () => {
  const sha = await w.repo.commit({ [`${dir}/broken.yaml`]: json(widget('broken')) }, 'a broken Widget');
  const started = Date.now();
  const sync = w.cli(['sync', '--once']); // ROLLOUT_TIMEOUT 60
  await setWidgetStatus('broken', [
    { type: 'Ready', status: 'False', reason: 'InstallFailed', message: 'chart not found' },
    { type: 'Stalled', status: 'True', reason: 'InstallFailed', message: 'chart not found' },
  ]);
  const res = await sync;
  assert.equal(res.code, 1, res.stdout + res.stderr);
  assert.match(
    res.stdout,
    new RegExp(
      `${ns} @ ${short(sha)}: failed: rollout failed: Widget/broken: Stalled: InstallFailed: chart not found`,
    ),
  );
  assert.ok(Date.now() - started < 30_000, 'the failure waited for the timeout');
  const v = await w.version(ns);
  assert.equal(condition(v, 'Ready')?.reason, 'RolloutFailed');
  assert.match(condition(v, 'Ready')?.message ?? '', /Widget\/broken: Stalled/);

  // Ready=False without Stalled: the controller may still get there; a timeout names its reason.
  await w.repo.commit(
    { [`${dir}/broken.yaml`]: null, [`${dir}/retrying.yaml`]: json(widget('retrying')) },
    'a retrying Widget',
  );
  const retry = w.cli(['sync', '--once'], { ROLLOUT_TIMEOUT: '4' });
  await setWidgetStatus('retrying', [
    { type: 'Ready', status: 'False', reason: 'ReconciliationFailed', message: 'try again' },
  ]);
  const timedOut = await retry;
  assert.equal(timedOut.code, 1, timedOut.stdout + timedOut.stderr);
  assert.match(
    timedOut.stdout,
    /rollout not done after 4 s: Widget\/retrying: Ready=False: ReconciliationFailed: try again/,
  );
  assert.equal(condition(await w.version(ns), 'Ready')?.reason, 'RolloutTimeout');
  const fixed = await w.repo.commit({ [`${dir}/retrying.yaml`]: null }, 'no retrying Widget');
  const clean = await w.cli(['sync', '--once']);
  assert.equal(clean.code, 0, clean.stdout + clean.stderr);
  assert.equal((await w.version(ns))?.deployed, short(fixed));
});

test('an operator that may list Widgets but not watch them fails the rollout at once, naming what is missing', async () => {
  const sa = `${ns}-git-sync-operator`;
  const impersonate = await grantOperator(w, sa, ns, [ns]);
  // Apply's verbs and list on the test's kinds, but no watch. (Without list the plan already fails,
  // naming the missing grant.)
  const rbac = '/apis/rbac.authorization.k8s.io/v1';
  const verbs = ['get', 'list', 'create', 'update', 'patch', 'delete'];
  const role = {
    metadata: { name: 'widgets-without-watch', namespace: ns },
    rules: [{ apiGroups: [group], resources: ['widgets', 'notes'], verbs }],
  };
  const binding = {
    metadata: { name: 'widgets-without-watch', namespace: ns },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: role.metadata.name },
    subjects: [{ kind: 'ServiceAccount', name: sa, namespace: ns }],
  };
  for (const [path, body] of [
    [`${rbac}/namespaces/${ns}/roles`, role],
    [`${rbac}/namespaces/${ns}/rolebindings`, binding],
  ] as const)
    assert.equal((await w.cp.request('POST', path, body)).status, 201);
  // A Widget no controller has seen yet: not Ready when listed, so it must be watched.
  await w.repo.commit({ [`${dir}/pending.yaml`]: json(widget('pending')) }, 'a pending Widget');
  const op = w.operator({ MANAGED_NAMESPACES: ns }, { impersonate });
  const started = Date.now();
  const [r] = await op.syncOnce();
  op.close();
  assert.equal(r?.ok, false);
  assert.match(
    r?.error ?? '',
    /^rollout failed: Widget\/pending: cannot watch it: .*403 Forbidden: .*cannot watch resource "widgets"/,
  );
  assert.ok(Date.now() - started < 30_000, 'waited for the timeout');
  assert.equal(condition(await w.version(ns), 'Ready')?.reason, 'RolloutFailed');
});
