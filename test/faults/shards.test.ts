// Shards across replicas, on the real control plane with real `run` processes: three replicas
// split six namespaces (SHARDS=3); one is SIGKILLed in the middle of a rollout and its shard goes
// to another within the lease duration plus one poll; a replacement gets a shard back by handover;
// every commit is deployed with its S3 file; and no namespace is ever worked by two replicas at
// once — judged from every replica's own log lines, not from the shard code's word.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { shardOf } from '../../src/shard/hash.ts';
import { short } from '../../src/source/sha.ts';
import { waitFor } from '../../testbed/proc.ts';
import { appFiles, seedRepo } from '../../testbed/seed.ts';
import { type RunProcess, startRun, within } from '../support/processes.ts';
import { grantOperator, startWorld, type World } from '../support/world.ts';

const namespaces = ['sh-a', 'sh-b', 'sh-c', 'sh-d', 'sh-e', 'sh-f'];
const shards = 3;
/** LEASE_DURATION (s): rounds every 2 s; GIT_SYNC_INTERVAL is the world's 1 s. */
const lease = 6;
const poll = 1;

let w: World;

before(async () => {
  w = await startWorld({ namespaces, files: seedRepo('iowa-a', namespaces) });
});
after(async () => {
  await w?.stop();
});

const extra = {
  SHARDS: String(shards),
  LEASE_DURATION: String(lease),
  LEASE_NAMESPACE: 'sh-a',
  LOG_LEVEL: 'debug',
};

type Line = { time?: string; msg?: string; namespace?: string; shard?: number; [k: string]: unknown };

const held = async (p: RunProcess) => {
  const text = await (await fetch(`${p.url}/metrics`)).text();
  return Number(/^gso_shards_held (\S+)$/m.exec(text)?.[1] ?? Number.NaN);
};

/** Per namespace, the first and last moment each process logged anything about it. */
async function tenures(procs: Map<string, RunProcess>): Promise<Map<string, [string, number, number][]>> {
  const byNs = new Map<string, [string, number, number][]>();
  for (const [name, p] of procs) {
    const spans = new Map<string, [number, number]>();
    for (const l of (await p.logs()) as Line[]) {
      if (!l.namespace || !l.time) continue;
      const t = Date.parse(l.time);
      const s = spans.get(l.namespace);
      spans.set(l.namespace, s ? [Math.min(s[0], t), Math.max(s[1], t)] : [t, t]);
    }
    for (const [ns, [a, b]] of spans) byNs.set(ns, [...(byNs.get(ns) ?? []), [name, a, b]]);
  }
  return byNs;
}

/** Each namespace's tenures (first to last line about it, per process) are pairwise disjoint. */
function assertNoOverlap(byNs: Map<string, [string, number, number][]>): void {
  for (const [ns, spans] of byNs)
    for (const [a, a0, a1] of spans)
      for (const [b, b0, b1] of spans)
        if (a < b)
          assert.ok(
            a1 < b0 || b1 < a0,
            `${ns} worked by ${a} [${a0}, ${a1}] and ${b} [${b0}, ${b1}] at once`,
          );
}

/** The process that logged about `ns` at `sha` first (the holder of its shard at work on it). */
function workingOn(procs: Map<string, RunProcess>, ns: string, sha: string): Promise<string> {
  return waitFor(`the holder of ${ns} at work on ${short(sha)}`, async () => {
    for (const [name, p] of procs)
      if (((await p.logs()) as Line[]).some((l) => l.namespace === ns && l.sha === short(sha))) return name;
    return undefined;
  });
}

/** The first replica but `victim` to log that it took `shard` after `since`, and when. */
function takenBy(
  procs: Map<string, RunProcess>,
  o: { victim: string; shard: number; since: number },
): Promise<{ name: string; at: number }> {
  return waitFor(
    'another replica takes the shard',
    async () => {
      for (const [name, p] of procs) {
        if (name === o.victim) continue;
        const l = ((await p.logs()) as Line[]).find(
          (x) =>
            x.msg === 'shard acquired' && x.shard === o.shard && Date.parse(x.time ?? '') >= o.since - 500,
        );
        if (l) return { name, at: Date.parse(l.time ?? '') };
      }
      return undefined;
    },
    { timeoutMs: 30_000, intervalMs: 100 },
  );
}

/** A commit giving every namespace `image`. */
function rollOut(image: string): Promise<string> {
  const files = Object.assign({}, ...namespaces.map((ns) => appFiles(`iowa-a/${ns}`, 'bedrock', { image })));
  return w.repo.commit(files, image);
}

/** Every namespace deployed at `sha`, with its S3 file. */
async function deployedEverywhere(sha: string): Promise<void> {
  for (const ns of namespaces) {
    await w.waitVersion(ns, `${ns} deployed at ${short(sha)}`, (v) => v.deployed === short(sha), 120_000);
    assert.ok(
      await w.s3.getObject(`iowa-a/${ns}/bedrock/${short(sha)}`),
      `${ns}: no S3 file for ${short(sha)}`,
    );
  }
}

/** Until every process holds `n` shards. */
function holding(procs: RunProcess[], n: number): Promise<true> {
  return waitFor(
    `${n} shard(s) each`,
    async () => ((await Promise.all(procs.map(held))).every((c) => c === n) ? true : undefined),
    { timeoutMs: 60_000 },
  );
}

test('three replicas share six namespaces; one SIGKILLed mid-rollout: its shard moves within the lease plus a poll, every commit is deployed once, no namespace is worked by two at once', async () => {
  const procs = new Map<string, RunProcess>();
  for (const name of ['r1', 'r2', 'r3']) procs.set(name, await startRun(w, name, extra));
  try {
    await deployedEverywhere(await w.repo.head());
    await holding([...procs.values()], 1);

    // A new image everywhere, and the holder of sh-a's shard killed while it rolls out.
    const sha = await rollOut('mozmeao/bedrock:2');
    const victim = await workingOn(procs, 'sh-a', sha);
    await procs.get(victim)?.kill();
    const killedAt = Date.now();
    const taker = await takenBy(procs, { victim, shard: shardOf('sh-a', shards), since: killedAt });
    // Within the lease duration plus one poll (and a second of slack for a loaded test machine).
    assert.ok(
      taker.at - killedAt <= (lease + poll + 1) * 1000,
      `the shard moved ${taker.at - killedAt} ms after the kill`,
    );
    await deployedEverywhere(sha);

    // A replacement starts: it gets a shard by handover (the taker is above its share of 1).
    const r4 = await startRun(w, 'r4', extra);
    procs.set('r4', r4);
    await holding([r4], 1);
    await deployedEverywhere(await rollOut('mozmeao/bedrock:3'));

    // No namespace worked by two processes at once, judged from every process's own log lines.
    const byNs = await tenures(procs);
    assertNoOverlap(byNs);
    // sh-a's work moved with its shard: the victim's, then the taker's.
    const shA = byNs.get('sh-a')?.map(([n]) => n) ?? [];
    assert.ok(shA.includes(victim) && shA.includes(taker.name), `sh-a worked by ${shA.join(', ')}`);
  } finally {
    for (const p of procs.values()) await p.stop();
  }
});

test('a replica that may not use the shard Leases (no RBAC there) says so and stops, as one that lost its lease', async () => {
  // The generated RBAC in sh-b only; the Leases live in sh-a, where this ServiceAccount has none.
  const impersonate = await grantOperator(w, 'no-leases', 'sh-b', ['sh-b']);
  const op = w.operator({ ...extra, MANAGED_NAMESPACES: 'sh-b' }, { impersonate });
  try {
    await assert.rejects(
      within('run() ending', 30_000, op.run(new AbortController().signal)),
      /shard leases in namespace sh-a: .*forbidden/i,
    );
  } finally {
    op.close();
  }
});
