// Ordered phases and recreate on the real control plane: a pre Job completes before the
// Deployment rolls and never runs twice at one spec; a failed pre Job applies nothing else and
// tells CI in its pod's words; a post Job runs after the rollout; an immutable change fails the
// set with the opt-in named, and with the opt-in the object is deleted and created again.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { phaseAnnotation, recreateAnnotation } from '../../src/kube/labels.ts';
import { short } from '../../src/source/sha.ts';
import { failAnnotation } from '../../testbed/kwok-stages.ts';
import { appFiles, seedRepo } from '../../testbed/seed.ts';
import { condition, grantOperator, startWorld, type World } from '../support/world.ts';

const ns = 'phased';
const folder = `iowa-a/${ns}`;
let w: World;

before(async () => {
  w = await startWorld({ namespaces: [ns], files: seedRepo('iowa-a', [ns]) });
  const res = await w.cli(['sync', '--once']);
  assert.equal(res.code, 0, res.stdout + res.stderr);
});
after(async () => {
  await w?.stop();
});

/** A Job of one container; `fail` makes its pod fail with that termination message (kwok stage). */
function job(
  name: string,
  opts: { phase: 'pre' | 'post'; image: string; fail?: string; ttl?: number; gated?: boolean },
): string {
  const podAnnotations = opts.fail ? { [failAnnotation]: opts.fail } : {};
  return `${JSON.stringify({
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, annotations: { [phaseAnnotation]: opts.phase } },
    spec: {
      backoffLimit: 0,
      ...(opts.ttl === undefined ? {} : { ttlSecondsAfterFinished: opts.ttl }),
      template: {
        metadata: { annotations: podAnnotations },
        spec: {
          restartPolicy: 'Never',
          containers: [{ name, image: opts.image }],
          // A gated pod is not scheduled, so the Job runs until the test removes the gate.
          ...(opts.gated ? { schedulingGates: [{ name: 'testbed/hold' }] } : {}),
        },
      },
    },
  })}\n`;
}

const app = (image: string) => appFiles(folder, 'bedrock', { image: `mozmeao/bedrock:${image}` });
const get = async <T>(path: string): Promise<T | undefined> => {
  const res = await w.cp.request('GET', path);
  return res.status === 200 ? (res.body as T) : undefined;
};
interface Obj {
  metadata: { uid: string; creationTimestamp: string };
  spec: {
    selector: { matchLabels: Record<string, string> };
    template: { spec: { containers: { image: string }[] } };
  };
  status?: { conditions?: { type: string; status: string }[] };
}
const deployment = () => get<Obj>(`/apis/apps/v1/namespaces/${ns}/deployments/bedrock`);
const jobOf = (name: string) => get<Obj>(`/apis/batch/v1/namespaces/${ns}/jobs/${name}`);
const imageOf = (o: Obj | undefined) => o?.spec.template.spec.containers[0]?.image;
const complete = (o: Obj | undefined) =>
  o?.status?.conditions?.some((c) => c.type === 'Complete' && c.status === 'True') ?? false;
const events = async (reason: string) =>
  w.kubectl(
    '-n',
    ns,
    'get',
    'events',
    '--field-selector',
    `reason=${reason}`,
    '-o',
    'jsonpath={.items[*].message}',
  );

test('a pre Job completes before the Deployment rolls; the same spec never runs twice; a changed Job is recreated', async () => {
  await w.repo.commit(
    { ...app('2'), [`${folder}/migrate.yaml`]: job('migrate', { phase: 'pre', image: 'migrate:2' }) },
    'migrate, then bedrock 2',
  );
  const sync = w.cli(['sync', '--once']);
  // Watch the Deployment: the moment it carries the new image, the migration must be complete.
  let seenJobAtRoll: Obj | undefined;
  let done = false;
  void sync.then(() => {
    done = true;
  });
  while (!done && !seenJobAtRoll) {
    const d = await deployment();
    if (imageOf(d) === 'mozmeao/bedrock:2') seenJobAtRoll = (await jobOf('migrate')) ?? ({} as Obj);
    else await new Promise((r) => setTimeout(r, 50));
  }
  const res = await sync;
  assert.equal(res.code, 0, res.stdout + res.stderr);
  assert.ok(seenJobAtRoll, 'the Deployment never rolled to bedrock:2');
  assert.ok(complete(seenJobAtRoll), 'the Deployment rolled before the pre Job completed');
  const first = await jobOf('migrate');

  // Again at the same sha (a restart, a resync): the Job is left alone, not run again.
  const again = await w.cli(['sync', '--once']);
  assert.equal(again.code, 0, again.stdout + again.stderr);
  assert.equal((await jobOf('migrate'))?.metadata.uid, first?.metadata.uid, 'the pre Job ran twice');

  // A new migration image: the Job (template immutable) is deleted and created again, then runs.
  await w.repo.commit(
    { ...app('3'), [`${folder}/migrate.yaml`]: job('migrate', { phase: 'pre', image: 'migrate:3' }) },
    'migrate 3, bedrock 3',
  );
  const changed = await w.cli(['sync', '--once']);
  assert.equal(changed.code, 0, changed.stdout + changed.stderr);
  const second = await jobOf('migrate');
  assert.notEqual(second?.metadata.uid, first?.metadata.uid, 'the changed Job was not recreated');
  assert.equal(imageOf(second), 'migrate:3');
  assert.ok(complete(second));
  assert.equal(imageOf(await deployment()), 'mozmeao/bedrock:3');
  assert.match(await events('Recreated'), /Job\/migrate/);
});

test('a pre Job deleted by its TTL after it ran is not created, so not run, again at that spec', async () => {
  const sha = await w.repo.commit(
    { [`${folder}/cleanup.yaml`]: job('cleanup', { phase: 'pre', image: 'cleanup:1', ttl: 0 }) },
    'a pre Job that deletes itself once done',
  );
  const res = await w.cli(['sync', '--once']);
  assert.equal(res.code, 0, (res.stdout + res.stderr).split('\n').slice(-6).join('\n'));
  assert.equal((await w.version(ns))?.status?.ranJobs?.filter((e) => e.startsWith('cleanup@')).length, 1);
  // The TTL controller deletes it; the next passes (a resync, a restart) must not run it again.
  for (let i = 0; (await jobOf('cleanup')) && i < 300; i++) await new Promise((r) => setTimeout(r, 100));
  assert.equal(await jobOf('cleanup'), undefined, 'the TTL controller did not delete the Job in 30 s');
  // Each run of the Job is a pod the Job controller created, and an Event of it.
  const runs = async () =>
    (
      await w.kubectl(
        ...['-n', ns, 'get', 'events', '-o', 'jsonpath={.items[*].message}'],
        ...[
          '--field-selector',
          'involvedObject.kind=Job,involvedObject.name=cleanup,reason=SuccessfulCreate',
        ],
      )
    )
      .split('Created pod')
      .filter((m) => m.trim()).length;
  assert.equal(await runs(), 1);
  const again = await w.cli(['sync', '--once']);
  assert.equal(again.code, 0, again.stdout + again.stderr);
  assert.equal(await jobOf('cleanup'), undefined, 'the Job was created again');
  assert.equal(await runs(), 1, 'the Job ran again');
  assert.equal((await w.version(ns))?.deployed, short(sha));
});

test("a failed pre Job applies nothing else; the Deployment gets its .failed file in the pod's words (least-privilege RBAC)", async () => {
  const sa = 'phased-operator';
  const impersonate = await grantOperator(w, sa, ns, [ns]);
  const before = await deployment();
  const sha = await w.repo.commit(
    {
      ...app('4'),
      [`${folder}/migrate.yaml`]: null,
      [`${folder}/cleanup.yaml`]: null,
      [`${folder}/migrate-4.yaml`]: job('migrate-4', {
        phase: 'pre',
        image: 'migrate:4',
        fail: 'relation "users" already exists',
      }),
    },
    'a migration that fails',
  );
  const op = w.operator({}, { impersonate });
  const [r] = await op.syncOnce();
  op.close();
  assert.equal(r?.ok, false);
  assert.equal(r?.reason, 'PrePhaseFailed', r?.error);
  assert.equal(imageOf(await deployment()), imageOf(before), 'the Deployment rolled after a failed pre Job');
  assert.ok(await jobOf('migrate'), 'the old Job was pruned: something after the pre phase ran');
  const failed = await w.s3.getObject(`iowa-a/${ns}/bedrock/${short(sha)}.failed`);
  assert.ok(failed, 'no .failed file for the Deployment');
  assert.match(failed, /^\S+ PrePhaseFailed: pre phase failed: /);
  assert.match(failed, /Job\/migrate-4/);
  assert.match(failed, /relation "users" already exists/, "the pod's message is not in the failure");
  const v = await w.version(ns);
  assert.equal(condition(v, 'Stalled')?.reason, 'PrePhaseFailed');
  assert.equal(v?.applied === short(sha), false, 'applied moved past a failed pre phase');
});

test('a pre phase that timed out is not rolled out later, when its Job completes after all', async () => {
  const before = imageOf(await deployment());
  const sha = await w.repo.commit(
    {
      ...app('4b'),
      [`${folder}/migrate-4.yaml`]: null,
      [`${folder}/slow.yaml`]: job('slow', { phase: 'pre', image: 'slow:1', gated: true }),
    },
    'a migration slower than ROLLOUT_TIMEOUT',
  );
  const timedOut = await w.cli(['sync', '--once'], { ROLLOUT_TIMEOUT: '3' });
  assert.equal(timedOut.code, 1, timedOut.stdout + timedOut.stderr);
  assert.match(timedOut.stdout + timedOut.stderr, /pre phase not done after 3 s: Job\/slow/);
  assert.match(
    (await w.s3.getObject(`iowa-a/${ns}/bedrock/${short(sha)}.failed`)) ?? '',
    /^\S+ PrePhaseFailed: /,
  );
  // The migration completes after all; CI was told the commit failed: it must not roll out now.
  const pods = await get<{ items: { metadata: { name: string } }[] }>(
    `/api/v1/namespaces/${ns}/pods?labelSelector=${encodeURIComponent('batch.kubernetes.io/job-name=slow')}`,
  );
  const pod = pods?.items[0]?.metadata.name;
  assert.ok(pod);
  await w.cp.request(
    'PATCH',
    `/api/v1/namespaces/${ns}/pods/${pod}`,
    { spec: { schedulingGates: [] } },
    'application/merge-patch+json',
  );
  for (let i = 0; !complete(await jobOf('slow')) && i < 300; i++)
    await new Promise((r) => setTimeout(r, 100));
  assert.ok(complete(await jobOf('slow')), 'the slow migration did not complete');
  const again = await w.cli(['sync', '--once']);
  assert.equal(again.code, 1, again.stdout + again.stderr);
  assert.equal(imageOf(await deployment()), before, 'a commit told failed rolled out after all');
  assert.equal((await w.version(ns))?.applied === short(sha), false);
});

test('a post Job runs after the rollout is healthy; its failure is on the Version, the success file stands', async () => {
  const sha = await w.repo.commit(
    {
      ...app('5'),
      [`${folder}/migrate-4.yaml`]: null,
      [`${folder}/slow.yaml`]: null,
      [`${folder}/notify.yaml`]: job('notify', {
        phase: 'post',
        image: 'notify:1',
        fail: 'webhook answered 500',
      }),
    },
    'bedrock 5, a post notification that fails',
  );
  const res = await w.cli(['sync', '--once']);
  assert.equal(res.code, 1, res.stdout + res.stderr);
  assert.match(res.stdout + res.stderr, /post phase failed: Job\/notify/);
  assert.ok(
    await w.s3.getObject(`iowa-a/${ns}/bedrock/${short(sha)}`),
    "the commit's success file is missing",
  );
  assert.equal(await w.s3.getObject(`iowa-a/${ns}/bedrock/${short(sha)}.failed`), undefined);
  // The failed pre Job of the last test never got past its phase, and git dropped it: pruned.
  assert.equal(await jobOf('migrate-4'), undefined, 'a pre Job of a failed commit was left behind');
  const v = await w.version(ns);
  assert.equal(v?.deployed, short(sha));
  const ready = condition(v, 'Ready');
  assert.equal(ready?.reason, 'PostPhaseFailed');
  assert.match(ready?.message ?? '', /webhook answered 500/);
  // Applied only once the rollout was healthy.
  const healthyAt = v?.status?.deployments?.bedrock?.healthyAt ?? '';
  const created = (await jobOf('notify'))?.metadata.creationTimestamp ?? '';
  assert.ok(
    healthyAt && created >= healthyAt.slice(0, 19),
    `post Job created ${created}, healthy ${healthyAt}`,
  );
});

test('a newer commit during a running migration: it is neither cut nor recreated under it; the image commit rides on the newer rollout', async () => {
  const key = (sha: string) => `iowa-a/${ns}/bedrock/${short(sha)}`;
  const before = imageOf(await deployment());
  const pods = async () =>
    (
      (
        await get<{ items: { metadata: { name: string; uid: string } }[] }>(
          `/api/v1/namespaces/${ns}/pods?labelSelector=${encodeURIComponent('batch.kubernetes.io/job-name=migrate-7')}`,
        )
      )?.items ?? []
    ).map((p) => p.metadata.name);
  /** The one pod of Job/migrate-7 while the Job is the one of `uid`. */
  const podOfJob = async (uid: string | undefined) => {
    for (let i = 0; i < 300; i++) {
      const job = await jobOf('migrate-7');
      const names = await pods();
      if (job?.metadata.uid === uid && names.length === 1) return names[0] as string;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`no pod of Job/migrate-7 ${uid}`);
  };
  const release = async (pod: string) => {
    const res = await w.cp.request(
      'PATCH',
      `/api/v1/namespaces/${ns}/pods/${pod}`,
      { spec: { schedulingGates: [] } },
      'application/merge-patch+json',
    );
    assert.equal(res.status, 200, JSON.stringify(res.body));
  };
  const migration = (image: string) => job('migrate-7', { phase: 'pre', image, gated: true });
  const { a, b } = await w.withOperator({ GIT_SYNC_INTERVAL: '0.5' }, async () => {
    const a = await w.repo.commit(
      { ...app('7'), [`${folder}/notify.yaml`]: null, [`${folder}/migrate-7.yaml`]: migration('migrate:7') },
      'bedrock 7 and its migration',
    );
    for (let i = 0; !(await jobOf('migrate-7')) && i < 300; i++) await new Promise((r) => setTimeout(r, 100));
    const uid = (await jobOf('migrate-7'))?.metadata.uid;
    const pod = await podOfJob(uid);
    // The next commit changes the migration (a fix to it), bedrock's spec stays a's.
    const b = await w.repo.commit(
      { [`${folder}/migrate-7.yaml`]: migration('migrate:7b') },
      'migration fixed',
    );
    await new Promise((r) => setTimeout(r, 3000)); // several polls see b
    assert.equal(
      (await jobOf('migrate-7'))?.metadata.uid,
      uid,
      'the running migration was recreated under it',
    );
    assert.deepEqual(await pods(), [pod], 'the running migration was cut');
    assert.equal(imageOf(await deployment()), before, 'rolled out before the migration completed');
    await release(pod); // a's migration completes; then b's pass recreates the Job and runs it
    await w.waitVersion(
      ns,
      'the new migration started',
      (v) => v.status?.overtaken?.some((o) => o.sha === short(a)) ?? false,
    );
    let next: string | undefined;
    for (let i = 0; (!next || next === uid) && i < 300; i++) {
      await new Promise((r) => setTimeout(r, 100));
      next = (await jobOf('migrate-7'))?.metadata.uid; // undefined between the delete and the create
    }
    await release(await podOfJob(next));
    await w.waitVersion(ns, 'b deployed', (v) => v.deployed === short(b));
    return { a, b };
  });
  assert.equal(imageOf(await deployment()), 'mozmeao/bedrock:7');
  // a was overtaken after its pre phase; b has bedrock's spec of a: its rollout decides both.
  for (const sha of [a, b]) {
    assert.ok(await w.s3.getObject(key(sha)), `no success file for ${short(sha)}`);
    assert.equal(await w.s3.getObject(`${key(sha)}.failed`), undefined);
  }
});

test('an immutable selector change fails the set naming field, file and opt-in; with recreate it is deleted and created', async () => {
  const selectorChange = (annotate: boolean) => {
    const files = app('6');
    const d = JSON.parse(files[`${folder}/deploy.yaml`] as string);
    d.spec.selector.matchLabels.track = 'v2';
    d.spec.template.metadata.labels.track = 'v2';
    if (annotate) d.metadata.annotations = { [recreateAnnotation]: 'true' };
    const cm = JSON.parse(files[`${folder}/configmap.yaml`] as string);
    cm.data.DEBUG = 'true';
    return {
      ...files,
      [`${folder}/notify.yaml`]: null,
      [`${folder}/deploy.yaml`]: `${JSON.stringify(d)}\n`,
      [`${folder}/configmap.yaml`]: `${JSON.stringify(cm)}\n`,
    };
  };
  const before = await deployment();
  const debug = () =>
    w.kubectl('-n', ns, 'get', 'configmap', 'bedrock-config', '-o', 'jsonpath={.data.DEBUG}');
  const debugBefore = await debug();
  const refused = await w.repo.commit(selectorChange(false), 'a new selector, no opt-in');
  const res = await w.cli(['sync', '--once']);
  assert.equal(res.code, 1, res.stdout + res.stderr);
  const out = res.stdout + res.stderr;
  assert.match(
    out,
    new RegExp(`${folder}/deploy.yaml:1: Deployment/bedrock: spec.selector: field is immutable`),
  );
  assert.match(out, new RegExp(`${recreateAnnotation}: "true"`));
  assert.equal((await deployment())?.metadata.uid, before?.metadata.uid);
  assert.equal(await debug(), debugBefore, 'part of a refused set was applied');
  assert.notEqual(debugBefore, 'true');
  assert.match(
    (await w.s3.getObject(`iowa-a/${ns}/bedrock/${short(refused)}.failed`)) ?? '',
    /^\S+ DryRunRejected: /,
  );

  const sha = await w.repo.commit(selectorChange(true), 'a new selector, recreate opted in');
  const ok = await w.cli(['sync', '--once']);
  assert.equal(ok.code, 0, ok.stdout + ok.stderr);
  const after = await deployment();
  assert.notEqual(after?.metadata.uid, before?.metadata.uid, 'not recreated');
  assert.equal(after?.spec.selector.matchLabels.track, 'v2');
  assert.ok(await w.s3.getObject(`iowa-a/${ns}/bedrock/${short(sha)}`), 'no success file after the recreate');
  assert.match(await events('Recreated'), /Deployment\/bedrock/);
});
