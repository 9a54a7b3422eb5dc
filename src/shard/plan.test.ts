import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Held, plan, type Round, type Seen, timings, wishValue } from './plan.ts';

const t = timings(15);
const now = 1_000_000;

/** A Lease read now; `wantedBy` names a wish made now. */
const lease = (shard: number, holder = '', ago = 0, wantedBy = ''): Seen => ({
  shard,
  exists: true,
  holder,
  renewedAt: now - ago,
  durationMs: t.durationMs,
  wantedBy: wantedBy && wishValue(wantedBy, now),
});

const round = (seen: Seen[], held: [number, Held][] = [], over: Partial<Round> = {}): Round => ({
  identity: 'me',
  now,
  cap: 2,
  timings: t,
  stopping: false,
  seen,
  held: new Map(held),
  ...over,
});

const owned = (ago = 0): Held => ({ state: 'owned', renewedAt: now - ago });

describe('plan', () => {
  it('renews every third of the duration and gives up after two thirds', () => {
    assert.deepEqual(t, { durationMs: 15_000, renewMs: 5000, deadlineMs: 10_000 });
  });

  it('below its share, takes free and run-out shards up to it; creates a missing one', () => {
    const missing: Seen = { ...lease(2), exists: false, renewedAt: 0 };
    const p = plan(round([lease(0, 'other', 16_000), missing, lease(1, 'other', 1000)]));
    const takes = p.writes.map((w) => (w.kind === 'take' ? `${w.shard}:${w.create}` : w.kind)).sort();
    assert.deepEqual(takes, ['0:false', '2:true']);
  });

  it('at its share, takes a run-out shard only after it stayed unclaimed for a round, and opens a missing one', () => {
    const held: [number, Held][] = [
      [0, owned()],
      [1, owned()],
    ];
    const mine = [lease(0, 'me'), lease(1, 'me')];
    const justRanOut = plan(round([...mine, lease(2, 'dead', t.durationMs + 1000)], held));
    assert.deepEqual(
      justRanOut.writes.filter((w) => w.kind !== 'renew'),
      [],
    );
    const longer = plan(round([...mine, lease(2, 'dead', t.durationMs + t.renewMs)], held));
    assert.deepEqual(
      longer.writes.filter((w) => w.kind !== 'renew'),
      [{ kind: 'take', shard: 2, create: false }],
    );
    const missing = plan(round([...mine, { ...lease(3), exists: false }], held));
    assert.deepEqual(
      missing.writes.filter((w) => w.kind !== 'renew'),
      [{ kind: 'open', shard: 3 }],
    );
  });

  it('below its share with nothing free, asks a holder above its share, once per missing shard', () => {
    const seen = [lease(0, 'big'), lease(1, 'big'), lease(2, 'big'), lease(3, 'ok'), lease(4, 'ok')];
    const wants = plan(round(seen)).writes.filter((w) => w.kind === 'want');
    assert.equal(wants.length, 1);
    assert.ok([0, 1, 2].includes(wants[0]?.shard ?? -1));
    const asked = seen.map((s) => (s.shard === 0 ? { ...s, wantedBy: wishValue('me', now) } : s));
    assert.deepEqual(plan(round(asked)).writes, [], 'a standing wish is not repeated');
    // Said again before it goes stale, while its author lives.
    const older = seen.map((s) =>
      s.shard === 0 ? { ...s, wantedBy: wishValue('me', now - 2 * t.durationMs) } : s,
    );
    assert.deepEqual(plan(round(older)).writes, [{ kind: 'want', shard: 0 }]);
  });

  it('a wish not said again for three lease durations is stale: its author may be dead', () => {
    const held: [number, Held][] = [
      [0, owned()],
      [1, owned()],
      [2, owned()],
    ];
    const stale = wishValue('gone', now - 3 * t.durationMs);
    const p = plan(round([{ ...lease(0, 'me'), wantedBy: stale }, lease(1, 'me'), lease(2, 'me')], held));
    assert.deepEqual(
      p.changes.filter((c) => c.kind === 'handOff'),
      [],
      'handed to a replica that stopped asking',
    );
    // Another replica below its share may ask for that shard in its place.
    const big = [{ ...lease(0, 'big'), wantedBy: stale }, lease(1, 'big'), lease(2, 'big')];
    const wants = plan(round([...big, lease(3, 'ok'), lease(4, 'ok')])).writes.filter(
      (w) => w.kind === 'want',
    );
    assert.equal(wants.length, 1);
  });

  it('above its share, hands a wanted shard to a replica below its share, renewing it meanwhile', () => {
    const held: [number, Held][] = [
      [0, owned()],
      [1, owned()],
      [2, owned()],
    ];
    const p = plan(round([lease(0, 'me', 0, 'hungry'), lease(1, 'me'), lease(2, 'me')], held));
    assert.deepEqual(p.changes, [{ kind: 'handOff', shard: 0, to: 'hungry' }]);
    assert.ok(p.writes.some((w) => w.kind === 'renew' && w.shard === 0));
    const atShare = plan(round([lease(0, 'me', 0, 'hungry'), lease(1, 'me')], held.slice(0, 2)));
    assert.deepEqual(atShare.changes, [], 'at its share it keeps the shard');
  });

  it('transfers a handed-over shard only once its release hook is done', () => {
    const seen = [lease(0, 'me', 0, 'hungry')];
    const running: Held = { state: 'handing', renewedAt: now, to: 'hungry', released: false };
    assert.deepEqual(plan(round(seen, [[0, running]])).writes, [{ kind: 'renew', shard: 0 }]);
    const done: Held = { ...running, released: true };
    assert.deepEqual(plan(round(seen, [[0, done]])).writes, [{ kind: 'transfer', shard: 0, to: 'hungry' }]);
  });

  it('drops a shard another replica holds, and one not renewed by the deadline', () => {
    const p = plan(
      round(
        [lease(0, 'other'), lease(1, 'me', t.deadlineMs)],
        [
          [0, owned()],
          [1, owned(t.deadlineMs)],
        ],
      ),
    );
    assert.deepEqual(p.changes, [
      { kind: 'lose', shard: 0, why: 'taken' },
      { kind: 'lose', shard: 1, why: 'deadline' },
    ]);
  });

  it('stopping, hands everything back and takes nothing', () => {
    const p = plan(round([lease(0, 'me'), lease(1)], [[0, owned()]], { stopping: true }));
    assert.deepEqual(p.changes, [{ kind: 'handOff', shard: 0, to: '' }]);
    assert.deepEqual(p.writes, [{ kind: 'renew', shard: 0 }]);
  });
});
