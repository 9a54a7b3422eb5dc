// Shards across replicas on the real control plane: ShardOwners in-process, each on its own
// KubeClient, share six shard Leases. Every owner records when it worked each shard (from
// `acquired` to the end of its `release` hook, which takes a while, as draining work would); no
// two of those intervals for one shard overlap, through convergence, a crash, a restart that
// rebalances by handover, an apiserver that stops answering one owner, and shutdown.
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { KubeClient } from '../../src/kube/client.ts';
import { createLogger } from '../../src/log.ts';
import { shardLeaseName } from '../../src/shard/leases.ts';
import { type ReleaseReason, ShardOwner } from '../../src/shard/owner.ts';
import { type ControlPlane, startControlPlane } from '../../testbed/controlplane.ts';
import { waitFor } from '../../testbed/proc.ts';

const ns = 'gso-shards';
/** The second test's Leases live apart: it never depends on how the first one ended. */
const ns2 = 'gso-shards-relayed';
/**
 * Seconds: rounds every 2 s, a holder gives up after 4 s, a claim runs out after 6 s (3 s left
 * rounds of a loaded 2-core test machine too little slack: a round's requests cut at the deadline).
 */
const duration = 6;
const renewMs = (duration * 1000) / 3;
/** How long a release hook takes (draining a shard's work). */
const drainMs = 200;

let cp: ControlPlane;
before(async () => {
  cp = await startControlPlane();
  await cp.createNamespace(ns);
  await cp.createNamespace(ns2);
});
after(async () => {
  await cp?.stop();
});

interface Interval {
  owner: string;
  shard: number;
  start: number;
  end?: number;
  why?: ReleaseReason;
}

interface Running {
  owner: ShardOwner;
  stop: AbortController;
  loop: Promise<void>;
}

/** Owners started in one test, their work intervals and log lines. */
class Fleet {
  readonly intervals: Interval[] = [];
  readonly logs: Record<string, unknown>[] = [];
  private readonly log = createLogger(
    'info',
    new Writable({
      write: (chunk: Buffer, _enc, cb) => {
        for (const l of chunk.toString().split('\n').filter(Boolean)) this.logs.push(JSON.parse(l));
        cb();
      },
    }),
  );

  private readonly started: { owner: ShardOwner; client: KubeClient }[] = [];

  constructor(private readonly opts: { shards: number; replicas: number; namespace: string }) {}

  start(identity: string, kubeconfig = cp.kubeconfig): Running {
    const client = new KubeClient({ kubeconfig });
    const owner = new ShardOwner(client, { durationSeconds: duration, identity, ...this.opts }, this.log);
    this.started.push({ owner, client });
    const stop = new AbortController();
    const loop = owner.run(stop.signal, {
      acquired: (shard) => {
        this.intervals.push({ owner: identity, shard, start: Date.now() });
      },
      release: async (shard, why) => {
        await sleep(drainMs);
        this.close(identity, shard, Date.now(), why);
      },
    });
    return { owner, stop, loop };
  }

  /** A SIGKILL: its work stops now, its Leases are left to run out. */
  crash(r: Running): number {
    const at = Date.now();
    r.owner.crash();
    for (const i of this.intervals) if (i.owner === r.owner.identity && i.end === undefined) i.end = at;
    return at;
  }

  close(owner: string, shard: number, end: number, why: ReleaseReason): void {
    const open = this.intervals.find((i) => i.owner === owner && i.shard === shard && i.end === undefined);
    assert.ok(open, `${owner} released shard ${shard} it had not acquired`);
    Object.assign(open, { end, why });
  }

  /** For each shard, the intervals of different owners never overlap. */
  assertNoOverlap(): void {
    for (let shard = 0; shard < this.opts.shards; shard++) {
      const mine = this.intervals.filter((i) => i.shard === shard).sort((a, b) => a.start - b.start);
      for (let k = 1; k < mine.length; k++) {
        const [a, b] = [mine[k - 1] as Interval, mine[k] as Interval];
        assert.ok(
          a.end !== undefined && a.end <= b.start,
          `shard ${shard}: ${a.owner} worked it until ${a.end ?? 'now'}, ${b.owner} from ${b.start}`,
        );
      }
    }
  }

  /** Whatever the test's outcome: every owner stopped at once (no loop left to keep the file alive). */
  end(): void {
    for (const { owner, client } of this.started) {
      owner.crash();
      client.close();
    }
  }

  said(msg: string): Record<string, unknown>[] {
    return this.logs.filter((l) => l.msg === msg);
  }
}

const sizes = (rs: Running[]) => rs.map((r) => r.owner.held().size);

/** Waits until the owners hold these many shards each, all shards distinct. */
async function holding(rs: Running[], want: number[], timeoutMs = 30_000): Promise<void> {
  await waitFor(
    `shards held ${want.join('/')}`,
    async () => {
      const all = rs.flatMap((r) => [...r.owner.held()]);
      return sizes(rs).every((n, i) => n === want[i]) && new Set(all).size === all.length ? true : undefined;
    },
    { timeoutMs, intervalMs: 20 },
  );
}

async function holderOf(shard: number, namespace = ns): Promise<{ holder: string; renewedAt: number }> {
  const res = await cp.request(
    'GET',
    `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases/${shardLeaseName(shard)}`,
  );
  const spec = (res.body as { spec: { holderIdentity?: string; renewTime?: string } }).spec;
  return { holder: spec.holderIdentity ?? '', renewedAt: Date.parse(spec.renewTime ?? '') || 0 };
}

async function stopAll(rs: Running[]): Promise<void> {
  for (const r of rs) r.stop.abort();
  await Promise.all(rs.map((r) => r.loop));
}

test('three owners share six shards, take a crashed one’s within a claim and a round, and rebalance by handover', async () => {
  const fleet = new Fleet({ shards: 6, replicas: 3, namespace: ns });
  try {
    const a = fleet.start('replica-a');
    const b = fleet.start('replica-b');
    const c = fleet.start('replica-c');
    await holding([a, b, c], [2, 2, 2]);
    for (const r of [a, b, c])
      for (const shard of r.owner.held()) assert.equal((await holderOf(shard)).holder, r.owner.identity);

    // c dies without a word: a and b (both at their share) take its shards once its claims have run
    // out and stayed unclaimed for a round.
    const killedAt = fleet.crash(c);
    await waitFor(
      'a and b hold all six shards',
      async () => (new Set([...a.owner.held(), ...b.owner.held()]).size === 6 ? true : undefined),
      { timeoutMs: 30_000, intervalMs: 20 },
    );
    const movedMs = Date.now() - killedAt;
    assert.ok(movedMs <= duration * 1000 + renewMs + 1000, `c's shards moved after ${movedMs} ms`);
    assert.ok(movedMs >= duration * 1000 - renewMs, `c's shards moved after only ${movedMs} ms`);

    // A new replica asks for shards; a and b, above their share, hand them over.
    const handedBefore = fleet.said('shard handed over').length;
    const c2 = fleet.start('replica-c2');
    const joinedAt = Date.now();
    await holding([a, b, c2], [2, 2, 2]);
    const rebalanceMs = Date.now() - joinedAt;
    const handed = fleet.said('shard handed over').slice(handedBefore);
    fleet.assertNoOverlap();
    assert.equal(handed.length, 2, JSON.stringify(handed));
    for (const h of handed) assert.equal(h.to, 'replica-c2');
    assert.equal(fleet.said('shard lost').length, 0, 'nothing was lost: c crashed, the rest handed over');

    await stopAll([a, b, c2]);
    for (let shard = 0; shard < 6; shard++)
      assert.equal((await holderOf(shard)).holder, '', `shard ${shard} freed`);
    assert.ok(fleet.intervals.every((i) => i.end !== undefined));
    fleet.assertNoOverlap();
    console.log(`c's shards moved in ${movedMs} ms; c2 got its share in ${rebalanceMs} ms`);
  } finally {
    fleet.end();
  }
});

/** A TCP relay to the apiserver that can stop forwarding: requests through it hang, unanswered. */
async function relay(target: URL): Promise<{ port: number; hang(): void; heal(): void; close(): void }> {
  let hung = false;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    sockets.add(client);
    client.on('error', () => {});
    client.on('close', () => sockets.delete(client));
    if (hung) return;
    const up = connect(Number(target.port), target.hostname);
    sockets.add(up);
    up.on('error', () => client.destroy());
    up.on('close', () => sockets.delete(up));
    client.pipe(up).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    hang() {
      hung = true;
      for (const s of sockets) {
        s.unpipe();
        s.pause();
      }
    },
    heal() {
      hung = false;
      for (const s of sockets) s.destroy();
    },
    close() {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

test('an owner whose apiserver stops answering drops its shard before its claim runs out, and rejoins', async () => {
  const fleet = new Fleet({ shards: 2, replicas: 2, namespace: ns2 });
  const r = await relay(new URL(cp.server));
  const kubeconfig = `${cp.dir}/relayed.kubeconfig`;
  await writeFile(
    kubeconfig,
    (await readFile(cp.kubeconfig, 'utf8')).replace(cp.server, `https://127.0.0.1:${r.port}`),
  );
  try {
    const p = fleet.start('replica-p', kubeconfig);
    const q = fleet.start('replica-q');
    await holding([p, q], [1, 1]);
    const [shard] = [...p.owner.held()] as [number];

    r.hang();
    const hungAt = Date.now();
    await sleep(100);
    // The last renewal of p's that reached the apiserver: its claim runs out `duration` after it.
    const last = await holderOf(shard, ns2);
    assert.equal(last.holder, 'replica-p');
    await holding([p, q], [0, 2]);

    const dropped = fleet.intervals.find(
      (i) => i.owner === 'replica-p' && i.shard === shard && i.end !== undefined && i.end >= hungAt,
    );
    assert.equal(dropped?.why, 'lost');
    const endedMs = (dropped?.end ?? Infinity) - last.renewedAt;
    assert.ok(endedMs < duration * 1000, `p worked the shard until ${endedMs} ms after its last renewal`);
    assert.ok(
      (dropped?.end ?? 0) - hungAt <= (duration * 2000) / 3 + drainMs + 500,
      'p dropped it by its deadline',
    );
    // q's tenure after the hang (it may have held the shard once before, while the two converged).
    const taken = fleet.intervals.find(
      (i) => i.owner === 'replica-q' && i.shard === shard && i.start >= hungAt,
    );
    assert.ok(
      taken && taken.start - last.renewedAt >= duration * 1000,
      'q took it only after p’s claim ran out',
    );

    r.heal();
    await holding([p, q], [1, 1]);
    await stopAll([p, q]);
    fleet.assertNoOverlap();
    console.log(
      `p stopped ${endedMs} ms after its last renewal; q took over ${taken.start - last.renewedAt} ms after it`,
    );
  } finally {
    fleet.end();
    r.close();
  }
});
