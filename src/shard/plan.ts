// What one replica does with the shard Leases in one round: a pure function of what it read, what
// it holds and the time, so random schedules of replicas can check it (plan.property.test.ts).
// owner.ts does the reading, the writing and the hooks around it.
import { fnv1a } from './hash.ts';

export interface Timings {
  /** A claim lasts this long without renewal (the Lease's leaseDurationSeconds). */
  durationMs: number;
  /** A round (read every shard Lease, renew, take, hand over) runs this often. */
  renewMs: number;
  /**
   * A holder that has not renewed for this long stops working the shard. Shorter than the
   * duration: the release hook has the difference to stop the work before another replica may
   * take the shard.
   */
  deadlineMs: number;
}

/** Rounds every third of the duration, give up after two thirds (client-go: 15 s, 10 s, 2 s). */
export function timings(durationSeconds: number): Timings {
  const durationMs = durationSeconds * 1000;
  return { durationMs, renewMs: durationMs / 3, deadlineMs: (durationMs * 2) / 3 };
}

/** One shard Lease as a round read it. */
export interface Seen {
  shard: number;
  /** false: the Lease does not exist yet (404). */
  exists: boolean;
  /** '' when nobody holds it. */
  holder: string;
  /** renewTime in ms since the epoch (0 when unset). */
  renewedAt: number;
  durationMs: number;
  /**
   * A replica below its share asks the holder for this shard: `identity@ms` when it asked ('' when
   * none does). A wish not said again for three lease durations is stale: its author may have died.
   */
  wantedBy: string;
}

/** How a wish is written: who asks, and when (ms since the epoch). */
export const wishValue = (identity: string, now: number): string => `${identity}@${now}`;

/** The replica a Lease's wish names and when it asked, while fresh; undefined when none or stale. */
export function wishOf(s: Seen, now: number, t: Timings): { by: string; at: number } | undefined {
  const cut = s.wantedBy.lastIndexOf('@');
  const at = Number(s.wantedBy.slice(cut + 1));
  if (cut <= 0 || !Number.isFinite(at) || now - at >= 3 * t.durationMs) return undefined;
  return { by: s.wantedBy.slice(0, cut), at };
}

/** This replica's side of a shard it holds. */
export type Held =
  /** Working it; `renewedAt` is the renewTime this replica last wrote. */
  | { state: 'owned'; renewedAt: number }
  /** Its release hook runs (or ran: `released`) while the Lease is still renewed; then it goes to `to`. */
  | { state: 'handing'; renewedAt: number; to: string; released: boolean }
  /** Lost (taken, or not renewed in time): its release hook runs; the Lease is not ours to touch. */
  | { state: 'lost' };

export interface Round {
  identity: string;
  now: number;
  /** How many shards this replica aims at: ceil(shards / replicas). */
  cap: number;
  timings: Timings;
  /** Shutting down: hand everything back, take nothing. */
  stopping: boolean;
  /** The Leases read this round; a shard whose read failed is absent (left as it is). */
  seen: readonly Seen[];
  held: ReadonlyMap<number, Held>;
}

/** A write to one shard Lease (each on the read resourceVersion: 409 means someone moved first). */
export type Write =
  /** holderIdentity stays us, renewTime now (also: accept a Lease handed to us). */
  | { kind: 'renew'; shard: number }
  /** A free or run-out Lease becomes ours (`create`: it does not exist yet). */
  | { kind: 'take'; shard: number; create: boolean }
  /** Create the Lease free, so how long it has stayed unclaimed can be told. */
  | { kind: 'open'; shard: number }
  /** Annotate the Lease of a holder above its share: wanted by us. */
  | { kind: 'want'; shard: number }
  /** Give the Lease to `to` ('' frees it) once our release hook is done. */
  | { kind: 'transfer'; shard: number; to: string };

/** A change of this replica's own state, decided without a write. */
export type Change =
  /** Start handing over: stop working it (release hook), keep renewing until the hook is done. */
  | { kind: 'handOff'; shard: number; to: string }
  /** Stop working it now (release hook): another replica took it, or it was not renewed in time. */
  | { kind: 'lose'; shard: number; why: 'taken' | 'deadline' }
  /** A handover we finished (the Lease names the new holder): nothing left to do. */
  | { kind: 'forget'; shard: number };

export interface Plan {
  changes: Change[];
  writes: Write[];
}

/** Somebody holds the Lease and the claim has not run out at `now`. */
export const live = (s: Seen, now: number): boolean => s.holder !== '' && s.renewedAt + s.durationMs >= now;

/** Since when nobody holds the shard: freed at renewTime, or its holder's claim ran out. */
export function unclaimedSince(s: Seen, now: number): number | undefined {
  if (!s.exists) return undefined;
  if (s.holder === '') return s.renewedAt;
  return live(s, now) ? undefined : s.renewedAt + s.durationMs;
}

/** Shards held (owned or handing) whose last renewal is older than the deadline. */
export function overdue(held: ReadonlyMap<number, Held>, now: number, t: Timings): number[] {
  const late: number[] = [];
  for (const [shard, h] of held)
    if (h.state !== 'lost' && h.renewedAt + t.deadlineMs <= now) late.push(shard);
  return late;
}

/** This round's changes and writes. */
export function plan(r: Round): Plan {
  const seen = new Map(r.seen.map((s) => [s.shard, s]));
  const changes = ownChanges(r, seen);
  const after = new Map(r.held);
  for (const c of changes) apply(after, c);
  const owned = [...after].filter(([, h]) => h.state === 'owned').map(([s]) => s);
  const handOffs = r.stopping
    ? owned.map((shard): Change => ({ kind: 'handOff', shard, to: '' }))
    : handOffsWanted(r, seen, owned);
  for (const c of handOffs) apply(after, c);
  const writes = [...keepWrites(r, seen, after), ...(r.stopping ? [] : newWrites(r, after))];
  return { changes: [...changes, ...handOffs], writes };
}

/** What became of the shards we hold, from the Leases read and the clock. */
function ownChanges(r: Round, seen: ReadonlyMap<number, Seen>): Change[] {
  const late = new Set(overdue(r.held, r.now, r.timings));
  const changes: Change[] = [];
  for (const [shard, h] of r.held) {
    if (h.state === 'lost') continue;
    const done = h.state === 'handing' && h.released;
    if (late.has(shard)) {
      // Released already: nothing runs that the lapse could let overlap; the Lease runs out.
      changes.push(done ? { kind: 'forget', shard } : { kind: 'lose', shard, why: 'deadline' });
      continue;
    }
    const s = seen.get(shard);
    if (!s || s.holder === r.identity) continue;
    if (done) changes.push({ kind: 'forget', shard });
    else changes.push({ kind: 'lose', shard, why: 'taken' });
  }
  return changes;
}

/** Above our share: hand shards that a replica below its share asked for. */
function handOffsWanted(r: Round, seen: ReadonlyMap<number, Seen>, owned: number[]): Change[] {
  const counts = holderCounts(r.seen, r.now);
  let extra = owned.length - r.cap;
  const out: Change[] = [];
  for (const shard of owned) {
    if (extra <= 0) break;
    const s = seen.get(shard);
    const by = (s && wishOf(s, r.now, r.timings)?.by) ?? '';
    // A wish from a replica that has since reached its share is stale: keep the shard.
    if (by === '' || by === r.identity || (counts.get(by) ?? 0) >= r.cap) continue;
    out.push({ kind: 'handOff', shard, to: by });
    extra--;
  }
  return out;
}

/** Renewals of what we hold, transfers of what we released, and Leases handed to us. */
function keepWrites(r: Round, seen: ReadonlyMap<number, Seen>, held: ReadonlyMap<number, Held>): Write[] {
  const writes: Write[] = [];
  for (const [shard, h] of held) {
    if (h.state === 'lost' || seen.get(shard)?.holder !== r.identity) continue;
    if (h.state === 'handing' && h.released) writes.push({ kind: 'transfer', shard, to: h.to });
    else writes.push({ kind: 'renew', shard });
  }
  for (const s of r.seen) {
    if (held.has(s.shard) || s.holder !== r.identity || !live(s, r.now)) continue;
    // Handed to us (or a renewal we gave up on that landed): nobody else may hold it, accept it.
    writes.push(
      r.stopping ? { kind: 'transfer', shard: s.shard, to: '' } : { kind: 'renew', shard: s.shard },
    );
  }
  return writes;
}

/** Takes of free or run-out shards, then wishes for shards of replicas above their share. */
function newWrites(r: Round, held: ReadonlyMap<number, Held>): Write[] {
  const accepted = r.seen.filter((s) => !held.has(s.shard) && s.holder === r.identity && live(s, r.now));
  let load = [...held.values()].filter((h) => h.state === 'owned').length + accepted.length;
  const writes: Write[] = [];
  for (const s of byPreference(r.seen, r.identity)) {
    if (held.has(s.shard) || (s.exists && unclaimedSince(s, r.now) === undefined)) continue;
    const since = unclaimedSince(s, r.now);
    if (load < r.cap) {
      writes.push({ kind: 'take', shard: s.shard, create: !s.exists });
      load++;
    } else if (since === undefined) writes.push({ kind: 'open', shard: s.shard });
    // At our share, still take a shard nobody took for a round: fewer replicas run than configured.
    else if (r.now >= since + r.timings.renewMs) writes.push({ kind: 'take', shard: s.shard, create: false });
  }
  return [...writes, ...wishes(r, load)];
}

/** Below our share with nothing free: ask holders above theirs for one shard each missing. */
function wishes(r: Round, load: number): Write[] {
  const counts = holderCounts(r.seen, r.now);
  // Our wishes that can still be granted: on a holder above its share. One on a holder that has
  // come down to its share never will be; it is left to go stale and we ask elsewhere.
  const pending = r.seen.filter(
    (s) =>
      wishOf(s, r.now, r.timings)?.by === r.identity &&
      s.holder !== r.identity &&
      live(s, r.now) &&
      (counts.get(s.holder) ?? 0) > r.cap,
  );
  let missing = r.cap - load - pending.length;
  // A holder already asked gives that shard away: count it as gone.
  for (const s of pending) counts.set(s.holder, (counts.get(s.holder) ?? 0) - 1);
  // A wish still waiting after two lease durations is said again, so it never goes stale while we
  // live (rarely: each write of the wish races the holder's renewal of the same Lease).
  const writes: Write[] = pending
    .filter((s) => r.now - (wishOf(s, r.now, r.timings)?.at ?? 0) >= 2 * r.timings.durationMs)
    .map((s): Write => ({ kind: 'want', shard: s.shard }));
  for (const s of byPreference(r.seen, r.identity)) {
    if (missing <= 0) break;
    if (!live(s, r.now) || s.holder === r.identity) continue;
    const holderCount = counts.get(s.holder) ?? 0;
    // Another wish stands unless its author has since reached its share.
    const other = wishOf(s, r.now, r.timings)?.by;
    const wishStands = other !== undefined && (counts.get(other) ?? 0) < r.cap;
    if (holderCount <= r.cap || wishStands) continue;
    writes.push({ kind: 'want', shard: s.shard });
    counts.set(s.holder, holderCount - 1);
    missing--;
  }
  return writes;
}

/** Live Leases per holder. */
function holderCounts(seen: readonly Seen[], now: number): Map<string, number> {
  const counts = new Map<string, number>();
  for (const s of seen) if (live(s, now)) counts.set(s.holder, (counts.get(s.holder) ?? 0) + 1);
  return counts;
}

/** Each replica tries shards in its own order (rendezvous hashing), so they rarely race for one. */
function byPreference(seen: readonly Seen[], identity: string): Seen[] {
  const rank = (s: Seen) => fnv1a(`${identity}/${s.shard}`);
  return [...seen].sort((a, b) => rank(a) - rank(b));
}

/** Applies a change to the held map. */
export function apply(held: Map<number, Held>, c: Change): void {
  const h = held.get(c.shard);
  if (c.kind === 'forget') held.delete(c.shard);
  else if (c.kind === 'lose') held.set(c.shard, { state: 'lost' });
  else if (h?.state === 'owned')
    held.set(c.shard, { state: 'handing', renewedAt: h.renewedAt, to: c.to, released: false });
}

/** A shard's release hook finished: a handover may now transfer it, a lost shard is gone. */
export function released(held: Map<number, Held>, shard: number): void {
  const h = held.get(shard);
  if (h?.state === 'lost') held.delete(shard);
  else if (h?.state === 'handing') h.released = true;
}

/** What a write that went through (at the round's `now`) means for us. */
export type Outcome = { kind: 'acquired'; shard: number } | { kind: 'handedOver'; shard: number; to: string };

/**
 * Records a write that went through, written with renewTime `now` and answered at `at`; returns
 * what it meant (nothing for a plain renewal or a wish). An answer later than the deadline counts
 * for nothing: the claim it made may already have run out for the other replicas.
 */
export function settle(
  held: Map<number, Held>,
  w: Write,
  written: { now: number; at: number; timings: Timings },
): Outcome | undefined {
  const h = held.get(w.shard);
  if (w.kind === 'transfer') {
    if (h?.state === 'lost') return undefined;
    held.delete(w.shard);
    return { kind: 'handedOver', shard: w.shard, to: w.to };
  }
  if (w.kind !== 'renew' && w.kind !== 'take') return undefined;
  if (written.at >= written.now + written.timings.deadlineMs) return undefined;
  if (h === undefined) {
    held.set(w.shard, { state: 'owned', renewedAt: written.now });
    return { kind: 'acquired', shard: w.shard };
  }
  if (h.state !== 'lost') h.renewedAt = Math.max(h.renewedAt, written.now);
  return undefined;
}
