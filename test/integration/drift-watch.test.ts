// Drift by watch (DRIFT_WATCH, the default): a hand edit is repaired as it happens, not at the
// next poll; an idle poll sends the apiserver nothing; the watches survive a cut connection, a
// 410 Gone and an apiserver restart. Real control plane, real git.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { KindWatch } from '../../src/drift/kind-watch.ts';
import { KubeClient } from '../../src/kube/client.ts';
import type { Operator } from '../../src/operator.ts';
import { short } from '../../src/source/sha.ts';
import { waitFor } from '../../testbed/proc.ts';
import { seedRepo } from '../../testbed/seed.ts';
import { recordRequests } from '../support/processes.ts';
import { startWorld, type World } from '../support/world.ts';

const ns = 'drift-dev';
let w: World;

before(async () => {
  w = await startWorld({ namespaces: [ns], files: seedRepo('iowa-a', [ns]) });
});
after(async () => {
  await w?.stop();
});

const replicas = async () =>
  JSON.parse(await w.kubectl('-n', ns, 'get', 'deployment', 'bedrock', '-o', 'json')).spec.replicas as number;
const debug = async () =>
  JSON.parse(await w.kubectl('-n', ns, 'get', 'configmap', 'bedrock-config', '-o', 'json')).data
    .DEBUG as string;

async function settled(op: Operator): Promise<void> {
  const head = await w.repo.head();
  await w.waitVersion(ns, 'settled', (v) => v.deployed === short(head) && !v.status?.pending?.length);
  await waitFor('the watches up', async () =>
    (op as unknown as WithDrift).drift?.open(ns) ? true : undefined,
  );
}
/** A hand edit of the ConfigMap's data (kubectl patch: another writer than the operator). */
const patchConfigMap = (data: Record<string, string>) =>
  w.kubectl('-n', ns, 'patch', 'configmap', 'bedrock-config', '--type=merge', '-p', JSON.stringify({ data }));

/** Until `seen` has had no request for 2 s (the operator's passes and watch openings are over). */
async function quiet(seen: string[]): Promise<void> {
  let last = -1;
  await waitFor(
    'the operator quiet',
    async () => {
      const now = seen.length;
      const still = now === last;
      last = now;
      return still ? true : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 2000 },
  );
}

type WithDrift = { drift?: { open(ns: string): boolean } };

test('a hand edit, a deletion and a removed label are repaired by the watch while the next poll is a minute away; idle polls send the apiserver nothing', async () => {
  await w.withOperator({ GIT_SYNC_INTERVAL: '60' }, async (op) => {
    await settled(op);
    const seen = () => op.metrics.driftSeen.get().then((m) => m.values.reduce((a, v) => a + v.value, 0));
    const before = await seen();
    await w.kubectl('-n', ns, 'scale', 'deployment', 'bedrock', '--replicas=5');
    await waitFor('scale repaired', async () => ((await replicas()) === 2 ? true : undefined), {
      timeoutMs: 20_000,
    });
    await patchConfigMap({ DEBUG: 'true' });
    await waitFor('edit repaired', async () => ((await debug()) === 'false' ? true : undefined), {
      timeoutMs: 20_000,
    });
    await w.kubectl('-n', ns, 'delete', 'service', 'bedrock');
    await waitFor(
      'deleted Service recreated',
      async () => ((await w.names(ns, 'services')).includes('bedrock') ? true : undefined),
      {
        timeoutMs: 20_000,
      },
    );
    // Without our label the object leaves the watch's selection: a DELETED to the watch, repaired.
    await w.kubectl(
      '-n',
      ns,
      'label',
      'configmap',
      'bedrock-config',
      'git-sync-operator.mozilla.org/managed-by-',
    );
    await waitFor(
      'label put back',
      async () => {
        const cm = JSON.parse(await w.kubectl('-n', ns, 'get', 'configmap', 'bedrock-config', '-o', 'json'));
        return cm.metadata.labels?.['git-sync-operator.mozilla.org/managed-by'] ? true : undefined;
      },
      { timeoutMs: 20_000 },
    );
    assert.equal(op.deps.git.lsRemoteCount, 1, 'a poll ran: the repairs were not the watch’s');
    assert.ok((await seen()) - before >= 4, 'gso_drift_seen_total did not count the four edits');
    assert.ok(
      w.logs.some(
        (l) => l.includes('drift seen: repairing') && l.includes('Deployment/bedrock changed by kubectl'),
      ),
    );
  });
  await w.withOperator({ GIT_SYNC_INTERVAL: '0.5' }, async (op) => {
    const seen = recordRequests(op);
    await settled(op);
    // The first LISTs report the writers the first test left (kubectl): a pass more, then quiet.
    await quiet(seen);
    const start = { api: seen.length, lsRemote: op.deps.git.lsRemoteCount };
    await sleep(3000);
    assert.ok(op.deps.git.lsRemoteCount - start.lsRemote >= 4, 'fewer polls than expected');
    assert.deepEqual(seen.slice(start.api), [], 'idle polls sent apiserver requests');
  });
});

test('the watch cut, through an apiserver restart, and from 410 Gone: it comes back by itself and edits are still seen', async () => {
  const client = new KubeClient({ kubeconfig: w.cp.kubeconfig });
  const seen: string[] = [];
  const states: boolean[] = [];
  const kw = new KindWatch({
    client,
    collection: `/api/v1/namespaces/${ns}/configmaps`,
    kind: 'ConfigMap',
    drifted: (s) => seen.push(`${s.name}:${s.deleted ? 'deleted' : s.by}`),
    state: (up) => states.push(up),
  });
  kw.want(['bedrock-config']);
  const patch = (v: string) => patchConfigMap({ X: v });
  try {
    await waitFor('listed', async () => (states.includes(true) ? true : undefined));
    await sleep(300); // the WATCH request is open
    await patch('1');
    await waitFor('edit seen', async () => (seen.length === 1 ? true : undefined));
    assert.deepEqual(seen, ['bedrock-config:kubectl-patch']);
    // 1. The connection cut (every watch socket destroyed): resumed from the last resourceVersion.
    const staleRv = Reflect.get(kw, 'rv') as string;
    client.close();
    await sleep(200);
    await patch('2');
    await waitFor('edit after a cut seen', async () => (seen.length === 2 ? true : undefined), {
      timeoutMs: 20_000,
    });

    // 2. The apiserver (and etcd) restarted: the watch comes back by itself, and the edit made as
    // it came back is seen (by the watch, or by the LIST that follows a 410).
    await w.cp.stopApiserver();
    await sleep(1500);
    await w.cp.startApiserver();
    await patch('3');
    await waitFor('edit after the restart seen', async () => (seen.length >= 3 ? true : undefined), {
      timeoutMs: 60_000,
    });
    await waitFor('watch up again', async () => (states.at(-1) === true ? true : undefined), {
      timeoutMs: 60_000,
    });
    assert.ok(states.includes(false), 'the watch never reported itself down');

    // 3. 410 Gone: resuming from a resourceVersion older than the restarted apiserver's watch cache
    // (as after a long cut) lists again and goes on watching.
    const expired = kw.counts.expired;
    Reflect.set(kw, 'rv', staleRv);
    client.close();
    await waitFor('a 410 met', async () => (kw.counts.expired > expired ? true : undefined), {
      timeoutMs: 20_000,
    });
    const n = seen.length;
    await waitFor('watch up again after 410', async () => (states.at(-1) === true ? true : undefined));
    await sleep(300);
    await patch('4');
    await waitFor('edit after the 410 seen', async () => (seen.length > n ? true : undefined), {
      timeoutMs: 20_000,
    });
  } finally {
    await kw.stop();
    client.close();
  }
});

test('watches share HTTP/2 connections, as many streams on each as the apiserver allows', async () => {
  const client = new KubeClient({ kubeconfig: w.cp.kubeconfig });
  const stop = new AbortController();
  let opened = 0;
  const watches = Array.from({ length: 250 }, async (_, i) => {
    const path = `/api/v1/namespaces/none-${i}/configmaps?watch=1&allowWatchBookmarks=true`;
    try {
      for await (const _ of client.stream(path, stop.signal, { opened: () => opened++ })) {
      }
    } catch {}
  });
  try {
    await waitFor('250 watches open', async () => (opened === 250 ? true : undefined), { timeoutMs: 30_000 });
    // kube-apiserver allows 100 streams per connection: 250 watches on 3 connections, not 250.
    assert.deepEqual(
      (await client.watchConnections()).sort((a, b) => b - a),
      [100, 100, 50],
    );
  } finally {
    stop.abort();
    await Promise.all(watches);
    client.close();
  }
});

test('suspend and resume of a settled namespace are seen by its Version watch, with no poll between', async () => {
  await w.withOperator({ GIT_SYNC_INTERVAL: '60' }, async (op) => {
    await settled(op);
    const polls = op.deps.git.lsRemoteCount;
    const suspended = async () =>
      (await w.version(ns))?.status?.conditions?.find((c) => c.type === 'Suspended')?.status;
    assert.equal((await w.cli(['suspend', ns])).code, 0);
    await waitFor('Suspended=True', async () => ((await suspended()) === 'True' ? true : undefined), {
      timeoutMs: 20_000,
    });
    assert.equal((await w.cli(['resume', ns])).code, 0);
    await waitFor('no longer suspended', async () => ((await suspended()) !== 'True' ? true : undefined), {
      timeoutMs: 20_000,
    });
    assert.equal(op.deps.git.lsRemoteCount, polls, 'a poll ran: the watch did not see it');
  });
});
