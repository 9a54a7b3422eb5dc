// Suspend and resume on the real control plane: the annotation on the Version stops apply, prune
// and drift repair in that namespace (another namespace goes on); resume takes up the head.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { short } from '../../src/source/sha.ts';
import { appFiles, seedRepo } from '../../testbed/seed.ts';
import { editByHand, startWorld, type World } from '../support/world.ts';

const held = 'held';
const other = 'other';
let w: World;

before(async () => {
  w = await startWorld({ namespaces: [held, other], files: seedRepo('iowa-a', [held, other]) });
  const res = await w.cli(['sync', '--once']);
  assert.equal(res.code, 0, res.stdout + res.stderr);
});
after(async () => {
  await w?.stop();
});

const deploymentOf = async (ns: string) =>
  JSON.parse(await w.kubectl('-n', ns, 'get', 'deployment', 'bedrock', '-o', 'json'));
const suspendedCondition = async (ns: string) =>
  (await w.version(ns))?.status?.conditions?.find((c) => c.type === 'Suspended');

test('suspend NS: a new commit, a deleted file and a hand edit all stay as they are; the other namespace syncs', async () => {
  const before = await w.repo.head();
  const res = await w.cli(['suspend', held]);
  assert.equal(res.code, 0, res.stderr);
  assert.match(res.stdout, /held: suspended/);
  const { [`iowa-a/${held}/hpa.yaml`]: _dropped, ...rest } = appFiles(`iowa-a/${held}`, 'bedrock', {
    image: 'mozmeao/bedrock:held',
  });
  const sha = await w.repo.commit(
    {
      ...rest,
      [`iowa-a/${held}/hpa.yaml`]: null,
      ...appFiles(`iowa-a/${other}`, 'bedrock', { image: 'mozmeao/bedrock:other' }),
    },
    'new images; the held namespace also drops its HPA',
  );
  await editByHand(w, held, { replicas: 4, debug: 'true' });

  const sync = await w.cli(['sync', '--once']);
  assert.equal(sync.code, 0, sync.stdout + sync.stderr);
  assert.match(sync.stdout, new RegExp(`${held} @ ${short(sha)}: suspended, nothing applied`));
  const d = await deploymentOf(held);
  assert.notEqual(
    d.spec.template.spec.containers[0].image,
    'mozmeao/bedrock:held',
    'applied while suspended',
  );
  assert.equal(d.spec.replicas, 4, 'drift repaired while suspended');
  await w.kubectl('-n', held, 'get', 'horizontalpodautoscaler', 'bedrock'); // not pruned
  const v = await w.version(held);
  assert.equal(v?.applied, short(before), 'applied moved while suspended');
  const c = await suspendedCondition(held);
  assert.equal(c?.status, 'True');
  assert.match(c?.message ?? '', new RegExp(`the head is ${short(sha)}`));
  // The other namespace is not held.
  assert.equal((await deploymentOf(other)).spec.template.spec.containers[0].image, 'mozmeao/bedrock:other');
  assert.equal((await w.version(other))?.applied, short(sha));
});

test('a running operator keeps a suspended namespace as it is across polls; resume takes up the head at the next poll', async () => {
  const head = await w.repo.head();
  await w.withOperator({ GIT_SYNC_INTERVAL: '0.5', DRIFT_INTERVAL: '1' }, async () => {
    await sleep(3000); // several polls and drift checks while suspended
    assert.equal((await deploymentOf(held)).spec.replicas, 4, 'drift repaired while suspended');
    assert.equal((await w.version(held))?.applied === short(head), false, 'applied while suspended');

    const res = await w.cli(['resume', held]);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /held: resumed/);
    const v = await w.waitVersion(
      held,
      'the head applied and deployed after resume',
      (x) => x.deployed === short(head),
    );
    assert.equal(v.applied, short(head));
    const d = await deploymentOf(held);
    assert.equal(d.spec.template.spec.containers[0].image, 'mozmeao/bedrock:held');
    assert.equal(d.spec.replicas, 2, 'drift not repaired after resume');
    await assert.rejects(w.kubectl('-n', held, 'get', 'horizontalpodautoscaler', 'bedrock'), /NotFound/);
    const c = await suspendedCondition(held);
    assert.equal(c?.status, 'False');
    assert.equal(c?.reason, 'Resumed');
  });
  // The annotation is gone; resuming again changes nothing.
  const again = await w.cli(['resume', held]);
  assert.equal(again.code, 0, again.stderr);
});

test('suspend and resume name what is wrong: no namespace, a namespace that does not exist, an unknown option', async () => {
  const none = await w.cli(['suspend']);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /suspend: needs a namespace/);
  const missing = await w.cli(['suspend', 'no-such-namespace']);
  assert.notEqual(missing.code, 0);
  assert.match(missing.stderr, /namespaces "no-such-namespace" not found/);
  const bad = await w.cli(['resume', '--all']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /unknown option '--all'/);
});

test('commits pushed while suspended and overwritten before resume: one of the same spec rides on the rollout, the others are superseded', async () => {
  const key = (sha: string) => `iowa-a/${held}/bedrock/${short(sha)}`;
  const image = (tag: string) => appFiles(`iowa-a/${held}`, 'bedrock', { image: `mozmeao/bedrock:${tag}` });
  const pass = async () => {
    const res = await w.cli(['sync', '--once']);
    assert.equal(res.code, 0, res.stdout + res.stderr);
  };
  assert.equal((await w.cli(['suspend', held])).code, 0);
  // Seen while suspended, each overwritten: a new image, then a config-only commit on top of it,
  // then another image, then files that do not parse.
  const a = await w.repo.commit(image('a'), 'image a');
  await pass();
  const b = await w.repo.commit(
    {
      [`iowa-a/${held}/configmap.yaml`]:
        '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"bedrock-config"},"data":{"DEBUG":"b"}}\n',
    },
    'config b',
  );
  await pass();
  const broken = await w.repo.commit({ [`iowa-a/${held}/configmap.yaml`]: 'kind: [\n' }, 'broken');
  await pass();
  const c = await w.repo.commit(
    {
      ...image('a'),
      [`iowa-a/${held}/configmap.yaml`]:
        '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"bedrock-config"},"data":{"DEBUG":"c"}}\n',
    },
    'config c (bedrock as at a and b)',
  );
  for (const sha of [a, b, broken])
    assert.equal(await w.s3.getObject(`${key(sha)}.failed`), undefined, 'told while suspended');
  assert.equal((await w.cli(['resume', held])).code, 0);
  await pass();
  // c is applied: a and b had bedrock's spec of c, so its rollout decides them too.
  for (const sha of [a, b, c]) {
    assert.ok(await w.s3.getObject(key(sha)), `no success file for ${short(sha)}`);
    assert.equal(await w.s3.getObject(`${key(sha)}.failed`), undefined);
  }
  // The broken commit never had a spec of its own: superseded by c.
  assert.match(
    (await w.s3.getObject(`${key(broken)}.failed`)) ?? '',
    new RegExp(`^\\S+ Superseded: Superseded by ${short(c)} before it was applied`),
  );

  // Another image seen while suspended, then a different one: the first is superseded at resume.
  assert.equal((await w.cli(['suspend', held])).code, 0);
  const d = await w.repo.commit(image('d'), 'image d');
  await pass();
  const e = await w.repo.commit(image('e'), 'image e');
  await pass();
  assert.equal((await w.cli(['resume', held])).code, 0);
  await pass();
  assert.match(
    (await w.s3.getObject(`${key(d)}.failed`)) ?? '',
    new RegExp(`^\\S+ Superseded: Superseded by ${short(e)} before it was applied`),
  );
  assert.equal(await w.s3.getObject(key(d)), undefined);
  assert.ok(await w.s3.getObject(key(e)), 'no success file for the head at resume');
  assert.deepEqual((await w.version(held))?.status?.overtaken ?? [], []);
});

test('a commit whose every Deployment rode on a head that then failed is deployed: `deployed` moves to it', async () => {
  const key = (app: string, sha: string) => `iowa-a/${held}/${app}/${short(sha)}`;
  const pass = async () => {
    const res = await w.cli(['sync', '--once'], { ROLLOUT_TIMEOUT: '8' });
    return res.stdout + res.stderr;
  };
  assert.equal((await w.cli(['suspend', held])).code, 0);
  // Seen while suspended: bedrock's spec unchanged, only its config.
  const rider = await w.repo.commit(
    {
      [`iowa-a/${held}/configmap.yaml`]:
        '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"bedrock-config"},"data":{"DEBUG":"rider"}}\n',
    },
    'config rider',
  );
  await pass();
  // The head adds a worker no node can run: its rollout never ends.
  const worker = appFiles(`iowa-a/${held}`, 'worker', { podSpec: { nodeSelector: { disk: 'none' } } });
  const head = await w.repo.commit(
    Object.fromEntries(
      Object.entries(worker).map(([path, text]) => [path.replace(/[^/]+$/, 'worker-$&'), text]),
    ),
    'unschedulable worker',
  );
  assert.equal((await w.cli(['resume', held])).code, 0);
  const out = await pass();
  assert.match(out, /rollout not done after 8 s/);
  assert.ok(await w.s3.getObject(key('bedrock', rider)), 'bedrock rode on the head: healthy at the rider');
  assert.ok(await w.s3.getObject(`${key('worker', head)}.failed`), 'the head failed');
  const v = await w.version(held);
  assert.equal(v?.applied, short(head));
  assert.equal(v?.deployed, short(rider), 'every Deployment of the rider is healthy: it is deployed');
  assert.deepEqual(v?.status?.riding, []);
  const events = await w.kubectl(
    '-n',
    held,
    'get',
    'events',
    '--field-selector',
    'reason=Deployed',
    '-o',
    'json',
  );
  assert.ok(
    JSON.parse(events).items.some((e: { message: string }) =>
      e.message.startsWith(`${short(rider)} is healthy`),
    ),
    'a Deployed Event names the rider',
  );
});
