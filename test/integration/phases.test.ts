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
  opts: { phase: 'pre' | 'post'; image: string; fail?: string; ttl?: number },
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
        spec: { restartPolicy: 'Never', containers: [{ name, image: opts.image }] },
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

test('a post Job runs after the rollout is healthy; its failure is on the Version, the success file stands', async () => {
  const sha = await w.repo.commit(
    {
      ...app('5'),
      [`${folder}/migrate-4.yaml`]: null,
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
  assert.equal(
    await w.kubectl('-n', ns, 'get', 'configmap', 'bedrock-config', '-o', 'jsonpath={.data.DEBUG}'),
    'false',
    'part of a refused set was applied',
  );
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
