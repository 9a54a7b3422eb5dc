// Random schedules of three replicas over six shard Leases, run through plan/settle as owner.ts
// runs them: reads, writes that land late or land although their answer was lost, partitions,
// crashes, restarts, slow release hooks. At every step no shard is worked by two replicas; after
// the faults stop, every shard is held by exactly one replica and the replicas share them evenly.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  apply,
  type Held,
  overdue,
  plan,
  released,
  type Seen,
  settle,
  timings,
  type Write,
  wishValue,
} from './plan.ts';

const shards = 6;
const replicas = 3;
const cap = Math.ceil(shards / replicas);
const t = timings(15);

interface StoredLease {
  holder: string;
  renewedAt: number;
  wantedBy: string;
  rv: number;
}

interface Replica {
  id: string;
  held: Map<number, Held>;
  /** shard → when its release hook finishes. */
  hooks: Map<number, number>;
  /** Writes planned at `now` on the resourceVersions read then (0: the Lease did not exist). */
  pending: { w: Write; rv: number; now: number }[];
  partitioned: boolean;
  alive: boolean;
}

type Step = {
  kind: 'round' | 'flush' | 'crash' | 'restart' | 'partition' | 'heal';
  r: number;
  dt: number;
  ghost: boolean;
  hookMs: number;
};

class World {
  now = 1_000_000;
  store = new Map<number, StoredLease>();
  reps: Replica[] = [];
  private born = 0;

  constructor() {
    for (let i = 0; i < replicas; i++) this.reps.push(this.replica());
  }

  replica(): Replica {
    return {
      id: `r${this.born++}`,
      held: new Map(),
      hooks: new Map(),
      pending: [],
      partitioned: false,
      alive: true,
    };
  }

  seen(): Seen[] {
    return Array.from({ length: shards }, (_, shard) => {
      const l = this.store.get(shard);
      return l
        ? {
            shard,
            exists: true,
            holder: l.holder,
            renewedAt: l.renewedAt,
            durationMs: t.durationMs,
            wantedBy: l.wantedBy,
          }
        : { shard, exists: false, holder: '', renewedAt: 0, durationMs: t.durationMs, wantedBy: '' };
    });
  }

  /** Hooks that finished, then the deadline watchdog (owner.ts runs both on timers). */
  tick(rep: Replica): void {
    for (const [shard, at] of rep.hooks)
      if (at <= this.now) {
        rep.hooks.delete(shard);
        released(rep.held, shard);
      }
    for (const shard of overdue(rep.held, this.now, t)) this.lose(rep, shard);
  }

  /** The release hook starts on a handover or a loss; a lost shard's work stops within duration - deadline. */
  private lose(rep: Replica, shard: number): void {
    const was = rep.held.get(shard);
    apply(rep.held, { kind: 'lose', shard, why: 'deadline' });
    const cut = this.now + t.durationMs - t.deadlineMs - 1;
    if (was?.state === 'owned') rep.hooks.set(shard, Math.min(this.now + 1, cut));
    else if (was?.state === 'handing' && !was.released)
      rep.hooks.set(shard, Math.min(rep.hooks.get(shard) ?? cut, cut));
  }

  round(rep: Replica, stopping: boolean, hookMs: number): void {
    if (rep.partitioned) return;
    const seen = this.seen();
    const p = plan({ identity: rep.id, now: this.now, cap, timings: t, stopping, seen, held: rep.held });
    for (const c of p.changes) {
      if (c.kind === 'lose') this.lose(rep, c.shard);
      else {
        apply(rep.held, c);
        if (c.kind === 'handOff') rep.hooks.set(c.shard, this.now + hookMs);
      }
    }
    for (const w of p.writes) rep.pending.push({ w, rv: this.store.get(w.shard)?.rv ?? 0, now: this.now });
  }

  /** Sends the replica's pending writes; partitioned, each fails, but a ghost one still lands. */
  flush(rep: Replica, ghost: boolean): void {
    for (const { w, rv, now } of rep.pending.splice(0)) {
      if (rep.partitioned && !ghost) continue;
      const ok = this.write(rep.id, w, rv, now);
      if (ok && !rep.partitioned) settle(rep.held, w, { now, at: this.now, timings: t });
    }
  }

  private write(id: string, w: Write, rv: number, now: number): boolean {
    const l = this.store.get(w.shard);
    if ((l?.rv ?? 0) !== rv) return false;
    const next = {
      rv: rv + 1,
      wantedBy: l?.wantedBy ?? '',
      holder: l?.holder ?? '',
      renewedAt: l?.renewedAt ?? 0,
    };
    if (w.kind === 'want') next.wantedBy = wishValue(id, now);
    else if (w.kind === 'renew') Object.assign(next, { holder: id, renewedAt: now });
    else if (w.kind === 'take') Object.assign(next, { holder: id, renewedAt: now, wantedBy: '' });
    else if (w.kind === 'open') Object.assign(next, { holder: '', renewedAt: now });
    else Object.assign(next, { holder: w.to, renewedAt: now, wantedBy: '' });
    this.store.set(w.shard, next);
    return true;
  }

  /** Replicas working each shard: owned, or its release hook still running. */
  workers(shard: number): string[] {
    return this.reps
      .filter((r) => r.alive && (r.held.get(shard)?.state === 'owned' || r.hooks.has(shard)))
      .map((r) => r.id);
  }

  step(s: Step): void {
    this.now += s.dt;
    const rep = this.reps[s.r] as Replica;
    for (const r of this.reps) if (r.alive) this.tick(r);
    this.check();
    if (s.kind === 'crash') rep.alive = false;
    else if (s.kind === 'restart' && !rep.alive) this.reps[s.r] = this.replica();
    else if (s.kind === 'partition') rep.partitioned = true;
    else if (s.kind === 'heal') rep.partitioned = false;
    else if (rep.alive && s.kind === 'round') this.round(rep, false, s.hookMs);
    else if (rep.alive && s.kind === 'flush') this.flush(rep, s.ghost);
  }

  /** Everyone alive and connected, rounds and writes in turn, time moving a round at a time. */
  settleDown(rounds: number): void {
    for (const r of this.reps) {
      if (!r.alive) Object.assign(r, this.replica());
      r.partitioned = false;
    }
    for (let i = 0; i < rounds; i++) {
      this.now += t.renewMs / 2;
      for (const r of this.reps) {
        this.tick(r);
        this.flush(r, false);
        this.round(r, false, 10);
        this.flush(r, false);
      }
      this.check();
    }
  }

  check(): void {
    for (let shard = 0; shard < shards; shard++) {
      const on = this.workers(shard);
      assert.ok(on.length <= 1, `shard ${shard} worked by ${on.join(' and ')} at ${this.now}`);
    }
  }
}

const stepArb: fc.Arbitrary<Step> = fc.record({
  kind: fc.constantFrom(
    ...([
      'round',
      'round',
      'round',
      'flush',
      'flush',
      'flush',
      'partition',
      'heal',
      'crash',
      'restart',
    ] as const),
  ),
  r: fc.integer({ min: 0, max: replicas - 1 }),
  dt: fc.integer({ min: 0, max: t.renewMs }),
  ghost: fc.boolean(),
  hookMs: fc.integer({ min: 0, max: 2 * t.durationMs }),
});

describe('shard plan over random schedules of 3 replicas and 6 shards', () => {
  it('never lets two replicas work one shard, and settles to one holder per shard, evenly shared', () => {
    fc.assert(
      fc.property(fc.array(stepArb, { minLength: 20, maxLength: 400 }), (steps) => {
        const w = new World();
        for (const s of steps) {
          w.step(s);
          w.check();
        }
        w.settleDown(40);
        const counts = w.reps.map((r) => [...r.held.values()].filter((h) => h.state === 'owned').length);
        for (let shard = 0; shard < shards; shard++)
          assert.equal(w.workers(shard).length, 1, `shard ${shard}`);
        assert.deepEqual(counts, [cap, cap, cap], `owned per replica after the faults: ${counts.join(', ')}`);
      }),
      { numRuns: 300 },
    );
  });
});
