// Faults of the things around the operator: the apiserver and etcd die in the middle of a big
// apply; the operator itself is killed at each step of a deploy; S3 hangs through a restart.
// Real control plane, git and S3; every wait is bounded. Each test asserts the end state CI and
// people rely on: Version converged, exactly one S3 file per (deployment, sha), nothing lost.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { short } from '../../src/source/sha.ts';
import { waitFor } from '../../testbed/proc.ts';
import { appFiles, seedRepo } from '../../testbed/seed.ts';
import { assertS3Once, numberedConfigMaps, numberedConfigMapsIn, writesLogged } from '../support/checks.ts';
import { type RunProcess, startRun, supervise, within } from '../support/processes.ts';
import { startWorld, type World } from '../support/world.ts';

let w: World;
const runs: RunProcess[] = [];

before(async () => {
  w = await startWorld({
    namespaces: ['bulk', 'kill', 'hang'],
    files: seedRepo('iowa-a', ['kill', 'hang']),
  });
});
after(async () => {
  await Promise.allSettled(runs.map((r) => r.stop()));
  w?.s3.resume();
  await w?.stop();
});

/** ConfigMaps in `ns` (all of them, from one cheap LIST with limit=1). */
async function configMapCount(ns: string): Promise<number> {
  const res = await w.cp.request('GET', `/api/v1/namespaces/${ns}/configmaps?limit=1`);
  const body = res.body as { items?: unknown[]; metadata?: { remainingItemCount?: number } };
  if (res.status !== 200) throw new Error(`list configmaps: ${res.status}`);
  return (body.items?.length ?? 0) + (body.metadata?.remainingItemCount ?? 0);
}

test('apiserver and etcd killed in the middle of applying 500 objects: started again, the set converges and the S3 file is written once', async () => {
  const ns = 'bulk';
  const files = { ...appFiles(`iowa-a/${ns}`, 'bedrock'), ...numberedConfigMaps(`iowa-a/${ns}`, 5) };
  const sha = await w.repo.commit(files, 'bulk: 500 ConfigMaps and an app');
  const base = await configMapCount(ns); // kube-root-ca.crt
  // One object at a time, so the apply lasts long enough to be cut in the middle.
  const sup = supervise(w, { MANAGED_NAMESPACES: ns, APPLY_CONCURRENCY: '1', LEASE_DURATION: '4' });
  try {
    const seen = await waitFor(
      'the apply under way',
      async () => {
        const n = (await configMapCount(ns)) - base;
        return n >= 10 ? n : undefined;
      },
      { timeoutMs: 180_000, intervalMs: 20 },
    );
    await w.cp.stopApiserver();
    const downAt = Date.now();
    assert.ok(seen < 501, `the apply finished (${seen}) before the outage`);
    // Down for several sync intervals (1 s) and longer than the lease (4 s).
    await waitFor(
      'the operator noticing the outage',
      async () =>
        w.logs.some((l) => l.includes(`"namespace":"${ns}"`) && /unreachable|ECONNREFUSED/i.test(l))
          ? true
          : undefined,
      { timeoutMs: 60_000 },
    );
    while (Date.now() - downAt < 6000) await new Promise((r) => setTimeout(r, 250));
    await w.cp.startApiserver();
    const v = await w.waitVersion(
      ns,
      'deployed = sha after the outage',
      (x) => x.deployed === short(sha),
      240_000,
    );
    assert.equal(v.applied, short(sha));
    assert.equal(v.status?.lastError, '');
    assert.equal(await configMapCount(ns), base + 501, 'objects lost in the outage');
    const { wrong } = await numberedConfigMapsIn(w, ns);
    assert.deepEqual(wrong, [], 'ConfigMaps with wrong data');
    const key = await assertS3Once(w, ns, 'bedrock', sha);
    assert.equal(writesLogged(w, key), 1, 'S3 file written more than once');
    assert.ok(
      w.logs.some((l) => l.includes('"reason":"ApplyFailed"') && l.includes(`"namespace":"${ns}"`)),
      'the cut apply was not reported',
    );
  } finally {
    await sup.stop();
  }
});

test('the operator process SIGKILLed right after `applied`, then during the health wait: restarted, one S3 file per deployment, deployed correct', async () => {
  const ns = 'kill';
  const extra = { MANAGED_NAMESPACES: ns, LEASE_DURATION: '2', LOG_LEVEL: 'debug' };
  const start = async (name: string) => {
    const p = await startRun(w, name, extra);
    runs.push(p);
    return p;
  };

  // 1. Killed the moment `applied` moves (the rollout takes ≥ 5 s: minReadySeconds).
  const sha1 = await w.repo.commit(
    appFiles(`iowa-a/${ns}`, 'bedrock', { image: 'mozmeao/bedrock:k1', minReadySeconds: 5 }),
    'kill 1',
  );
  const p1 = await start('kill-1');
  const at1 = await w.waitVersion(ns, 'applied = sha1', (v) => v.applied === short(sha1), 120_000);
  await p1.kill();
  assert.notEqual(at1.deployed, short(sha1), 'deployed before the kill: the window was missed');
  assert.deepEqual(await w.s3.listKeys(`iowa-a/${ns}/bedrock/${short(sha1)}`), []);
  const p2 = await start('kill-2');
  await w.waitVersion(ns, 'deployed = sha1 after the restart', (v) => v.deployed === short(sha1), 120_000);
  await assertS3Once(w, ns, 'bedrock', sha1);

  // 2. Killed while waiting: web is healthy (its file pending), worker still rolling out.
  const worker = appFiles(`iowa-a/${ns}`, 'worker', { minReadySeconds: 8 });
  const sha2 = await w.repo.commit(
    {
      ...appFiles(`iowa-a/${ns}`, 'bedrock', { image: 'mozmeao/bedrock:k2' }),
      [`iowa-a/${ns}/worker.yaml`]: worker[`iowa-a/${ns}/deploy.yaml`] ?? '',
      [`iowa-a/${ns}/worker-config.yaml`]: worker[`iowa-a/${ns}/configmap.yaml`] ?? '',
    },
    'kill 2',
  );
  const mid = await w.waitVersion(
    ns,
    'bedrock healthy at sha2, worker not yet',
    (v) => {
      const d = v.status?.deployments;
      // worker is rolling out sha2 (its state waits there) but is not healthy yet
      return d?.bedrock?.sha === short(sha2) && !!d.bedrock.healthyAt && !d.worker?.healthyAt;
    },
    120_000,
  );
  await p2.kill();
  const healthyAt = mid.status?.deployments?.bedrock?.healthyAt;
  const p3 = await start('kill-3');
  const v2 = await w.waitVersion(
    ns,
    'deployed = sha2 after the restart',
    (v) => v.deployed === short(sha2),
    120_000,
  );
  assert.equal(
    v2.status?.deployments?.bedrock?.healthyAt,
    healthyAt,
    'healthyAt of bedrock changed on restart',
  );
  await assertS3Once(w, ns, 'bedrock', sha2);
  await assertS3Once(w, ns, 'worker', sha2);
  await w.waitVersion(ns, 'nothing pending', (v) => (v.status?.pending ?? []).length === 0, 60_000);
  await within('SIGTERM of the last process', 30_000, p3.stop());
  for (const sha of [sha1, sha2])
    assert.deepEqual(
      await w.s3.listKeys(`iowa-a/${ns}/bedrock/${short(sha)}.failed`),
      [],
      'a wrong .failed signal',
    );
});

test('the operator killed after the S3 write but before the status records it: the restart writes the same file once more, never a second key', async () => {
  const ns = 'kill';
  const sha = await w.repo.commit(
    appFiles(`iowa-a/${ns}`, 'bedrock', { image: 'mozmeao/bedrock:k3' }),
    'kill 3',
  );
  const key = `iowa-a/${ns}/bedrock/${short(sha)}`;
  let written: string | undefined;
  const stopA = new AbortController();
  const a = w.operator({ MANAGED_NAMESPACES: ns, LEASE_DURATION: '2' });
  const [real] = a.deps.sinks;
  assert.ok(real, 'no S3 sink');
  a.deps.sinks[0] = {
    ...real,
    async send(d, signal) {
      await real.send(d, signal);
      if (d.key !== key) return;
      written = d.body;
      await new Promise(() => {}); // frozen for ever right after the PUT: a kill at this instant
    },
  };
  void a.run(stopA.signal); // never settles: the frozen write holds it
  await waitFor('the S3 PUT of the frozen operator', async () => written, { timeoutMs: 120_000 });
  stopA.abort();
  a.close();
  const pending = (await w.version(ns))?.status?.pending ?? [];
  assert.ok(
    pending.some((p) => p.key === key),
    'the file was not pending when the operator died',
  );
  const sup = supervise(w, { MANAGED_NAMESPACES: ns, LEASE_DURATION: '2' });
  try {
    const v = await w.waitVersion(
      ns,
      'pending delivered by the new operator',
      // The file goes out before `deployed` is recorded: wait for both.
      (x) =>
        (x.status?.pending ?? []).length === 0 &&
        x.status?.deployments?.bedrock?.notified === true &&
        x.deployed === short(sha),
      120_000,
    );
    assert.equal(v.deployed, short(sha));
    assert.equal(await assertS3Once(w, ns, 'bedrock', sha), key);
    assert.equal(await w.s3.getObject(key), written, 'the rewrite changed the body');
    assert.equal(writesLogged(w, key), 1);
  } finally {
    await sup.stop();
  }
});

test('S3 hangs (SIGSTOP) for several intervals and through a restart: deploys go on, shutdown is bounded, each file appears once afterwards', async () => {
  const ns = 'hang';
  const extra = { MANAGED_NAMESPACES: ns, LEASE_DURATION: '3' };
  await w.s3.pause();
  try {
    const sha1 = await w.repo.commit(
      appFiles(`iowa-a/${ns}`, 'bedrock', { image: 'mozmeao/bedrock:h1' }),
      'hang 1',
    );
    const key1 = `iowa-a/${ns}/bedrock/${short(sha1)}`;
    const a = supervise(w, extra);
    try {
      await w.waitVersion(
        ns,
        'deployed sha1, file pending',
        (v) => v.deployed === short(sha1) && (v.status?.pending ?? []).some((p) => p.key === key1),
        120_000,
      );
      // A hung PUT must not hold the namespace: the next commit is applied and deployed.
      const sha2 = await w.repo.commit(
        appFiles(`iowa-a/${ns}`, 'bedrock', { image: 'mozmeao/bedrock:h2' }),
        'hang 2',
      );
      await w.waitVersion(ns, 'deployed sha2 while S3 hangs', (v) => v.deployed === short(sha2), 90_000);
      await within('operator shutdown while S3 hangs', 40_000, a.stop());

      // Restarted while S3 still hangs: it keeps both files pending.
      const failedBefore = w.logs.filter((l) => l.includes('S3 write failed')).length;
      const b = supervise(w, extra);
      try {
        await waitFor(
          'a failed write after the restart',
          async () =>
            w.logs.filter((l) => l.includes('S3 write failed')).length > failedBefore ? true : undefined,
          { timeoutMs: 90_000 },
        );
        const pending = (await w.version(ns))?.status?.pending?.map((p) => p.key) ?? [];
        assert.ok(pending.includes(key1), `sha1's file is no longer pending: ${pending}`);
        w.s3.resume();
        await w.waitVersion(
          ns,
          'both files delivered',
          (v) => (v.status?.pending ?? []).length === 0,
          120_000,
        );
        await assertS3Once(w, ns, 'bedrock', sha1);
        await assertS3Once(w, ns, 'bedrock', sha2);
        assert.deepEqual(
          await w.s3.listKeys(`iowa-a/${ns}/`),
          [key1, `iowa-a/${ns}/bedrock/${short(sha2)}`].sort(),
        );
      } finally {
        await b.stop();
      }
    } finally {
      await a.stop();
    }
  } finally {
    w.s3.resume();
  }
});
