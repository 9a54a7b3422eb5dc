// The contract's invariants, checked against observations of the real world. Each check reports
// through `report` (deduplicated by key by the caller) instead of throwing, so that one run shows
// every violation it met, not only the first.
//
// I1 nothing lost: the applied set's objects exist with their fields (a pre Job complete before
//    the rest was applied); nothing applied while suspended; hand-made objects untouched.
// I2 one outcome: each (deployment, sha the operator saw and took up) gets exactly one S3 file,
//    in time, with an allowed reason; success only where that deployment was schedulable.
// I3 Version: applied = latest valid sha seen (never one refused, failed in its pre phase, or
//    while suspended); deployed = latest sha with every workload healthy; a post failure shows.
// I4 no S3 key for a sha never pushed, nor for a deployment git never had.
import { type CommitModel, failMessage, jobNames, meaning, type NsMeaning, rolloutDeps } from './model.ts';
import { type AppliedLine, type LiveObject, parseKey, type Seen, type VersionView } from './observe.ts';
import { MANAGED_BY, POLL_S, ROLLOUT_TIMEOUT_S } from './world.ts';

export type Report = (inv: string, key: string, message: string) => void;

export const REASONS = [
  'InvalidManifests',
  'DryRunRejected',
  'ApplyFailed',
  'RolloutTimeout',
  'RolloutFailed',
  'Superseded',
  'PrePhaseFailed',
] as const;
export type Reason = (typeof REASONS)[number];

/** Latency bounds: a failure of the files is known at once; a rollout may take its timeout. */
export const FAILURE_BOUND_MS = (4 * POLL_S + 10) * 1000;
export const ROLLOUT_BOUND_MS = (ROLLOUT_TIMEOUT_S + 4 * POLL_S + 15) * 1000;
/** A failing pre Job: recreated (its pods deleted first), then its pod fails within seconds. */
export const PRE_FAILURE_BOUND_MS = FAILURE_BOUND_MS + 10_000;

/**
 * A namespace suspended (the Version's annotation) from `from` (the annotation written) to `to`
 * (resume asked; Infinity while suspended). `effective`: the operator said Suspended=True for it
 * (every pass from then on is a suspended one until `to`), with `applied` the Version's then.
 */
export interface Suspension {
  from: number;
  to: number;
  effective?: number | undefined;
  applied?: string | undefined;
}

export interface Ctx {
  nsIndex: number;
  ns: string;
  cluster: string;
  commits: CommitModel[];
  /** sha7 → commit id, for every commit pushed in the run. */
  idOf7: Map<string, number>;
  seen: Seen[];
  /** sha7s known to have been applied in ns (an `applied` log line or a Version read). */
  appliedKnown: Set<string>;
  /** Every `applied` log line of ns (objects of a phase changed), in time order. */
  appliedTimeline: AppliedLine[];
  /** S3 key → body, for keys under cluster/ns/. */
  keys: Map<string, string>;
  now: number;
  /** No fault active since (operator down, S3 down, apiserver down; plus recovery). */
  quietSince: number;
  /** Fault windows, each extended by the time recovery takes. */
  faults: { from: number; to: number }[];
  /** Windows in which the cluster's controllers were impaired (an apiserver restart until a canary rolled out). */
  impaired: { from: number; to: number }[];
  /** The namespace's suspensions, oldest first. */
  suspensions: Suspension[];
  final: boolean;
}

export const meaningAt = (ctx: Ctx, sha7: string): NsMeaning | undefined => {
  const id = ctx.idOf7.get(sha7);
  const c = id === undefined ? undefined : ctx.commits[id];
  return c ? meaning(c.ns[ctx.nsIndex] as CommitModel['ns'][number]) : undefined;
};

interface DepExpect {
  required: boolean;
  success: boolean;
  reasons: Set<Reason>;
  bound: number;
  /** When the operator saw the sha that made this outcome expected. */
  since: number;
}

export interface Expect {
  sha7: string;
  firstSeen: number;
  /** Position of the first sighting in the seen list. */
  index: number;
  meaning: NsMeaning;
  deps: Map<string, DepExpect>;
  /** Shas seen after this one (first sighting order), for Superseded and the success-time check. */
  later: string[];
  /** Seen only while the namespace was suspended and overwritten before resume: never applied. */
  held?: boolean;
}

const isoRe = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;
const failedRe = /^(\S+) ([A-Za-z]+): ([\s\S]+?)\s*$/;

/** A sighting as the contract counts it: from when an outcome is owed, and whether it must come. */
interface Sighting {
  index: number;
  since: number;
  required: boolean;
  /**
   * The head at a resume, overwritten soon after it (within 2 polls + 2 s): the next pass may
   * already see the newer head, so it may never be applied (Superseded) instead.
   */
  overtakable?: boolean;
}

/** How soon after a resume a newer head may overtake the head at resume before a pass takes it up. */
const RESUME_OVERTAKE_MS = (2 * POLL_S + 2) * 1000;

/**
 * A sighting of a sha against the suspensions: seen while suspended and overwritten before resume
 * it is never taken up (undefined); the head at resume is taken up then (`since` moves there); one
 * seen before the suspension took hold and overwritten during it may or may not have been applied.
 */
function sightingOf(ctx: Ctx, i: number): Sighting | undefined {
  const s = ctx.seen[i] as Seen;
  const next = ctx.seen.slice(i + 1).find((x) => x.sha7 !== s.sha7)?.at ?? Number.POSITIVE_INFINITY;
  let since = s.at;
  let required = true;
  let overtakable = false;
  for (const w of ctx.suspensions) {
    if (next <= w.from || s.at >= w.to) continue;
    // Seen and applied before the suspension took hold: its rollout went on, owed from the sighting.
    if (s.at < w.from && appliedBetween(ctx, s.sha7, s.at, Math.min(w.effective ?? w.to, w.to))) continue;
    if (next >= w.to) {
      since = Math.max(since, w.to);
      overtakable ||= next - w.to < RESUME_OVERTAKE_MS;
    } else if (s.at >= w.from) return undefined;
    else if (!ctx.appliedKnown.has(s.sha7)) required = false;
  }
  return { index: i, since, required, overtakable };
}

/** `sha7`'s set was applied (a main `applied` line) from `from` (its sighting) until before `to`. */
const appliedBetween = (ctx: Ctx, sha7: string, from: number, to: number) =>
  ctx.appliedTimeline.some((a) => a.sha7 === sha7 && a.phase === 'main' && a.at >= from && a.at < to);

/** What the contract expects for every sha the operator saw, in this namespace. */
export function expectations(ctx: Ctx): Expect[] {
  const out: Expect[] = [];
  const sightings = new Map<string, number[]>();
  ctx.seen.forEach((s, i) => {
    sightings.set(s.sha7, [...(sightings.get(s.sha7) ?? []), i]);
  });
  for (const [sha7, indexes] of sightings) {
    const m = meaningAt(ctx, sha7);
    if (!m) continue; // not a sha of this run: I4 reports files for it
    const counted = indexes.map((i) => sightingOf(ctx, i)).filter((x): x is Sighting => !!x);
    const first = counted[0];
    const index = first?.index ?? (indexes[0] as number);
    const later = ctx.seen
      .slice(index + 1)
      .map((s) => s.sha7)
      .filter((s) => s !== sha7);
    if (!first) {
      out.push(heldExpect(ctx, { sha7, index, meaning: m, later }, indexes));
      continue;
    }
    const deps =
      m.status === 'valid'
        ? validDeps(
            m,
            later,
            first.since,
            counted.some((x) => x.required),
          )
        : failedDeps(ctx, m, counted, { later, held: counted.length < indexes.length });
    out.push({ sha7, firstSeen: first.since, index, meaning: m, deps, later });
  }
  return out;
}

/**
 * Seen only while suspended and overwritten before resume: never applied itself. When another head
 * is applied, each Deployment of the same spec rides on that rollout (a success where it is
 * schedulable, RolloutTimeout where not: the stale-success check holds the spec to it); the others
 * are Superseded. Files that do not parse have no spec: the Deployments they name (the inventory's
 * and those of files that parse) are Superseded.
 */
function heldExpect(
  ctx: Ctx,
  e: Pick<Expect, 'sha7' | 'index' | 'meaning' | 'later'>,
  indexes: number[],
): Expect {
  const lastSeen = ctx.seen[indexes.at(-1) as number] as Seen;
  const next = ctx.seen.slice((indexes.at(-1) as number) + 1).find((x) => x.sha7 !== e.sha7);
  const since = next?.at ?? lastSeen.at;
  const firstSeen = (ctx.seen[e.index] as Seen).at;
  const deps = new Map<string, DepExpect>();
  const invalid = e.meaning.status === 'invalid';
  const inventory = invalid ? inventoryAt(ctx, e.index).flatMap((c) => Object.keys(c.deployments)) : [];
  for (const d of new Set([...inventory, ...Object.keys(e.meaning.deployments)])) {
    const info = invalid ? undefined : e.meaning.deployments[d];
    const reasons = new Set<Reason>(['Superseded']);
    if (info && !info.schedulable) reasons.add('RolloutTimeout');
    const required = d in e.meaning.deployments;
    deps.set(d, { required, success: info?.schedulable ?? false, reasons, bound: ROLLOUT_BOUND_MS, since });
  }
  return { ...e, firstSeen, deps, held: true };
}

/** A valid set: each of its Deployments gets its outcome, a success where it is schedulable. */
function validDeps(m: NsMeaning, later: string[], since: number, required: boolean): Map<string, DepExpect> {
  const deps = new Map<string, DepExpect>();
  for (const [d, info] of Object.entries(m.deployments)) {
    const reasons = new Set<Reason>();
    if (!info.schedulable) reasons.add('RolloutTimeout');
    if (later.length > 0) reasons.add('Superseded');
    deps.set(d, {
      required,
      success: info.schedulable,
      reasons,
      bound: ROLLOUT_BOUND_MS,
      since,
    });
  }
  return deps;
}

const failReason: Record<Exclude<NsMeaning['status'], 'valid'>, Reason> = {
  invalid: 'InvalidManifests',
  dryrun: 'DryRunRejected',
  prefail: 'PrePhaseFailed',
};

/**
 * A set that fails (files, dry-run, pre phase): each sighting (a rewind shows a sha again) fails
 * the set's Deployments and, for files that do not parse, the inventory of its time: the last
 * applied set, i.e. the valid shas seen before it back to one known to have been applied (a seen
 * sha may have been superseded before its apply).
 */
/** `held`: seen before while suspended and overwritten (Superseded then; a force-push back repeats nothing). */
function failedDeps(
  ctx: Ctx,
  m: NsMeaning,
  sightings: Sighting[],
  { later, held }: { later: string[]; held: boolean },
): Map<string, DepExpect> {
  const deps = new Map<string, DepExpect>();
  const reason = failReason[m.status as Exclude<NsMeaning['status'], 'valid'>];
  const bound = m.status === 'prefail' ? PRE_FAILURE_BOUND_MS : FAILURE_BOUND_MS;
  // A newer head during the pre phase stops the pass: when another head is applied, a Deployment
  // of the same spec rides on its rollout (success, or RolloutTimeout where unschedulable), the
  // others are Superseded.
  const overtaken =
    (m.status === 'prefail' && later.length > 0) || sightings.some((x) => x.overtakable) || held;
  const reasons = (d: string) => {
    const r = new Set<Reason>(overtaken ? [reason, 'Superseded'] : [reason]);
    if (overtaken && m.status === 'prefail' && m.deployments[d]?.schedulable === false)
      r.add('RolloutTimeout');
    return r;
  };
  const success = (d: string) =>
    overtaken && m.status === 'prefail' && m.deployments[d]?.schedulable === true;
  const add = (d: string, required: boolean, at: number) => {
    const cur = deps.get(d);
    if (!cur) {
      deps.set(d, { required, success: success(d), reasons: reasons(d), bound, since: at });
    } else if (required && !cur.required) {
      cur.required = true;
      cur.since = at;
    }
  };
  for (const { index: at, since: t, required } of sightings) {
    // Files that do not parse fail the inventory too; a refused or pre-failed set only its own.
    const inventory = m.status === 'invalid' ? inventoryAt(ctx, at) : [];
    const names = inventory.map((c) => new Set(Object.keys(c.deployments)));
    const inAll = names.length
      ? [...(names[0] as Set<string>)].filter((n) => names.every((x) => x.has(n)))
      : [];
    for (const d of names.flatMap((x) => [...x])) add(d, false, t);
    for (const d of inAll) add(d, required, t);
    for (const d of Object.keys(m.deployments)) add(d, required, t);
  }
  return deps;
}

/** The valid sets seen before sighting `at`, back to one known to have been applied. */
function inventoryAt(ctx: Ctx, at: number): NsMeaning[] {
  const candidates: NsMeaning[] = [];
  for (let i = at - 1; i >= 0; i--) {
    const s = ctx.seen[i] as Seen;
    const cm = meaningAt(ctx, s.sha7);
    if (cm?.status !== 'valid') continue;
    candidates.push(cm);
    if (ctx.appliedKnown.has(s.sha7)) break;
  }
  return candidates;
}

/** I2 and I4 over the namespace's S3 keys. */
export function checkS3(ctx: Ctx, report: Report): void {
  const exps = expectations(ctx);
  const byS7 = new Map(exps.map((e) => [e.sha7, e]));
  checkKeyNames(ctx, report);
  for (const e of exps) {
    checkUnexpected(ctx, e, report);
    for (const [d, x] of e.deps) checkOutcome({ ctx, e, d, x, byS7, report });
  }
}

/** One expected outcome: a Deployment `d` at the sha of `e`. */
interface Outcome {
  ctx: Ctx;
  e: Expect;
  d: string;
  x: DepExpect;
  byS7: Map<string, Expect>;
  report: Report;
}

/** I4: every key names a pushed sha and a deployment git had. */
function checkKeyNames(ctx: Ctx, report: Report): void {
  const seen7 = new Set(ctx.seen.map((s) => s.sha7));
  for (const key of ctx.keys.keys()) {
    const k = parseKey(key);
    if (!k) {
      report('I4', `badkey ${key}`, `S3 key ${key} is not cluster/ns/deployment/sha7[.failed]`);
      continue;
    }
    if (!ctx.idOf7.has(k.sha7)) {
      report('I4', `unknown-sha ${key}`, `S3 key ${key}: ${k.sha7} was never pushed in this run`);
    } else if (!seen7.has(k.sha7)) {
      report(
        'I4',
        `unseen-sha ${key}`,
        `S3 key ${key}: ${k.sha7} was pushed but the operator never logged it as head`,
      );
    }
    if (!(rolloutDeps as readonly string[]).includes(k.deployment)) {
      report('I4', `unknown-dep ${key}`, `S3 key ${key}: git never had a Deployment "${k.deployment}"`);
    }
  }
}

/** I2: no file at a sha for a Deployment neither in its set nor in the inventory. */
function checkUnexpected(ctx: Ctx, e: Expect, report: Report): void {
  const names = new Set([...e.deps.keys()]);
  for (const key of ctx.keys.keys()) {
    const k = parseKey(key);
    if (
      k &&
      k.sha7 === e.sha7 &&
      !names.has(k.deployment) &&
      (rolloutDeps as readonly string[]).includes(k.deployment)
    ) {
      report(
        'I2',
        `unexpected ${key}`,
        `S3 key ${key}: ${k.deployment} is neither in the set at ${e.sha7} (${e.meaning.why}) nor in the inventory`,
      );
    }
  }
}

/** I2 for one (deployment, sha): one file, in time, with a body that fits. */
function checkOutcome(o: Outcome): void {
  const { ctx, e, d, x, report } = o;
  const okKey = `${ctx.cluster}/${ctx.ns}/${d}/${e.sha7}`;
  const failKey = `${okKey}.failed`;
  const okBody = ctx.keys.get(okKey);
  const failBody = ctx.keys.get(failKey);
  const where = whereOf(o);
  if (okBody !== undefined && failBody !== undefined) {
    report(
      'I2',
      `both ${okKey}`,
      `${where}: both ${okKey} (${okBody.trim()}) and .failed (${failBody.trim()})`,
    );
  }
  // An outcome recorded later than its bound, with no fault in between, is late too.
  const body = okBody ?? failBody;
  const t = body === undefined ? Number.NaN : Date.parse(body.trim().split(' ')[0] as string);
  const faulted = ctx.faults.some((f) => f.from <= t && f.to >= x.since);
  if (t > x.since + x.bound && !faulted) {
    report(
      'I2',
      `slow ${okKey}`,
      `${where}: outcome recorded at ${new Date(t).toISOString()}, ${((t - x.since) / 1000).toFixed(1)} s after the operator saw it (bound ${x.bound / 1000} s, no fault in between)`,
    );
  }
  if (okBody !== undefined) checkSuccess(o, okBody, where);
  if (failBody !== undefined) checkFailure(o, failBody, where);
  if (okBody === undefined && failBody === undefined && x.required) checkMissing(o, okKey, where);
}

/** How a report names the outcome: deployment@sha7 (why that set, unschedulable). */
function whereOf({ e, d }: Outcome): string {
  const info = e.meaning.deployments[d];
  return `${d}@${e.sha7} (${e.meaning.why}${info && !info.schedulable ? ', unschedulable' : ''})`;
}

/** I2: a required outcome with no file: missing at quiescence, late mid-run past its bound. */
function checkMissing({ ctx, x, report }: Outcome, okKey: string, where: string): void {
  if (ctx.final) {
    report(
      'I2',
      `missing ${okKey}`,
      `${where}: no outcome file after quiescence (seen ${age(ctx, x.since)} ago)`,
    );
  } else if (ctx.now > Math.max(x.since, ctx.quietSince) + x.bound) {
    report(
      'I2',
      `late ${okKey}`,
      `${where}: no outcome file ${age(ctx, x.since)} after the operator saw it (bound ${x.bound / 1000} s after the last fault healed)`,
    );
  }
}

const age = (ctx: Ctx, t: number) => `${((ctx.now - t) / 1000).toFixed(1)} s`;

function checkSuccess({ ctx, e, d, x, report }: Outcome, body: string, where: string) {
  const key = `${ctx.cluster}/${ctx.ns}/${d}/${e.sha7}`;
  if (!x.success) {
    report(
      'I2',
      `bad-success ${key}`,
      `${where}: success file written, but that deployment could not become healthy at that sha`,
    );
  }
  if (!isoRe.test(body.trim()))
    report('I2', `body ${key}`, `${key}: body ${JSON.stringify(body)} is not an ISO UTC time`);
  if (x.success && (e.held || e.meaning.status !== 'valid'))
    checkCarried({ ctx, e, d, x, report } as Outcome, body, key);
  // A success time is when the deployment was healthy at this sha's spec: the set applied last
  // before that moment (`applied` is logged whenever objects changed) must hold the same spec.
  // The body has whole seconds: any set applied in effect during [t, t + 1 s) will do.
  const fp = e.meaning.deployments[d]?.fp;
  const t = Date.parse(body.trim());
  const sets = ctx.appliedTimeline.filter((a) => a.phase === 'main');
  const before = sets.filter((a) => a.at <= t).at(-1);
  const during = sets.filter((a) => a.at > t && a.at < t + 1000);
  const candidates = [...(before ? [before] : []), ...during];
  const same = (a: { sha7: string }) => {
    const m = meaningAt(ctx, a.sha7);
    return m?.status !== 'valid' || m.deployments[d]?.fp === fp;
  };
  if (candidates.length && !candidates.some(same)) {
    const current = candidates.at(-1) as { at: number; sha7: string };
    const cur = meaningAt(ctx, current.sha7);
    report(
      'I2',
      `stale-success ${key}`,
      `${where}: success time ${body.trim()}, but the set in effect then was ${current.sha7} (applied ${new Date(current.at).toISOString()}), which ${cur?.deployments[d] ? 'changed' : 'removed'} ${d}`,
    );
  }
}

/**
 * I2: a sha never applied itself (held while suspended, or overtaken in its pre phase) succeeds
 * only by riding on a later head's rollout: a sha seen after it, by the success time, with the
 * same spec of `d` (that head's apply may have changed nothing, so no `applied` line; the
 * stale-success check holds the set in effect to the same spec).
 */
function checkCarried({ ctx, e, d, report }: Outcome, body: string, key: string): void {
  const t = Date.parse(body.trim());
  const fp = e.meaning.deployments[d]?.fp;
  const carried = ctx.seen.some((s, i) => {
    const m = meaningAt(ctx, s.sha7);
    return (
      i > e.index &&
      s.at < t + 1000 &&
      s.sha7 !== e.sha7 &&
      m?.status === 'valid' &&
      m.deployments[d]?.fp === fp
    );
  });
  if (!carried)
    report(
      'I2',
      `bad-success ${key}`,
      `${key}: ${e.sha7} was never applied, and no later head with the same spec of ${d} was seen by ${body.trim()}`,
    );
}

function checkFailure(o: Outcome, body: string, where: string) {
  const { ctx, e, d, report } = o;
  const key = `${ctx.cluster}/${ctx.ns}/${d}/${e.sha7}.failed`;
  const m = failedRe.exec(body);
  const reason = m?.[2] as Reason | undefined;
  if (!m || !reason || !isoRe.test(m[1] as string) || !(REASONS as readonly string[]).includes(reason)) {
    report(
      'I2',
      `body ${key}`,
      `${key}: body ${JSON.stringify(body.slice(0, 200))} is not "<ISO time> <Reason>: <message>"`,
    );
    return;
  }
  const failure = { key, where, at: m[1] as string, reason, message: m[3] as string };
  checkReason(o, failure);
  if (reason === 'RolloutTimeout') checkTimeout(o, failure);
  if (reason === 'PrePhaseFailed') checkPreMessage(o, failure);
  if (reason === 'Superseded') checkSuperseded(o, failure);
}

/** A `.failed` file's parts. */
interface Failure {
  key: string;
  where: string;
  at: string;
  reason: Reason;
  message: string;
}

/** I2: the reason is one allowed here (a timeout while the controllers were blind is excused). */
function checkReason({ ctx, x, report }: Outcome, f: Failure): void {
  if (x.reasons.has(f.reason)) return;
  const t = Date.parse(f.at);
  // A rollout that timed out while the cluster's controllers were blind says nothing about the
  // operator: the Deployment really did not roll out in time.
  const excused =
    f.reason === 'RolloutTimeout' &&
    ctx.impaired.some((w) => w.from <= t && w.to >= t - (ROLLOUT_TIMEOUT_S + 5) * 1000);
  if (excused) {
    report('ENV', `env ${f.key}`, `${f.where}: RolloutTimeout while the controllers were impaired`);
    return;
  }
  const allowed = x.success ? 'success' : [...x.reasons].join('/') || 'none';
  report(
    'I2',
    `reason ${f.key}`,
    `${f.where}: .failed with ${f.reason} (${f.message.slice(0, 160)}); allowed here: ${allowed}`,
  );
}

/** I2: a RolloutTimeout comes no earlier than ROLLOUT_TIMEOUT after the operator saw the sha. */
function checkTimeout({ x, report }: Outcome, f: Failure): void {
  if (Date.parse(f.at) < x.since + ROLLOUT_TIMEOUT_S * 1000 - 2000) {
    report(
      'I2',
      `early-timeout ${f.key}`,
      `${f.where}: RolloutTimeout at ${f.at}, less than ROLLOUT_TIMEOUT after the operator saw it`,
    );
  }
}

/** I2: PrePhaseFailed says which Job failed, in its pod's words. */
function checkPreMessage({ e, report }: Outcome, f: Failure): void {
  const pre = e.meaning.pre;
  const words = pre ? failMessage(jobNames.pre, pre.v) : undefined;
  const job = `Job/${jobNames.pre}`;
  if (
    !f.message.startsWith('pre phase failed: ') ||
    !f.message.includes(job) ||
    !words ||
    !f.message.includes(words)
  ) {
    report(
      'I2',
      `pre-message ${f.key}`,
      `${f.where}: "${f.message.slice(0, 200)}" does not say "pre phase failed: … ${job} … ${words ?? '(no failing pre Job at this sha)'}"`,
    );
  }
}

/** I2: Superseded names a sha the operator saw after this one. */
function checkSuperseded({ e, byS7, report }: Outcome, f: Failure): void {
  const by = /Superseded by ([0-9a-f]{7})/.exec(f.message)?.[1];
  if (!by || !byS7.has(by) || by === e.sha7) {
    report(
      'I2',
      `superseded-by ${f.key}`,
      `${f.where}: "${f.message.slice(0, 120)}" names no sha the operator saw after it`,
    );
  }
}

/** I3: the Version's applied/deployed against the shas seen. */
export function checkVersion(ctx: Ctx, v: VersionView | undefined, report: Report): void {
  const ns = ctx.ns;
  if (!v) {
    report('I3', `no-version ${ns}`, `Version ${ns} does not exist`);
    return;
  }
  if (v.applied) checkApplied(ctx, v.applied, report);
  if (v.deployed) checkDeployed(ctx, v.deployed, report);
  checkSuspensions(ctx, v, report);
  if (ctx.final) checkVersionFinal(ctx, v, report);
}

/**
 * I1/I3 while suspended: once the operator said Suspended=True, nothing is applied in the
 * namespace (no `applied` line, of any phase) until resume, and `applied` stays where it was.
 */
export function checkSuspensions(ctx: Ctx, v: VersionView | undefined, report: Report): void {
  const ns = ctx.ns;
  for (const w of ctx.suspensions) {
    if (w.effective === undefined) continue;
    const from = w.effective;
    for (const a of ctx.appliedTimeline.filter((x) => x.at > from && x.at < w.to)) {
      report(
        'I1',
        `suspended-apply ${ns} ${a.sha7} ${a.phase}`,
        `${ns}: ${a.sha7} (${a.phase} phase) applied at ${new Date(a.at).toISOString()}, while suspended (Suspended=True seen ${new Date(from).toISOString()})`,
      );
    }
    if (w.to === Number.POSITIVE_INFINITY && v && w.applied && v.applied !== w.applied) {
      report(
        'I3',
        `suspended-applied ${ns} ${v.applied}`,
        `${ns}: applied moved from ${w.applied} to ${v.applied ?? '(none)'} while suspended`,
      );
    }
  }
}

/** I3: applied is a valid set of this run. */
function checkApplied(ctx: Ctx, applied: string, report: Report): void {
  const ns = ctx.ns;
  const m = meaningAt(ctx, applied);
  if (!m)
    report('I3', `applied-unknown ${ns} ${applied}`, `${ns}: applied ${applied} is not a sha of this run`);
  else if (m.status !== 'valid')
    report(
      'I3',
      `applied-invalid ${ns} ${applied}`,
      `${ns}: applied ${applied} is an invalid set (${m.why})`,
    );
}

/** I3: deployed is a sha at which every workload can be healthy. */
function checkDeployed(ctx: Ctx, deployed: string, report: Report): void {
  const ns = ctx.ns;
  const m = meaningAt(ctx, deployed);
  const unsched = m ? Object.entries(m.deployments).filter(([, i]) => !i.schedulable) : [];
  if (m?.status !== 'valid' || unsched.length) {
    report(
      'I3',
      `deployed-bad ${ns} ${deployed}`,
      `${ns}: deployed ${deployed}, but not every workload can be healthy there (${m ? m.why : 'unknown sha'}${unsched.length ? `; unschedulable: ${unsched.map(([n]) => n).join(',')}` : ''})`,
    );
  }
}

/**
 * The set the namespace must end at: the latest valid sha seen that is owed an apply of its own. A
 * sha held while suspended, or the head at a resume overwritten at once, is not (unless it was
 * applied): when only refused heads follow it, the set before it stays.
 */
export function latestOwed(ctx: Ctx): Seen | undefined {
  const owed = (s: Seen, i: number) => {
    const sighting = sightingOf(ctx, i);
    return ctx.appliedKnown.has(s.sha7) || (!!sighting && !sighting.overtakable);
  };
  return ctx.seen.filter((s, i) => meaningAt(ctx, s.sha7)?.status === 'valid' && owed(s, i)).at(-1);
}

/** I3 at quiescence: applied is the latest valid sha seen; deployed as far as it can be. */
function checkVersionFinal(ctx: Ctx, v: VersionView, report: Report): void {
  const ns = ctx.ns;
  const latest = latestOwed(ctx);
  if (!latest) return;
  if (v.applied !== latest.sha7) {
    report(
      'I3',
      `applied-final ${ns}`,
      `${ns}: at quiescence applied is ${v.applied ?? '(none)'}, the latest valid sha the operator saw is ${latest.sha7}${ctx.appliedKnown.has(latest.sha7) ? '' : ' (no sign it was ever applied)'}`,
    );
  }
  const target = meaningAt(ctx, latest.sha7);
  if (target && Object.values(target.deployments).every((i) => i.schedulable)) {
    if (v.deployed !== latest.sha7) {
      report(
        'I3',
        `deployed-final ${ns}`,
        `${ns}: at quiescence deployed is ${v.deployed ?? '(none)'}, expected ${latest.sha7} (every workload schedulable)`,
      );
    }
  } else checkDeployedOld(ctx, v, report);
  checkPostFinal(ctx, v, report);
}

/**
 * I3 at quiescence, the head deployable and applied: a failing post Job shows as Ready=False
 * PostPhaseFailed (no S3 outcome changes: I2); otherwise Ready=True.
 */
function checkPostFinal(ctx: Ctx, v: VersionView, report: Report): void {
  const head = ctx.seen.at(-1)?.sha7;
  const m = head ? meaningAt(ctx, head) : undefined;
  if (!head || m?.status !== 'valid' || v.applied !== head || v.deployed !== head) return;
  if (!Object.values(m.deployments).every((i) => i.schedulable)) return;
  const ready = v.status?.conditions?.find((c) => c.type === 'Ready');
  const want = m.post?.fails ? { status: 'False', reason: 'PostPhaseFailed' } : { status: 'True' };
  if (ready?.status !== want.status || (want.reason && ready.reason !== want.reason)) {
    report(
      'I3',
      `ready-final ${ctx.ns}`,
      `${ctx.ns}: at quiescence Ready is ${ready?.status}/${ready?.reason} (${ready?.message?.slice(0, 120)}), expected ${want.status}${want.reason ? `/${want.reason}` : ''} (${m.post ? `post Job v${m.post.v}${m.post.fails ? ' fails' : ''}` : 'no post Job'})`,
    );
  }
}

/**
 * The latest sha is not deployable: deployed must be the latest sha whose deployments all
 * reported healthy (by their S3 files), or a later deployable one.
 */
function checkDeployedOld(ctx: Ctx, v: VersionView, report: Report): void {
  const ns = ctx.ns;
  const okAt = (s7: string) => {
    const m = meaningAt(ctx, s7);
    return (
      m?.status === 'valid' &&
      Object.keys(m.deployments).every((d) => ctx.keys.has(`${ctx.cluster}/${ns}/${d}/${s7}`))
    );
  };
  const lastIdx = (s7: string | undefined) => (s7 ? ctx.seen.map((s) => s.sha7).lastIndexOf(s7) : -1);
  const best = [...ctx.seen].reverse().find((s) => okAt(s.sha7));
  if (best && lastIdx(v.deployed) < lastIdx(best.sha7)) {
    report(
      'I3',
      `deployed-old ${ns}`,
      `${ns}: at quiescence deployed is ${v.deployed ?? '(none)'}, but every deployment reported healthy at the later ${best.sha7}`,
    );
  }
}

/** How the objects of a set are checked: mid-run, or at quiescence (strict prune, Jobs). */
export interface ObjectCheck {
  /** At quiescence: nothing managed outside the set, every Job of the set as it ends. */
  strictPrune: boolean;
  /** The set is the head's and every Deployment can be healthy: its post phase ran. */
  postRan?: boolean;
  /** A later head's pre phase failed: its pre Job was applied and may be there. */
  laterPre?: boolean;
}

/** I1: the objects of the set at `sha7` (valid) are in the cluster with their fields. */
export function objectMismatches(ctx: Ctx, sha7: string, live: LiveObject[], check: ObjectCheck): string[] {
  const m = meaningAt(ctx, sha7);
  if (m?.status !== 'valid') return [];
  const problems: string[] = [];
  const find = (kind: string, name: string) => live.find((o) => o.kind === kind && o.name === name);
  for (const want of m.objects) {
    const got = find(want.kind, want.name);
    const id = `${want.kind}/${want.name}`;
    if (want.kind === 'Job') problems.push(...jobProblems(want, got, check));
    else if (got) problems.push(...fieldProblems(id, want, got));
    else problems.push(`${id} is missing`);
  }
  problems.push(...preOrderProblems(ctx, sha7, live));
  if (check.strictPrune) problems.push(...unpruned(m, live, check));
  return problems;
}

/** I1 at quiescence: managed objects the set does not have. */
function unpruned(m: NsMeaning, live: LiveObject[], check: ObjectCheck): string[] {
  // The post Job of a set whose post phase has not run may be an older one.
  const owed = (o: LiveObject) =>
    o.kind === 'Job' &&
    ((o.name === jobNames.post && !check.postRan) || (o.name === jobNames.pre && !!check.laterPre));
  return live
    .filter((o) => MANAGED_BY in o.labels && !owed(o))
    .filter((o) => !m.objects.some((w) => w.kind === o.kind && w.name === o.name))
    .map((o) => `${o.kind}/${o.name} was not pruned`);
}

/** I1 at quiescence: the set's pre Job completed (post: as it ends, once the post phase ran). */
function jobProblems(
  want: NsMeaning['objects'][number],
  got: LiveObject | undefined,
  check: ObjectCheck,
): string[] {
  if (!check.strictPrune || (want.phase === 'post' && !check.postRan)) return [];
  // A later head's failed pre phase may have replaced it with its own (failed) Job.
  if (want.phase === 'pre' && check.laterPre) return [];
  const id = `Job/${want.name}`;
  if (!got) return [`${id} (${want.phase}) is missing`];
  const problems = fieldProblems(id, want, got);
  const end = want.fails ? 'failed' : 'complete';
  if (got.job !== end) problems.push(`${id} (${want.phase}) is ${got.job}, want ${end}`);
  return problems;
}

/**
 * I1: every time the set at `sha7` was applied (its main phase), its pre Job had completed: the
 * live Job of that spec, if it existed then, completed no later than that `applied` line.
 */
function preOrderProblems(ctx: Ctx, sha7: string, live: LiveObject[]): string[] {
  const pre = meaningAt(ctx, sha7)?.objects.find((o) => o.kind === 'Job' && o.phase === 'pre');
  const job = live.find((o) => o.kind === 'Job' && o.name === pre?.name);
  if (!pre || !job?.created || job.image !== pre.image) return [];
  // Timestamps are whole seconds: the Job surely existed at `at` when created + 1 s <= at.
  const created = job.created;
  const applies = ctx.appliedTimeline.filter(
    (a) => a.sha7 === sha7 && a.phase === 'main' && a.at >= created + 1000,
  );
  const first = applies[0];
  if (!first || (job.completed !== undefined && job.completed <= first.at)) return [];
  const when =
    job.completed === undefined ? `is ${job.job}` : `completed ${new Date(job.completed).toISOString()}`;
  return [
    `Job/${pre.name} (pre) ${when}, but the rest of ${sha7} was applied at ${new Date(first.at).toISOString()}`,
  ];
}

/** I1: the hand-made objects are as they were made. */
export function handmadeProblems(
  live: LiveObject[],
  want: { cmResourceVersion: string; deployGeneration: number },
): string[] {
  const problems: string[] = [];
  const cm = live.find((o) => o.kind === 'ConfigMap' && o.name === 'not-ours');
  const dep = live.find((o) => o.kind === 'Deployment' && o.name === 'handmade');
  if (!cm) problems.push('ConfigMap/not-ours was deleted');
  else if (cm.resourceVersion !== want.cmResourceVersion) problems.push('ConfigMap/not-ours was modified');
  if (!dep) problems.push('Deployment/handmade was deleted');
  else {
    if (dep.generation !== want.deployGeneration)
      problems.push(`Deployment/handmade spec changed (generation ${dep.generation})`);
    if (MANAGED_BY in dep.labels) problems.push('Deployment/handmade got the managed-by label');
    if (dep.managers.includes('git-sync-operator'))
      problems.push('Deployment/handmade has fields managed by git-sync-operator');
  }
  if (cm?.managers.includes('git-sync-operator'))
    problems.push('ConfigMap/not-ours has fields managed by git-sync-operator');
  return problems;
}

/** I1: one object of the set against the live one: label, image, scheduling, data, port. */
function fieldProblems(id: string, want: NsMeaning['objects'][number], got: LiveObject): string[] {
  const problems: string[] = [];
  if (!(MANAGED_BY in got.labels)) problems.push(`${id} lacks the ${MANAGED_BY} label`);
  if (want.image && got.image !== want.image) problems.push(`${id} image ${got.image}, want ${want.image}`);
  if (want.unsched !== undefined && !!got.nodeSelector !== want.unsched)
    problems.push(
      `${id} nodeSelector ${JSON.stringify(got.nodeSelector)}, want ${want.unsched ? 'the unschedulable one' : 'none'}`,
    );
  if (want.data && JSON.stringify(got.data) !== JSON.stringify(want.data))
    problems.push(`${id} data ${JSON.stringify(got.data)}, want ${JSON.stringify(want.data)}`);
  if (want.port && got.port !== want.port) problems.push(`${id} port ${got.port}, want ${want.port}`);
  if (want.track && got.selector?.track !== want.track)
    problems.push(`${id} selector ${JSON.stringify(got.selector)}, want track ${want.track}`);
  return problems;
}
