// A standby replica (leader election on, another replica holds the Lease) and a hung apiserver:
// the standby's lease attempts are its loop, so /healthz holds while it waits and fails only when
// they stop; a SIGSTOPped apiserver fails requests within their timeout, stops the leader within
// its lease, and leaves the standby live to take over once it answers again.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ApiTimeoutError, KubeClient } from '../../src/kube/client.ts';
import type { Operator } from '../../src/operator.ts';
import { loopAlive } from '../../src/server.ts';
import { short } from '../../src/source/sha.ts';
import { waitFor } from '../../testbed/proc.ts';
import { seedRepo } from '../../testbed/seed.ts';
import { type RunProcess, startRun, within } from '../support/processes.ts';
import { startWorld, type World } from '../support/world.ts';

/** LEASE_DURATION: a standby retries every second (a third of it). */
const lease = 3;
/** A standby with no finished lease attempt for this long is wedged (LeaderElector.standbyStallMs). */
const standbyStallMs = 3 * ((lease * 1000) / 3 + lease * 1000);

let w: World;

before(async () => {
  w = await startWorld({
    namespaces: ['standby', 'frozen', 'wedged'],
    files: seedRepo('iowa-a', ['standby', 'frozen', 'wedged']),
  });
});
after(async () => {
  await w?.stop();
});

const said = async (p: RunProcess, msg: string) => (await p.logs()).filter((l) => l.msg === msg);
const status = async (p: RunProcess, path: string) =>
  (await fetch(`${p.url}${path}`, { signal: AbortSignal.timeout(5000) })).status;
/** In-process operators' log lines with this message. */
const logged = (msg: string) => w.logs.filter((l) => l.includes(`"msg":"${msg}`)).length;

test('a standby replica stays live and ready while the other leads, for longer than its stall threshold', async () => {
  const ns = 'standby';
  // GIT_SYNC_INTERVAL=1 (the world's): a loop that stopped ticking would fail /healthz after 3 s
  // plus git's slack; a standby whose lease attempts stopped, after standbyStallMs (12 s).
  const extra = { MANAGED_NAMESPACES: ns, LEASE_DURATION: String(lease) };
  const procs = [await startRun(w, 'replica-1', extra), await startRun(w, 'replica-2', extra)];
  try {
    const leader = await waitFor(
      'a leader',
      async () => {
        for (const p of procs) if ((await said(p, 'became leader')).length > 0) return p;
        return undefined;
      },
      { timeoutMs: 90_000 },
    );
    const follower = leader === procs[0] ? (procs[1] as RunProcess) : (procs[0] as RunProcess);
    const head = await w.repo.head();
    await w.waitVersion(ns, 'the leader deployed the head', (v) => v.deployed === short(head), 120_000);

    // Watch both for well past the standby's threshold (the follower has waited since its start).
    const failures: string[] = [];
    const t0 = Date.now();
    while (Date.now() - t0 < standbyStallMs + 8000) {
      const at = `${Math.round((Date.now() - t0) / 1000)} s`;
      const [fh, fr, lh] = await Promise.all([
        status(follower, '/healthz'),
        status(follower, '/readyz'),
        status(leader, '/healthz'),
      ]);
      if (fh !== 200) failures.push(`${at}: follower /healthz ${fh}`);
      if (fr !== 200) failures.push(`${at}: follower /readyz ${fr}`);
      if (lh !== 200) failures.push(`${at}: leader /healthz ${lh}`);
      if (follower.svc.child.exitCode !== null) failures.push(`${at}: follower exited`);
      await sleep(250);
    }
    assert.deepEqual(failures, []);
    assert.deepEqual(await said(follower, 'became leader'), [], 'the follower became leader');
    assert.equal((await said(follower, 'waiting for the leader lease')).length, 1);
    assert.deepEqual(
      (await follower.logs()).filter((l) => String(l.msg).startsWith('lease attempt failed')),
      [],
    );
  } finally {
    await Promise.allSettled(procs.map((p) => p.stop()));
  }
});

test('the apiserver hangs (SIGSTOP): requests time out naming method and path, the leader stops within its lease, the standby stays live and leads once it answers', async () => {
  const ns = 'frozen';
  // One sync at the start, then only lease traffic: nothing else is in flight when it freezes.
  const extra = { MANAGED_NAMESPACES: ns, LEASE_DURATION: String(lease), GIT_SYNC_INTERVAL: '3600' };
  const becameBefore = logged('became leader');
  const a = w.operator(extra);
  const stopA = new AbortController();
  const runA = a.run(stopA.signal);
  const head = await w.repo.head();
  await w.waitVersion(
    ns,
    'deployed, file written',
    (v) => v.deployed === short(head) && (v.status?.pending ?? []).length === 0,
    120_000,
  );
  assert.equal(logged('became leader'), becameBefore + 1);
  const b = w.operator(extra);
  const stopB = new AbortController();
  const runB = b.run(stopB.signal);
  const client = new KubeClient({ kubeconfig: w.cp.kubeconfig, requestTimeoutMs: 1000 });
  const apiserver = w.cp.services.find((s) => s.name === 'kube-apiserver');
  assert.ok(apiserver);
  try {
    await waitFor('the standby found the lease held', async () => (b.ready ? true : undefined));
    assert.equal(b.standbyStallMs, standbyStallMs);
    await client.json('GET', `/api/v1/namespaces/${ns}`); // a pooled keep-alive connection

    let stoppedA: { outcome: string; ms: number } | undefined;
    apiserver.child.kill('SIGSTOP');
    const frozenAt = Date.now();
    void runA.then((outcome) => {
      stoppedA = { outcome, ms: Date.now() - frozenAt };
    });
    try {
      const timed = async (p: Promise<unknown>) => {
        const t = Date.now();
        const err = await p.then(
          () => undefined,
          (e: unknown) => e,
        );
        return { err, ms: Date.now() - t };
      };
      // A GET is sent once more (on a new connection) before it fails; a POST is not.
      const get = await timed(client.json('GET', `/api/v1/namespaces/${ns}/configmaps?limit=1`));
      assert.ok(get.err instanceof ApiTimeoutError, String(get.err));
      assert.match(
        get.err.message,
        /did not answer GET \/api\/v1\/namespaces\/frozen\/configmaps within 1 s$/,
      );
      assert.ok(get.ms >= 1950 && get.ms < 4000, `the GET failed after ${get.ms} ms`);
      const post = await timed(
        client.json('POST', `/api/v1/namespaces/${ns}/configmaps`, {
          body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'never' } },
        }),
      );
      assert.ok(post.err instanceof ApiTimeoutError, String(post.err));
      assert.ok(post.ms >= 950 && post.ms < 2500, `the POST failed after ${post.ms} ms`);

      // Through the freeze (longer than its threshold) the standby's failed attempts tick.
      const deadAt: number[] = [];
      while (Date.now() - frozenAt < standbyStallMs + 3000) {
        if (!loopAlive(b)) deadAt.push(Date.now() - frozenAt);
        await sleep(250);
      }
      assert.deepEqual(deadAt, [], 'the standby failed /healthz during the freeze');
      assert.ok(logged('lease attempt failed: no answer within the lease duration (3 s)') > 0);
      // The leader could not renew: it stopped writing once its lease ran out, not after a timeout.
      assert.equal(stoppedA?.outcome, 'lost-lease');
      assert.ok(
        (stoppedA?.ms ?? Infinity) < lease * 1000 + 2000,
        `the leader stopped after ${stoppedA?.ms} ms`,
      );
    } finally {
      apiserver.child.kill('SIGCONT');
    }
    const thawedAt = Date.now();
    await waitFor(
      'the standby becomes leader',
      async () => (logged('became leader') === becameBefore + 2 ? true : undefined),
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    assert.ok(Date.now() - thawedAt < (lease + 5) * 1000, `took ${Date.now() - thawedAt} ms`);
    assert.equal(b.standbyStallMs, undefined);
    assert.ok(loopAlive(b));
    // The same client works again (the timed-out connections were dropped). Whether the POST was
    // carried out after the thaw is unknown: that is why it is never sent twice.
    const nsObj = await client.json<{ metadata: { name: string } }>('GET', `/api/v1/namespaces/${ns}`);
    assert.equal(nsObj.metadata.name, ns);
  } finally {
    apiserver?.child.kill('SIGCONT');
    client.close();
    stopA.abort();
    stopB.abort();
    await within('both operators stop', 60_000, Promise.allSettled([runA, runB]));
  }
});

test('a wedged lease loop (an attempt that never returns) fails /healthz after the standby threshold', async () => {
  const ns = 'wedged';
  const extra = { MANAGED_NAMESPACES: ns, LEASE_DURATION: String(lease), GIT_SYNC_INTERVAL: '3600' };
  const becameBefore = logged('became leader');
  const leader = w.operator(extra);
  const stopL = new AbortController();
  const runL = leader.run(stopL.signal);
  const unwedge = new AbortController();
  const stopS = new AbortController();
  let runS: Promise<unknown> | undefined;
  try {
    await waitFor('a leader', async () => (logged('became leader') > becameBefore ? true : undefined));
    const standby: Operator = w.operator(extra);
    runS = standby.run(stopS.signal);
    await waitFor('the standby found the lease held', async () => (standby.ready ? true : undefined));
    // A bug that ignores every signal: the Lease GET never returns.
    const client = standby.deps.client;
    const json = client.json.bind(client);
    client.json = ((method: string, path: string, init?: Parameters<typeof json>[2]) =>
      path.includes('/leases/')
        ? new Promise((_, reject) =>
            unwedge.signal.addEventListener('abort', () => reject(new Error('unwedged'))),
          )
        : json(method, path, init)) as typeof client.json;
    const wedgedAt = Date.now();
    const dead = await waitFor(
      'the wedged standby fails /healthz',
      async () => (loopAlive(standby) ? undefined : Date.now() - wedgedAt),
      { timeoutMs: standbyStallMs + 5000, intervalMs: 100 },
    );
    // Its last attempt finished within a retry period before the wedge.
    assert.ok(dead > standbyStallMs - 2500, `failed after ${dead} ms`);
    assert.ok(loopAlive(leader), 'the leader failed /healthz');
  } finally {
    stopS.abort();
    unwedge.abort();
    stopL.abort();
    await within('both operators stop', 60_000, Promise.allSettled([runL, runS]));
  }
});
