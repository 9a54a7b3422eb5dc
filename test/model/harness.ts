// The "real" side of the model run: pushes the model's commits to git, runs each step, waits for
// the operator to settle, checks the invariants mid-run and at quiescence, and collects
// violations (deduplicated) with the step they were found at.
import { execFile } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { short } from '../../src/source/sha.ts';
import { commitOnto } from './git.ts';
import {
  type Ctx,
  checkS3,
  checkVersion,
  expectations,
  handmadeProblems,
  latestOwed,
  meaningAt,
  objectMismatches,
  type Suspension,
} from './invariants.ts';
import { clone, folderChanges, head, type Model, meaning, type NsState } from './model.ts';
import {
  appliedLogged,
  errorLogged,
  type LiveObject,
  liveObjects,
  readVersion,
  type Seen,
  s3Keys,
  seenList,
  type VersionView,
} from './observe.ts';
import { summary } from './report.ts';
import { checkSink } from './sink.ts';
import {
  CLUSTER,
  canaryRollout,
  LEASE_S,
  type LogEntry,
  POLL_S,
  ROLLOUT_TIMEOUT_S,
  type RunWorld,
} from './world.ts';

export interface Violation {
  inv: string;
  key: string;
  message: string;
  step: number;
  at: number;
}

interface StepRecord {
  n: number;
  what: string;
  start: number;
  end?: number;
  notes: string[];
}

interface Fault {
  what: string;
  from: number;
  to?: number;
  /** The cluster's controllers were impaired (apiserver restart) until `to`. */
  impaired?: boolean;
}

/** Time for things to come back after a fault ends (operator restart: node + lease + first poll). */
const RECOVERY_MS = (LEASE_S + 3 * POLL_S + 8) * 1000;
const SEEN_BOUND_MS = (3 * POLL_S + 8) * 1000;
const HANDLED_BOUND_MS = 25_000;
/** Suspended=True shows at the next pass: after a rollout already waited for, at worst its timeout. */
const SUSPENDED_BOUND_MS = (ROLLOUT_TIMEOUT_S + 3 * POLL_S + 8) * 1000;
const bin = fileURLToPath(new URL('../../bin/git-sync-operator.js', import.meta.url));
const run = promisify(execFile);

export class Real {
  readonly t0 = Date.now();
  /** Full sha by model commit id. */
  readonly shas: string[] = [];
  readonly idOf7 = new Map<string, number>();
  readonly steps: StepRecord[] = [];
  readonly violations = new Map<string, Violation>();
  readonly faults: Fault[] = [];
  /** Deviations the environment explains (a rollout timed out while the controllers were blind). */
  readonly tolerated = new Map<string, string>();
  private readonly bodies = new Map<string, string>();
  private readonly appliedSeen = new Map<string, Set<string>>();
  /** Per namespace, its suspensions (suspend ... resume), oldest first. */
  readonly suspensions = new Map<string, Suspension[]>();
  apiDown = false;
  s3Down: 'pause' | 'stop' | undefined;
  private step = 0;

  constructor(
    readonly w: RunWorld,
    private readonly failFast: boolean,
  ) {
    this.record(0, w.firstSha);
  }

  log(msg: string): void {
    process.stderr.write(`[model +${((Date.now() - this.t0) / 1000).toFixed(1)}s] ${msg}\n`);
  }

  note(msg: string): void {
    this.steps.at(-1)?.notes.push(msg);
    this.log(`  ${msg}`);
  }

  report(inv: string, key: string, message: string): void {
    if (inv === 'ENV') {
      if (!this.tolerated.has(key)) this.log(`tolerated (environment): ${message}`);
      this.tolerated.set(key, message);
      return;
    }
    if (this.violations.has(key)) return;
    this.violations.set(key, { inv, key, message, step: this.step, at: Date.now() });
    this.log(`VIOLATION ${inv} (step ${this.step}): ${message}`);
  }

  private record(id: number, sha: string): void {
    this.shas[id] = sha;
    this.idOf7.set(short(sha), id);
  }

  sha7(id: number): string {
    return short(this.shas[id] ?? '???????');
  }

  // -------------------------------------------------------------------------------------------
  // Git: every commit goes through the model first, so model and repo never disagree.

  /** Commits `next` on the head (or, with `onto`, on that older commit and force-pushes). */
  async commit(m: Model, next: NsState[], what: string, onto?: number): Promise<string> {
    const parent = onto ?? head(m).id;
    const changes = folderChanges(this.w.folders, m.commits[parent]?.ns, next);
    const id = m.commits.length;
    const msg = `model step ${m.step}: ${what}`;
    const sha =
      onto === undefined
        ? await this.w.repo.commit(changes, msg)
        : await commitOnto(this.w.repo, this.shas[onto] as string, changes, msg);
    m.commits.push({ id, parent, ns: clone(next), what });
    const at = m.branch.indexOf(parent);
    m.branch = [...m.branch.slice(0, at + 1), id];
    m.ns = clone(next);
    this.record(id, sha);
    const kinds = next.map((s) => meaning(s).why).join(' | ');
    this.note(
      `pushed ${short(sha)}${onto !== undefined ? ` onto ${this.sha7(onto)} (force)` : ''}: ${what} [${kinds}]`,
    );
    return sha;
  }

  /** Force-pushes the branch back to an older commit of it. */
  async rewind(m: Model, id: number): Promise<void> {
    await this.w.repo.forcePush(this.shas[id] as string);
    m.branch = m.branch.slice(0, m.branch.indexOf(id) + 1);
    m.ns = clone((m.commits[id] as Model['commits'][number]).ns);
    this.note(`force-pushed the branch back to ${this.sha7(id)}`);
  }

  // -------------------------------------------------------------------------------------------
  // Suspend and resume (the CLI, as an operator's user would)

  /**
   * `git-sync-operator suspend|resume NS`. A suspension counts from the moment the annotation is
   * surely written (the command returned) to the moment resume is asked; it takes hold once the
   * operator says Suspended=True (waited for, bounded), and `applied` must stay as it was then.
   */
  async setSuspended(m: Model, i: number, on: boolean): Promise<void> {
    const ns = this.w.namespaces[i] as string;
    const list = this.suspensions.get(ns) ?? [];
    this.suspensions.set(ns, list);
    const open = list.find((x) => x.to === Number.POSITIVE_INFINITY);
    if (!on && open) open.to = Date.now();
    const env = { ...process.env, KUBECONFIG: this.w.stack.cp.kubeconfig };
    const res = await run(process.execPath, [bin, on ? 'suspend' : 'resume', ns], { env, timeout: 60_000 });
    m.suspended[i] = on;
    m.suspendedSteps[i] = 0;
    this.note(res.stdout.trim());
    if (!on) return;
    const w: Suspension = { from: Date.now(), to: Number.POSITIVE_INFINITY };
    list.push(w);
    const held = async () => {
      const v = await readVersion(this.w.stack.cp, ns).catch(() => undefined);
      if (v?.status?.conditions?.find((x) => x.type === 'Suspended')?.status !== 'True') return false;
      w.effective = Date.now();
      w.applied = v.applied;
      return true;
    };
    const took = await waitUntil(held, Date.now() + SUSPENDED_BOUND_MS, 300);
    this.note(
      took
        ? `${ns}: Suspended=True after ${((Date.now() - w.from) / 1000).toFixed(1)} s, applied ${w.applied}`
        : `${ns}: Suspended=True not seen within ${SUSPENDED_BOUND_MS / 1000} s`,
    );
  }

  // -------------------------------------------------------------------------------------------
  // Faults

  faultStart(what: string): Fault {
    const f = { what, from: Date.now() };
    this.faults.push(f);
    return f;
  }

  faultEnd(f: Fault): void {
    f.to = Date.now();
  }

  /**
   * After an apiserver restart the fault lasts until the cluster's own controllers roll out a
   * canary again: until then a rollout may legitimately time out (see world.ts).
   */
  async controllersBack(f: Fault): Promise<void> {
    const ms = await canaryRollout(this.w.stack.cp, 120_000);
    f.to = Date.now();
    f.impaired = true;
    this.note(
      ms === undefined
        ? 'controllers still not rolling out after 120 s'
        : `controllers roll out again after ${(ms / 1000).toFixed(1)} s`,
    );
  }

  /** Windows in which the cluster's controllers could not be trusted to roll anything out. */
  impaired(): { from: number; to: number }[] {
    return this.faults.filter((f) => f.impaired).map((f) => ({ from: f.from, to: f.to ?? Date.now() }));
  }

  /** Every fault (crashes included) as a window that ends when recovery should be over. */
  faultWindows(): { from: number; to: number }[] {
    const windows: { from: number; to?: number | undefined }[] = [...this.faults];
    // A crash is a fault until the supervisor's restart.
    for (const c of this.w.op.crashes) {
      windows.push({ from: c.at, to: this.w.op.incarnations[c.incarnation + 1]?.startedAt });
    }
    return windows.map((f) => ({ from: f.from, to: (f.to ?? Date.now()) + RECOVERY_MS }));
  }

  /** No fault has been active (nor recovering) since this time. */
  quietSince(): number {
    return Math.max(this.t0, ...this.faultWindows().map((f) => f.to));
  }

  private faultActive(): boolean {
    return this.apiDown || !!this.s3Down || !this.w.op.running();
  }

  // -------------------------------------------------------------------------------------------
  // Steps

  async runStep(m: Model, what: string, act: () => Promise<void>): Promise<void> {
    m.step++;
    this.step = m.step;
    this.steps.push({ n: m.step, what, start: Date.now(), notes: [] });
    this.log(`step ${m.step}: ${what}`);
    await act();
    await this.settle(m);
    await this.checkNow(m, false);
    if (m.s3Down) m.s3DownSteps++;
    m.suspended.forEach((on, i) => {
      if (on) m.suspendedSteps[i] = (m.suspendedSteps[i] ?? 0) + 1;
    });
    const rec = this.steps.at(-1);
    if (rec) rec.end = Date.now();
    if (this.failFast && this.violations.size) throw new Error(summary(this));
  }

  private async seen(): Promise<{ logs: LogEntry[]; seen: Seen[] }> {
    const logs = await this.w.op.logs();
    return { logs, seen: seenList(logs) };
  }

  /**
   * Waits (bounded) until the operator has seen the head and, per namespace, applied it (valid
   * set) or recorded an error for it. Not reaching that while no fault was active is a progress
   * violation (P1/P2); with a fault active the wait is shorter and nothing is reported.
   */
  async settle(m: Model): Promise<void> {
    const head7 = this.sha7(head(m).id);
    const quietAtStart = this.quietSince() <= Date.now() && !this.faultActive();
    if (!(await this.waitSeen(head7, quietAtStart))) return;
    if (this.apiDown) return;
    const handledBy = Date.now() + (quietAtStart ? HANDLED_BOUND_MS : 8_000);
    for (const i of this.w.namespaces.keys()) {
      const problem = await this.waitHandled(m, i, { head7, handledBy });
      if (!problem) continue;
      const ns = this.w.namespaces[i] as string;
      if (quietAtStart && !this.faultActive())
        this.report(
          'P2',
          `not-handled ${ns} ${head7}`,
          `${ns}: ${problem} within ${HANDLED_BOUND_MS / 1000} s`,
        );
      else this.note(`${ns}: ${head7} not handled yet (fault active)`);
    }
  }

  /**
   * Waits until namespace `i` handled the head: applied it (a valid set), logged an error for it,
   * or (suspended) says Suspended=True at it. Undefined when it did, else what it did not do.
   */
  private async waitHandled(
    m: Model,
    i: number,
    o: { head7: string; handledBy: number },
  ): Promise<string | undefined> {
    const ns = this.w.namespaces[i] as string;
    const mean = meaning(head(m).ns[i] as NsState);
    const valid = mean.status === 'valid';
    const held = !!m.suspended[i];
    const handled = held ? () => this.heldAt(ns, o.head7) : () => this.handled(ns, o.head7, valid);
    if (await waitUntil(handled, o.handledBy, 300)) return undefined;
    const didNot = held
      ? 'the Version does not say Suspended at it'
      : valid
        ? 'not applied'
        : 'no error was logged for it';
    return `${o.head7} (${mean.why}) was seen but ${didNot}`;
  }

  /** Waits (bounded) until the operator logs `head7` as its new commit; false when it did not. */
  private async waitSeen(head7: string, quietAtStart: boolean): Promise<boolean> {
    const seenBy = Date.now() + (quietAtStart ? SEEN_BOUND_MS : 6_000);
    let last: string | undefined;
    const seen = async () => {
      last = (await this.seen()).seen.at(-1)?.sha7;
      return last === head7;
    };
    if (await waitUntil(seen, seenBy, 250)) return true;
    if (quietAtStart && !this.faultActive())
      this.report(
        'P1',
        `head-not-seen ${head7}`,
        `the operator did not log the head ${head7} as new commit within ${SEEN_BOUND_MS / 1000} s (last seen: ${last})`,
      );
    else this.note(`head ${head7} not seen yet (fault active)`);
    return false;
  }

  /** Suspended: the Version says Suspended=True with `head7` as the head it is not taking up. */
  private async heldAt(ns: string, head7: string): Promise<boolean> {
    const v = await readVersion(this.w.stack.cp, ns).catch(() => undefined);
    const c = v?.status?.conditions?.find((x) => x.type === 'Suspended');
    return c?.status === 'True' && !!c.message?.includes(`the head is ${head7}`);
  }

  /** `head7` applied (a valid set) or an error logged for it (an invalid one); false on a hiccup. */
  private async handled(ns: string, head7: string, valid: boolean): Promise<boolean> {
    try {
      if (valid) return (await readVersion(this.w.stack.cp, ns))?.applied === head7;
      return errorLogged(await this.w.op.logs(), ns, head7);
    } catch {
      return false; // apiserver hiccup: try again until the bound
    }
  }

  private ctx(
    i: number,
    m: Model,
    o: { logs: LogEntry[]; seen: Seen[]; keys: Map<string, string>; final: boolean },
  ): Ctx {
    const { logs, seen, keys, final } = o;
    const ns = this.w.namespaces[i] as string;
    const known = this.appliedSeen.get(ns) ?? new Set<string>();
    this.appliedSeen.set(ns, known);
    const timeline = appliedLogged(logs, ns);
    // A pre phase applies its Jobs before the set: only a main `applied` line applied the set.
    for (const a of timeline) if (a.phase === 'main') known.add(a.sha7);
    known.add(this.sha7(0)); // the run starts from the first commit applied and deployed
    return {
      nsIndex: i,
      ns,
      cluster: CLUSTER,
      commits: m.commits,
      idOf7: this.idOf7,
      seen,
      appliedKnown: known,
      appliedTimeline: timeline,
      keys,
      now: Date.now(),
      quietSince: this.quietSince(),
      faults: this.faultWindows(),
      impaired: this.impaired(),
      suspensions: (this.suspensions.get(ns) ?? []).map((x) => ({ ...x })),
      final,
    };
  }

  /** Every invariant that can be checked now (mid-run: those that timing cannot make flaky). */
  async checkNow(m: Model, final: boolean): Promise<void> {
    const { logs, seen } = await this.seen();
    for (const [i, ns] of this.w.namespaces.entries()) {
      const keys = await this.readKeys(ns, final);
      const v = await this.readVersionSeen(ns);
      const ctx = this.ctx(i, m, { logs, seen, keys, final });
      if (process.env.MODEL_DEBUG && final) this.debugDump(ctx, v);
      if (!this.s3Down) checkS3(ctx, (a, b, c) => this.report(a, b, c));
      if (this.apiDown) continue;
      if (final && !this.s3Down) checkSink(ctx, v, this.w.hook.accepted, (a, b, c) => this.report(a, b, c));
      checkVersion(ctx, v, (a, b, c) => this.report(a, b, c));
      await this.checkObjects(ctx, v, final);
    }
    if (final) {
      this.checkCrashes();
      this.explainLate(logs);
    }
  }

  /** The namespace's S3 keys and bodies (none while S3 is down); at the end, checked for rewrites. */
  private async readKeys(ns: string, final: boolean): Promise<Map<string, string>> {
    const none = new Map<string, string>();
    if (this.s3Down) return none;
    const keys = await s3Keys(this.w.stack.s3, ns, this.bodies).catch(() => none);
    if (final) await this.checkRewritten(ns, keys);
    return keys;
  }

  /** The namespace's Version (none while the apiserver is down); its `applied` counts as applied. */
  private async readVersionSeen(ns: string): Promise<VersionView | undefined> {
    if (this.apiDown) return undefined;
    const v = await readVersion(this.w.stack.cp, ns).catch(() => undefined);
    if (v?.applied) this.appliedSeen.get(ns)?.add(v.applied);
    return v;
  }

  /** I2: bodies are cached from their first read: read them again; a file is written once. */
  private async checkRewritten(ns: string, keys: Map<string, string>): Promise<void> {
    const fresh = await s3Keys(this.w.stack.s3, ns, new Map()).catch(() => new Map<string, string>());
    for (const [k, b] of fresh) {
      if (keys.get(k) !== b)
        this.report(
          'I2',
          `rewritten ${k}`,
          `${k} was rewritten: first read ${JSON.stringify(keys.get(k))}, now ${JSON.stringify(b)}`,
        );
    }
  }

  /** MODEL_DEBUG: what the operator saw, the Version and the S3 files of a namespace. */
  private debugDump(ctx: Ctx, v: VersionView | undefined): void {
    const { ns, seen, keys } = ctx;
    const files = [...keys].map(
      ([k, b]) => `    ${k.slice(CLUSTER.length + ns.length + 2)}  ${b.trim().slice(0, 140)}`,
    );
    this.log(
      `debug ${ns}: seen ${seen.map((s) => s.sha7).join(',')}; Version ${JSON.stringify({ applied: v?.applied, deployed: v?.deployed })}\n${files.join('\n')}`,
    );
  }

  /** I1, retried briefly mid-run: an apply in progress is ahead of `applied` for a moment. */
  private async checkObjects(ctx: Ctx, v: VersionView | undefined, final: boolean): Promise<void> {
    const ns = ctx.ns;
    let problems: string[] = [];
    for (let attempt = 0; attempt < (final ? 1 : 4); attempt++) {
      if (attempt) {
        await sleep(1500);
        v = await readVersion(this.w.stack.cp, ns).catch(() => v);
      }
      const live = await liveObjects(this.w.stack.cp, ns).catch(() => undefined);
      if (!live) return;
      problems = this.objectProblems(ctx, v, live);
      if (!problems.length) return;
    }
    for (const p of problems)
      this.report('I1', `objects ${ns} ${p.replace(/ \(set of .*\)$/, '')}`, `${ns}: ${p}`);
  }

  /** I1 now: the set the cluster must hold (at quiescence the latest valid one seen), hand-made objects. */
  private objectProblems(ctx: Ctx, v: VersionView | undefined, live: LiveObject[]): string[] {
    const target = ctx.final ? (latestOwed(ctx)?.sha7 ?? v?.applied) : v?.applied;
    // The post phase runs once the head's rollout is healthy.
    const tm = target ? meaningAt(ctx, target) : undefined;
    const postRan =
      ctx.final &&
      target === ctx.seen.at(-1)?.sha7 &&
      !!tm &&
      Object.values(tm.deployments).every((d) => d.schedulable);
    // A newer head whose pre phase failed applied its pre Job (and nothing else): it stays until a
    // set without it is applied.
    const after = ctx.seen.slice(ctx.seen.map((x) => x.sha7).lastIndexOf(target ?? '') + 1);
    const laterPre = after.some((x) => meaningAt(ctx, x.sha7)?.status === 'prefail');
    const check = { strictPrune: ctx.final, postRan, laterPre };
    const problems = target
      ? objectMismatches(ctx, target, live, check).map((p) => `${p} (set of ${target})`)
      : [];
    const hand = this.w.handmade[ctx.ns];
    if (hand) problems.push(...handmadeProblems(live, hand).map((p) => `hand-made: ${p}`));
    return problems;
  }

  /** A late file: when was it recorded (its body) and when did the operator PUT it (its log)? */
  private explainLate(logs: LogEntry[]): void {
    for (const v of this.violations.values()) {
      if (!v.key.startsWith('late ') || v.message.includes('finally:')) continue;
      const okKey = v.key.slice('late '.length);
      const puts = logs.filter(
        (l) => l.msg === 'S3 file written' && (l.key === okKey || l.key === `${okKey}.failed`),
      );
      const body = this.bodies.get(okKey) ?? this.bodies.get(`${okKey}.failed`);
      v.message += puts.length
        ? `; finally: recorded ${body?.trim().split(' ')[0]}, written at ${puts.map((p) => p.time).join(', ')}`
        : `; finally: ${body === undefined ? 'never written' : `recorded ${body.trim().split(' ')[0]}, no write logged`}`;
    }
  }

  private checkCrashes(): void {
    for (const c of this.w.op.crashes) {
      const during = this.faults.some(
        (f) => f.from - 1000 <= c.at && c.at <= (f.to ?? Date.now()) + RECOVERY_MS,
      );
      const line = `operator incarnation ${c.incarnation} exited on its own (code ${c.code}, signal ${c.signal}) at +${((c.at - this.t0) / 1000).toFixed(1)} s${during ? ' during/after a fault' : ' with no fault active'}; log tail:\n${c.tail}`;
      if (during) this.log(`note: ${line}`);
      else this.report('P3', `crash ${c.incarnation}`, line);
    }
  }

  // -------------------------------------------------------------------------------------------
  // The end: heal, wait for quiescence, check everything.

  async heal(m: Model): Promise<void> {
    const { s3, cp } = this.w.stack;
    if (this.s3Down === 'pause') s3.resume();
    if (this.s3Down === 'stop') await s3.startServer();
    if (this.apiDown) {
      await cp.startApiserver();
      this.apiDown = false;
      const f = this.faults.findLast((x) => x.what === 'apiserver down');
      if (f) await this.controllersBack(f);
    }
    this.s3Down = undefined;
    m.s3Down = undefined;
    for (const f of this.faults) f.to ??= Date.now();
    if (!this.w.op.running()) this.w.op.start();
    for (const [i, on] of m.suspended.entries()) if (on) await this.setSuspended(m, i, false);
  }

  /** Waits (bounded) until every required outcome exists and applied is the latest valid sha. */
  async quiesce(m: Model): Promise<void> {
    const head7 = this.sha7(head(m).id);
    const deadline = Math.max(Date.now(), this.quietSince()) + (ROLLOUT_TIMEOUT_S + 6 * POLL_S + 30) * 1000;
    this.log(`quiescence: waiting up to ${((deadline - Date.now()) / 1000).toFixed(0)} s`);
    const quiet = async () => {
      const { logs, seen } = await this.seen();
      if (seen.at(-1)?.sha7 !== head7) return false;
      for (const i of this.w.namespaces.keys()) {
        if (!(await this.nsQuiet(i, m, { logs, seen }))) return false;
      }
      return true;
    };
    await waitUntil(quiet, deadline, 2000);
    await sleep(2 * POLL_S * 1000); // one more poll: a late duplicate file would show now
    this.log(
      `quiescence reached or bound passed after ${((Date.now() - this.t0) / 1000).toFixed(0)} s of run`,
    );
  }

  /** Every required outcome of the namespace exists, applied is the latest valid sha, nothing pending. */
  private async nsQuiet(i: number, m: Model, o: { logs: LogEntry[]; seen: Seen[] }): Promise<boolean> {
    const ns = this.w.namespaces[i] as string;
    const keys = await s3Keys(this.w.stack.s3, ns, this.bodies).catch(() => new Map<string, string>());
    const ctx = this.ctx(i, m, { ...o, keys, final: true });
    const missing = expectations(ctx).some((e) =>
      [...e.deps].some(
        ([d, x]) =>
          x.required &&
          !keys.has(`${CLUSTER}/${ns}/${d}/${e.sha7}`) &&
          !keys.has(`${CLUSTER}/${ns}/${d}/${e.sha7}.failed`),
      ),
    );
    const latest = latestOwed(ctx)?.sha7;
    const v = await readVersion(this.w.stack.cp, ns).catch(() => undefined);
    const pending = v?.status?.pending?.length ?? 0;
    // Every workload can be healthy at the latest sha: deployed must get there (also after a
    // rollout that timed out while the controllers were blind and finished later).
    const target = latest ? meaningAt(ctx, latest) : undefined;
    const deployable = !!target && Object.values(target.deployments).every((x) => x.schedulable);
    return !missing && v?.applied === latest && pending === 0 && (!deployable || v?.deployed === latest);
  }
}

/** Polls `check` every `intervalMs` until it is true (true) or `deadline` has passed (false). */
async function waitUntil(
  check: () => Promise<boolean>,
  deadline: number,
  intervalMs: number,
): Promise<boolean> {
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await sleep(intervalMs);
  }
}
