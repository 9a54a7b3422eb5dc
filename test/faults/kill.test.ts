// The operator process SIGKILLed at each step of a reconcile (GSO_FAILPOINT, src/failpoint.ts):
// the state it leaves proves where it stopped, and a restart without the failpoint converges with
// one S3 file per (deployment, sha), no `.failed`, and the healthy time it had already recorded.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { short } from '../../src/source/sha.ts';
import type { Version } from '../../src/version/types.ts';
import { appFiles, seedRepo } from '../../testbed/seed.ts';
import { assertS3Once } from '../support/checks.ts';
import { type RunProcess, startRun, within } from '../support/processes.ts';
import { startWorld, type World } from '../support/world.ts';

/** What the killed process left: the live objects of each apply stage, the Version, S3. */
interface Left {
  /** ConfigMap (stage 0), Deployment (stage 1), HPA (stage 2): true = at the new commit. */
  stages: [boolean, boolean, boolean];
  version: Version;
  key: string;
  s3: string | undefined;
  sha: string;
  base: Version;
}

const points: { name: string; check(l: Left): void }[] = [
  {
    name: 'after-fetch',
    check(l) {
      assert.deepEqual(l.stages, [false, false, false], 'written after the fetch');
      assert.deepEqual(record(l.version), record(l.base), 'the Version recorded something');
    },
  },
  {
    name: 'mid-apply',
    check(l) {
      assert.deepEqual(l.stages, [true, false, false], 'not stopped after the first apply stage');
      assert.equal(l.version.applied, l.base.applied, '`applied` moved');
    },
  },
  {
    name: 'after-apply',
    check(l) {
      assert.deepEqual(l.stages, [true, true, true], 'not all applied');
      assert.equal(l.version.applied, l.base.applied, '`applied` moved');
      assert.equal(l.version.status?.commit, l.base.status?.commit, 'status recorded the commit');
    },
  },
  {
    name: 'after-health',
    check(l) {
      assert.deepEqual(l.stages, [true, true, true]);
      // The file goes out the moment bedrock is healthy, before `deployed` is recorded.
      assert.notEqual(l.version.deployed, short(l.sha), 'deployed recorded before the file went out');
      const d = l.version.status?.deployments?.bedrock;
      assert.ok(d?.sha === short(l.sha) && d.healthyAt && !d.notified, `bedrock: ${JSON.stringify(d)}`);
      assert.ok(
        l.version.status?.pending?.some((p) => p.key === l.key),
        'the file is not pending',
      );
      assert.equal(l.s3, undefined, 'the S3 file was written');
    },
  },
  {
    name: 'after-s3',
    check(l) {
      const d = l.version.status?.deployments?.bedrock;
      assert.ok(d?.sha === short(l.sha) && d.healthyAt && !d.notified, `bedrock: ${JSON.stringify(d)}`);
      assert.ok(
        l.version.status?.pending?.some((p) => p.key === l.key),
        'the status recorded the write',
      );
      assert.equal(l.s3, d.healthyAt, 'the S3 file was not written');
    },
  },
];

/** What a reconcile records in the Version (not conditions: a start marks the source available). */
const record = (v: Version) => ({
  applied: v.applied,
  deployed: v.deployed,
  commit: v.status?.commit,
  inventory: v.status?.inventory,
  deployments: v.status?.deployments,
  pending: v.status?.pending,
});

let w: World;
const runs: RunProcess[] = [];

before(async () => {
  // One namespace per point, each deployed at the seed commit first.
  const namespaces = points.map((p) => p.name);
  w = await startWorld({ namespaces, files: seedRepo('iowa-a', namespaces) });
  const op = w.operator();
  try {
    const results = await op.syncOnce();
    assert.deepEqual(
      results.filter((r) => !r.ok).map((r) => `${r.namespace}: ${r.error}`),
      [],
    );
  } finally {
    op.close();
  }
});
after(async () => {
  await Promise.allSettled(runs.map((r) => r.stop()));
  await w?.stop();
});

/** The app at a new commit: each apply stage has a change (ConfigMap, Deployment, HPA). */
function changed(ns: string): Record<string, string> {
  const folder = `iowa-a/${ns}`;
  const files = appFiles(folder, 'bedrock', { image: `mozmeao/bedrock:${ns}` });
  const edit = (file: string, f: (o: Record<string, Record<string, unknown>>) => void) => {
    const o = JSON.parse(files[`${folder}/${file}`] ?? '{}');
    f(o);
    files[`${folder}/${file}`] = JSON.stringify(o);
  };
  edit('configmap.yaml', (o) => {
    o.data = { ...o.data, COMMIT: ns };
  });
  edit('hpa.yaml', (o) => {
    o.spec = { ...o.spec, maxReplicas: 7 };
  });
  return files;
}

async function stages(ns: string): Promise<Left['stages']> {
  const get = async (what: string) => JSON.parse(await w.kubectl('-n', ns, 'get', what, '-o', 'json'));
  const [cm, deploy, hpa] = await Promise.all([
    get('configmap/bedrock-config'),
    get('deployment/bedrock'),
    get('horizontalpodautoscaler/bedrock'),
  ]);
  return [
    cm.data?.COMMIT === ns,
    deploy.spec.template.spec.containers[0].image === `mozmeao/bedrock:${ns}`,
    hpa.spec.maxReplicas === 7,
  ];
}

for (const point of points) {
  test(`kill at ${point.name}: SIGKILLed at that step, the restart converges with one S3 file and no .failed`, async () => {
    const ns = point.name;
    const extra = { MANAGED_NAMESPACES: ns, LEASE_DURATION: '2', LOG_LEVEL: 'debug' };
    const base = await w.version(ns);
    assert.ok(
      base?.deployed && base.deployed === base.applied,
      'the namespace is not deployed to start with',
    );
    assert.deepEqual(await stages(ns), [false, false, false]);
    const sha = await w.repo.commit(changed(ns), `kill at ${ns}`);
    const key = `${w.cluster}/${ns}/bedrock/${short(sha)}`;

    const killed = await startRun(w, `${ns}-killed`, { ...extra, GSO_FAILPOINT: `${ns}@${ns}` });
    runs.push(killed);
    await within(
      `the process reaching ${ns}`,
      120_000,
      killed.svc.exited.catch(() => {}),
    );
    assert.equal(killed.svc.child.signalCode, 'SIGKILL', `exit code ${killed.svc.child.exitCode}`);
    assert.match(await killed.output(), new RegExp(`failpoint ${ns}@${ns}: SIGKILL`));
    const left: Left = {
      stages: await stages(ns),
      version: (await w.version(ns)) as Version,
      key,
      s3: await w.s3.getObject(key),
      sha,
      base,
    };
    point.check(left);
    // The healthy time of this sha, if the killed process had recorded it: a restart keeps it.
    const state = left.version.status?.deployments?.bedrock;
    const healthyAt = state?.sha === short(sha) ? state.healthyAt : undefined;
    const written = (logs: { msg?: string; key?: unknown }[]) =>
      logs.filter((l) => l.msg === 'S3 file written' && l.key === key).length;
    assert.equal(written(await killed.logs()), 0);

    const restarted = await startRun(w, `${ns}-restarted`, extra);
    runs.push(restarted);
    const v = await w.waitVersion(
      ns,
      `converged after the kill at ${ns}`,
      (x) =>
        x.applied === short(sha) &&
        x.deployed === short(sha) &&
        (x.status?.pending ?? []).length === 0 &&
        x.status?.deployments?.bedrock?.notified === true,
      120_000,
    );
    assert.deepEqual(await stages(ns), [true, true, true]);
    assert.equal(v.status?.lastError, '');
    if (healthyAt) assert.equal(v.status?.deployments?.bedrock?.healthyAt, healthyAt, 'healthyAt changed');
    await assertS3Once(w, ns, 'bedrock', sha);
    if (left.s3) assert.equal(await w.s3.getObject(key), left.s3, 'the rewrite changed the body');
    assert.equal(written(await restarted.logs()), 1, 'the restarted process did not write the file once');
    assert.deepEqual(await w.s3.listKeys(`${key}.failed`), [], 'a wrong .failed signal');
    await within('SIGTERM of the restarted process', 30_000, restarted.stop());
  });
}
