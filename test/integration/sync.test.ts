// The sync engine end to end: real control plane with kwok nodes, real git repo, real S3
// (the operator uses a PutObject-only key, as the seed's IAM policy).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { short } from '../../src/source/sha.ts';
import type { RepoChanges } from '../../testbed/git.ts';
import { waitFor } from '../../testbed/proc.ts';
import { appFiles, seedRepo } from '../../testbed/seed.ts';
import { writesLogged } from '../support/checks.ts';
import { recordRequests } from '../support/processes.ts';
import { editByHand, grantOperator, startWorld, type World } from '../support/world.ts';

const dev = 'bedrock-dev';
const prod = 'bedrock-prod';
let w: World;

before(async () => {
  w = await startWorld({ namespaces: [dev, prod], files: seedRepo('iowa-a', [dev, prod]) });
});
after(async () => {
  await w?.stop();
});

test('a seed-shaped repo syncs two namespaces; Version and S3 record the sha; nothing else is read', async () => {
  const sha = await w.repo.head();
  const res = await w.cli(['sync', '--once']);
  assert.equal(res.code, 0, res.stderr + res.stdout);
  assert.match(res.stdout, new RegExp(`${dev} @ ${short(sha)}: 4 applied`));
  for (const ns of [dev, prod]) {
    const v = JSON.parse(await w.kubectl('-n', ns, 'get', 'versions', ns, '-o', 'json'));
    assert.equal(v.applied, short(sha));
    assert.equal(v.deployed, short(sha));
    assert.equal(v.status.commit, sha);
    const body = await w.s3.getObject(`iowa-a/${ns}/bedrock/${short(sha)}`);
    assert.ok(body, `S3 file iowa-a/${ns}/bedrock/${short(sha)} missing`);
    const at = Date.parse(body);
    assert.ok(Number.isFinite(at) && /Z$/.test(body.trim()), `not an ISO UTC time: ${body}`);
    assert.ok(Math.abs(Date.now() - at) < 120_000);
    assert.deepEqual(await w.names(ns, 'deployments'), ['bedrock']);
    assert.deepEqual(await w.names(ns, 'configmaps'), ['bedrock-config', 'kube-root-ca.crt']);
  }
  const table = await w.kubectl('-n', dev, 'get', 'vers');
  assert.match(table, /APPLIED\s+DEPLOYED\s+READY\s+AGE/);
  assert.match(table, new RegExp(`${dev}\\s+${short(sha)}\\s+${short(sha)}\\s+True`));
});

test('sync --once --dry-run prints what would change and writes nothing', async () => {
  const before = await w.version(dev);
  const sha = await w.repo.commit(
    {
      ...appFiles(`iowa-a/${dev}`, 'bedrock', { image: 'mozmeao/bedrock:dry' }),
      [`iowa-a/${dev}/hpa.yaml`]: null,
    },
    'dry-run candidate',
  );
  const res = await w.cli(['sync', '--once', '--dry-run']);
  assert.equal(res.code, 0, res.stderr);
  assert.match(
    res.stdout,
    new RegExp(
      `${dev} @ ${short(sha)}: 1 to apply, 1 to prune, 2 unchanged\n  apply Deployment/bedrock\n  prune HorizontalPodAutoscaler/bedrock`,
    ),
  );
  assert.match(res.stdout, new RegExp(`${prod} @ ${short(sha)}: 0 to apply, 0 to prune, 4 unchanged`));
  const d = JSON.parse(await w.kubectl('-n', dev, 'get', 'deployment', 'bedrock', '-o', 'json'));
  assert.equal(d.spec.template.spec.containers[0].image, 'mozmeao/bedrock:1');
  assert.deepEqual(await w.names(dev, 'horizontalpodautoscalers'), ['bedrock']);
  const after = await w.version(dev);
  assert.equal(after?.applied, before?.applied);
  assert.equal(
    after?.metadata.resourceVersion,
    before?.metadata.resourceVersion,
    'dry-run wrote the Version',
  );
  await w.repo.commit(appFiles(`iowa-a/${dev}`, 'bedrock'), 'back to the synced content');
  assert.equal((await w.cli(['sync', '--once'])).code, 0);
});

test('a new image rolls out: applied moves first, deployed and the S3 file only once pods are ready', async () => {
  const before = await w.repo.head();
  await w.withOperator({}, async () => {
    // minReadySeconds makes "applied but not yet available" last long enough to observe.
    const sha = await w.repo.commit(
      appFiles(`iowa-a/${dev}`, 'bedrock', { image: 'mozmeao/bedrock:2', minReadySeconds: 3 }),
      'bedrock 2',
    );
    const key = `iowa-a/${dev}/bedrock/${short(sha)}`;
    const seen = await w.waitVersion(dev, 'applied = new sha', (v) => v.applied === short(sha), 30_000);
    const appliedSeenAt = Date.now();
    assert.equal(seen.deployed, short(before), 'deployed moved together with applied');
    assert.equal(await w.s3.getObject(key), undefined, 'S3 file written before the rollout was healthy');
    await w.waitVersion(dev, 'deployed = new sha', (v) => v.deployed === short(sha), 60_000);
    const body = await waitFor('S3 completion file', () => w.s3.getObject(key));
    const d = JSON.parse(await w.kubectl('-n', dev, 'get', 'deployment', 'bedrock', '-o', 'json'));
    assert.equal(d.spec.template.spec.containers[0].image, 'mozmeao/bedrock:2');
    assert.equal(d.status.availableReplicas, 2);
    // Pods need minReadySeconds (3 s) to count as available; the body has whole seconds.
    assert.ok(Date.parse(body) >= appliedSeenAt + 1500, `S3 time ${body} is not after the rollout`);
  });
});

test('a commit touching only another cluster still gets its S3 file, with no object written', async () => {
  await w.withOperator({}, async () => {
    const first = await w.repo.head();
    await w.waitVersion(dev, 'settled', (v) => v.deployed === short(first));
    await w.waitVersion(prod, 'settled', (v) => v.deployed === short(first));
    const writes = () => objectWrites(w);
    const before = await writes();
    assert.ok(
      Object.values(before).some((n) => n > 0),
      'no apply writes found in the apiserver metrics',
    );
    const sha = await w.repo.commit(
      { 'frankfurt/bedrock-dev/extra.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n' },
      'frankfurt only',
    );
    for (const ns of [dev, prod]) {
      await waitFor(`S3 file for ${ns}`, () => w.s3.getObject(`iowa-a/${ns}/bedrock/${short(sha)}`));
      await w.waitVersion(ns, 'deployed = new sha', (v) => v.deployed === short(sha));
    }
    assert.deepEqual(await writes(), before, 'objects were written for a commit that changed nothing here');
  });
});

/** Non-dry-run writes the apiserver counted on the kinds we apply (its own /metrics). */
async function objectWrites(world: World): Promise<Record<string, number>> {
  const res = await world.cp.request('GET', '/metrics', undefined, 'text/plain');
  const out: Record<string, number> = {};
  for (const line of String(res.body).split('\n')) {
    if (!line.startsWith('apiserver_request_total{')) continue;
    const labels = Object.fromEntries([...line.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (!['POST', 'PUT', 'PATCH', 'DELETE', 'APPLY'].includes(labels.verb ?? '')) continue;
    if (labels.dry_run || labels.subresource) continue;
    if (
      !['configmaps', 'services', 'deployments', 'horizontalpodautoscalers'].includes(labels.resource ?? '')
    )
      continue;
    const k = `${labels.verb} ${labels.resource} ${labels.component}`;
    out[k] = (out[k] ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return out;
}

test('a rollout that can never be ready writes .failed, says why, and leaves deployed alone', async () => {
  const good = short(await w.repo.head());
  const stuck = appFiles(`iowa-a/${prod}`, 'bedrock', {
    podSpec: { nodeSelector: { disktype: 'no-such-node' } },
  });
  const sha = await w.repo.commit(
    { [`iowa-a/${prod}/deploy.yaml`]: stuck[`iowa-a/${prod}/deploy.yaml`] ?? '' },
    'unschedulable',
  );
  const res = await w.cli(['sync', '--once'], { ROLLOUT_TIMEOUT: '4' });
  assert.equal(res.code, 1, res.stdout + res.stderr);
  assert.match(res.stdout, new RegExp(`${prod} @ ${short(sha)}: failed: rollout not done after 4 s`));
  const failed = await w.s3.getObject(`iowa-a/${prod}/bedrock/${short(sha)}.failed`);
  assert.ok(failed, '.failed file missing');
  assert.match(failed, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ RolloutTimeout: Deployment\/bedrock: /);
  assert.equal(await w.s3.getObject(`iowa-a/${prod}/bedrock/${short(sha)}`), undefined);
  const v = await w.version(prod);
  assert.equal(v?.applied, short(sha));
  assert.equal(v?.deployed, good);
  const ready = v?.status?.conditions?.find((c) => c.type === 'Ready');
  assert.equal(ready?.status, 'False');
  assert.equal(ready?.reason, 'RolloutTimeout');
  assert.match(ready?.message ?? '', /Deployment\/bedrock: \d\/2 updated/);
  // The other namespace is unaffected and healthy at the new sha.
  assert.equal((await w.version(dev))?.deployed, short(sha));
  // Put prod back to a healthy spec for the tests that follow.
  await w.repo.commit(appFiles(`iowa-a/${prod}`, 'bedrock'), 'prod healthy again');
  assert.equal((await w.cli(['sync', '--once'])).code, 0);
});

const badInputs: { name: string; files: RepoChanges; error: RegExp }[] = [
  {
    name: 'a symlink leaving the folder',
    files: { 'escape.yaml': { symlink: '../../frankfurt/bedrock-dev/deploy.yaml' } },
    error: /escape\.yaml: symlink to "\.\.\/\.\.\/frankfurt\/bedrock-dev\/deploy\.yaml" leaves the folder/,
  },
  {
    name: 'malformed YAML',
    files: { 'bad.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x\n' },
    error: /bad\.yaml:\d+: invalid YAML/,
  },
  {
    name: 'a non-object document',
    files: { 'list.yaml': '- a\n- b\n' },
    error: /list\.yaml:1: document 1 is a list, not an object/,
  },
  {
    name: 'an object for another namespace',
    files: { 'other.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: kube-system}\n' },
    error: /other\.yaml:1: document 1: ConfigMap\/x is for namespace "kube-system"/,
  },
  {
    name: 'a cluster-scoped object',
    files: {
      'role.yaml':
        'apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: evil}\nrules: []\n',
    },
    error: /role\.yaml:1: document 1: ClusterRole\/evil is cluster-scoped/,
  },
];

for (const bad of badInputs) {
  test(`${bad.name} applies nothing in that namespace and names the file`, async () => {
    const files = Object.fromEntries(Object.entries(bad.files).map(([k, v]) => [`iowa-a/${dev}/${k}`, v]));
    // The same commit adds a valid ConfigMap in both namespaces: dev must not get it, prod must.
    const extra = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: added}\ndata: {a: "1"}\n';
    const sha = await w.repo.commit(
      { ...files, [`iowa-a/${dev}/added.yaml`]: extra, [`iowa-a/${prod}/added.yaml`]: extra },
      `bad input: ${bad.name}`,
    );
    const res = await w.cli(['sync', '--once']);
    assert.equal(res.code, 1);
    assert.match(res.stdout, bad.error);
    assert.ok(!(await w.names(dev, 'configmaps')).includes('added'), 'part of a broken set was applied');
    assert.ok(
      (await w.names(prod, 'configmaps')).includes('added'),
      'the healthy namespace did not carry on',
    );
    const v = await w.version(dev);
    assert.notEqual(v?.applied, short(sha));
    assert.match(v?.status?.lastError ?? '', bad.error);
    assert.equal(v?.status?.conditions?.find((c) => c.type === 'Stalled')?.reason, 'InvalidManifests');
    // Clean up: remove the bad file and the extra ConfigMap again.
    const undo = Object.fromEntries(Object.keys(files).map((k) => [k, null]));
    await w.repo.commit(
      { ...undo, [`iowa-a/${dev}/added.yaml`]: null, [`iowa-a/${prod}/added.yaml`]: null },
      'undo',
    );
    assert.equal((await w.cli(['sync', '--once'])).code, 0);
    assert.ok(
      !(await w.names(prod, 'configmaps')).includes('added'),
      'a file deleted from git was not pruned',
    );
  });
}

test('prune: a deleted file is pruned, an annotated object survives, an emptied folder deletes nothing', async () => {
  await w.kubectl(
    '-n',
    dev,
    'annotate',
    'service',
    'bedrock',
    'git-sync-operator.mozilla.org/prune=disabled',
  );
  await w.repo.commit(
    { [`iowa-a/${dev}/hpa.yaml`]: null, [`iowa-a/${dev}/svc.yaml`]: null },
    'drop hpa and svc',
  );
  assert.equal((await w.cli(['sync', '--once'])).code, 0);
  assert.deepEqual(await w.names(dev, 'horizontalpodautoscalers'), []);
  assert.deepEqual(await w.names(dev, 'services'), ['bedrock'], 'annotated object was pruned');
  const before = {
    deployments: await w.names(prod, 'deployments'),
    configmaps: await w.names(prod, 'configmaps'),
    services: await w.names(prod, 'services'),
  };
  const all = Object.fromEntries(Object.keys(appFiles(`iowa-a/${prod}`, 'bedrock')).map((k) => [k, null]));
  const sha = await w.repo.commit(all, 'empty prod folder');
  const res = await w.cli(['sync', '--once']);
  assert.equal(res.code, 1);
  assert.match(
    res.stdout,
    /iowa-a\/bedrock-prod\/: is missing or has no \.yaml\/\.yml\/\.json files; nothing is applied or pruned/,
  );
  assert.deepEqual(
    {
      deployments: await w.names(prod, 'deployments'),
      configmaps: await w.names(prod, 'configmaps'),
      services: await w.names(prod, 'services'),
    },
    before,
  );
  const v = await w.version(prod);
  assert.notEqual(v?.applied, short(sha));
  assert.match(v?.status?.lastError ?? '', /is missing or has no/);
  await w.repo.commit(appFiles(`iowa-a/${prod}`, 'bedrock'), 'prod back');
  assert.equal((await w.cli(['sync', '--once'])).code, 0);
});

test('drift from kubectl scale/edit is repaired; a force-push to an older commit is followed', async () => {
  await w.withOperator({}, async () => {
    const head = await w.repo.head();
    await w.waitVersion(dev, 'settled', (v) => v.deployed === short(head));
    await editByHand(w, dev, { replicas: 4, debug: 'true' });
    await waitFor('drift repaired', async () => {
      const d = JSON.parse(await w.kubectl('-n', dev, 'get', 'deployment', 'bedrock', '-o', 'json'));
      const cm = JSON.parse(await w.kubectl('-n', dev, 'get', 'configmap', 'bedrock-config', '-o', 'json'));
      return d.spec.replicas === 2 && cm.data.DEBUG === 'false' ? true : undefined;
    });
    // Force-push: move the branch back to the commit with image 2, after a commit with image 3.
    const withImage3 = await w.repo.commit(
      appFiles(`iowa-a/${dev}`, 'bedrock', { image: 'mozmeao/bedrock:3' }),
      'bedrock 3',
    );
    await w.waitVersion(dev, 'image 3 deployed', (v) => v.deployed === short(withImage3));
    await w.repo.forcePush(head);
    await w.waitVersion(dev, 'force-push followed', (v) => v.deployed === short(head));
    const d = JSON.parse(await w.kubectl('-n', dev, 'get', 'deployment', 'bedrock', '-o', 'json'));
    assert.equal(d.spec.template.spec.containers[0].image, 'mozmeao/bedrock:2');
  });
});

test('without the watch (DRIFT_WATCH=false), an idle poll costs one ls-remote and no apiserver request; drift is checked every DRIFT_INTERVAL', async () => {
  const head = await w.repo.head();
  await w.withOperator(
    { GIT_SYNC_INTERVAL: '0.5', DRIFT_WATCH: 'false', DRIFT_INTERVAL: '10', MANAGED_NAMESPACES: dev },
    async (op) => {
      const seen = recordRequests(op);
      await w.waitVersion(dev, 'settled', (v) => v.deployed === short(head) && !v.status?.pending?.length);
      await sleep(1500); // the settling reconcile finishes
      const requests = () => seen.length; // the leader Lease's renewals left out
      const before = { api: requests(), lsRemote: op.deps.git.lsRemoteCount, at: Date.now() };
      await w.kubectl('-n', dev, 'scale', 'deployment', 'bedrock', '--replicas=5');
      await sleep(2500);
      assert.ok(op.deps.git.lsRemoteCount - before.lsRemote >= 3, 'fewer polls than expected');
      assert.equal(requests(), before.api, 'idle polls sent apiserver requests');
      const d = JSON.parse(await w.kubectl('-n', dev, 'get', 'deployment', 'bedrock', '-o', 'json'));
      assert.equal(d.spec.replicas, 5, 'drift repaired before DRIFT_INTERVAL');
      await waitFor(
        'drift repaired at DRIFT_INTERVAL',
        async () => {
          const x = JSON.parse(await w.kubectl('-n', dev, 'get', 'deployment', 'bedrock', '-o', 'json'));
          return x.spec.replicas === 2 ? true : undefined;
        },
        { timeoutMs: 30_000 },
      );
      assert.ok(requests() > before.api);
    },
  );
});

test('a drift check that finds nothing changed writes no Version status and records no Event', async () => {
  const head = await w.repo.head();
  /** Requests the apiserver served (its own counter): Version status PATCHes and Event POSTs. */
  const served = async () => {
    const text = await w.kubectl('get', '--raw', '/metrics');
    const sum = (...labels: string[]) =>
      text
        .split('\n')
        .filter((l) => l.startsWith('apiserver_request_total{') && labels.every((x) => l.includes(x)))
        .reduce((a, l) => a + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
    return {
      statusPatches: sum('resource="versions"', 'subresource="status"', 'verb="PATCH"'),
      events: sum('resource="events"', 'verb="POST"'),
    };
  };
  await w.withOperator(
    { GIT_SYNC_INTERVAL: '0.5', DRIFT_WATCH: 'false', DRIFT_INTERVAL: '1', MANAGED_NAMESPACES: dev },
    async (op) => {
      await w.waitVersion(dev, 'settled', (v) => v.deployed === short(head) && !v.status?.pending?.length);
      await sleep(1500); // the settling reconcile finishes
      const passes = async () => (await op.metrics.syncs.get()).values.reduce((a, v) => a + v.value, 0);
      const before = { passes: await passes(), served: await served() };
      await sleep(4000);
      assert.ok((await passes()) - before.passes >= 2, 'fewer drift checks than expected');
      assert.deepEqual(await served(), before.served, 'an unchanged namespace was written to');
    },
  );
});

test('S3 down during a rollout, operator restarted, S3 back: the file appears exactly once', async () => {
  await w.s3.stopServer();
  let sha = '';
  let key = '';
  try {
    await w.withOperator({}, async () => {
      sha = await w.repo.commit(
        appFiles(`iowa-a/${dev}`, 'bedrock', { image: 'mozmeao/bedrock:4' }),
        'bedrock 4',
      );
      key = `iowa-a/${dev}/bedrock/${short(sha)}`;
      await w.waitVersion(
        dev,
        'pending S3 file recorded',
        (v) => v.deployed === short(sha) && (v.status?.pending ?? []).some((p) => p.key === key),
      );
    });
  } finally {
    await w.s3.startServer();
  }
  // A new operator (a restart: nothing in memory) delivers what the Version remembers.
  await w.withOperator({}, async () => {
    await waitFor('S3 file after restart', () => w.s3.getObject(key));
    await w.waitVersion(dev, 'pending emptied', (v) => (v.status?.pending ?? []).length === 0);
  });
  assert.deepEqual(await w.s3.listKeys(`iowa-a/${dev}/bedrock/${short(sha)}`), [key]);
  const writes = writesLogged(w, key);
  assert.equal(writes, 1, `written ${writes} times`);
  assert.ok(w.logs.some((l) => l.includes('S3 write failed, will retry') && l.includes(key)));
});

test('least-privilege RBAC (impersonated ServiceAccount) syncs; a missing grant is named', async () => {
  const sa = `${dev}-git-sync-operator`;
  const impersonate = await grantOperator(w, sa, dev, [dev, prod]);
  await w.cp.createNamespace('unbound');
  const sha = await w.repo.commit(
    appFiles(`iowa-a/${dev}`, 'bedrock', { image: 'mozmeao/bedrock:5' }),
    'bedrock 5',
  );
  const op = w.operator({ MANAGED_NAMESPACES: `${dev},${prod}` }, { impersonate });
  const results = await op.syncOnce();
  op.close();
  assert.deepEqual(
    results.map((r) => [r.namespace, r.ok, r.error]),
    [
      [dev, true, undefined],
      [prod, true, undefined],
    ],
  );
  assert.equal((await w.version(dev))?.deployed, short(sha));
  // A namespace the ServiceAccount was not given: refused, and the message says what is missing.
  const denied = w.operator({ MANAGED_NAMESPACES: 'unbound' }, { impersonate });
  const [r] = await denied.syncOnce();
  denied.close();
  assert.equal(r?.ok, false);
  assert.match(r?.error ?? '', /may not read\/write versions\.versions\.mozilla\.org in unbound/);
  assert.match(
    r?.error ?? '',
    /cannot get resource "versions" in API group "versions\.mozilla\.org" in the namespace "unbound"/,
  );
});
