// The steps fast-check picks from. Parameters are generated (so a seed replays the same list);
// choices that depend on the state (which deployment, which older commit) are made from the
// model at run time with a generated number, which is deterministic too.
import { setTimeout as sleep } from 'node:timers/promises';
import fc from 'fast-check';
import type { Real } from './harness.ts';
import {
  clone,
  coreDeps,
  type DryRunVariant,
  dryRunVariants,
  type EmptyHow,
  emptyHows,
  type JobState,
  type Model,
  type NsState,
} from './model.ts';

type Cmd = fc.AsyncCommand<Model, Real>;

/** Steps S3 may stay down; then it is brought back before the next step acts. */
const MAX_S3_DOWN_STEPS = 3;
/** Steps a namespace may stay suspended; then it is resumed before the next step acts. */
const MAX_SUSPENDED_STEPS = 3;

abstract class Step implements Cmd {
  abstract label(): string;
  protected abstract act(m: Model, r: Real): Promise<void>;
  protected pre(_m: Model): boolean {
    return true;
  }
  check(m: Readonly<Model>): boolean {
    return this.pre(m as Model);
  }
  async run(m: Model, r: Real): Promise<void> {
    await r.runStep(m, this.label(), async () => {
      // S3 stays down a few steps at most: then it comes back before the next step acts.
      if (m.s3Down && m.s3DownSteps >= MAX_S3_DOWN_STEPS) await s3Back(m, r);
      for (const [ns, on] of m.suspended.entries())
        if (on && (m.suspendedSteps[ns] ?? 0) >= MAX_SUSPENDED_STEPS) await r.setSuspended(m, ns, false);
      await this.act(m, r);
    });
  }
  toString(): string {
    return this.label();
  }
}

const depNames = (s: NsState) => Object.keys(s.deps).sort();
const pickDep = (s: NsState, pick: number) => depNames(s)[pick % depNames(s).length] as string;

/** The head state with one namespace changed by `f` (its folder rendered from the state again). */
function change(m: Model, ns: number, f: (s: NsState) => void): NsState[] {
  const next = clone(m.ns);
  const s = next[ns] as NsState;
  s.broken = undefined;
  f(s);
  return next;
}

const bump = (s: NsState, dep: string, unsched = false) => {
  const d = s.deps[dep];
  if (d) {
    d.v++;
    d.unsched = unsched;
  }
};

class Bump extends Step {
  constructor(
    readonly ns: number,
    readonly pick: number,
  ) {
    super();
  }
  label() {
    return `bump image of deployment#${this.pick} in ns${this.ns} (healthy)`;
  }
  async act(m: Model, r: Real) {
    const dep = pickDep(m.ns[this.ns] as NsState, this.pick);
    await r.commit(
      m,
      change(m, this.ns, (s) => bump(s, dep)),
      `ns${this.ns}: ${dep} new image, schedulable`,
    );
  }
}

class Config extends Step {
  constructor(readonly ns: number) {
    super();
  }
  label() {
    return `change ConfigMap settings in ns${this.ns}`;
  }
  async act(m: Model, r: Real) {
    await r.commit(
      m,
      change(m, this.ns, (s) => s.cm++),
      `ns${this.ns}: settings data`,
    );
  }
}

class AddWorker extends Step {
  constructor(
    readonly ns: number,
    readonly unsched: boolean,
  ) {
    super();
  }
  override pre(m: Model) {
    return !m.ns[this.ns]?.deps.worker;
  }
  label() {
    return `add Deployment worker to ns${this.ns}${this.unsched ? ' (unschedulable)' : ''}`;
  }
  async act(m: Model, r: Real) {
    const next = change(m, this.ns, (s) => {
      s.deps.worker = { v: 1, unsched: this.unsched, track: 0 };
    });
    await r.commit(m, next, `ns${this.ns}: add worker${this.unsched ? ' (unschedulable)' : ''}`);
  }
}

class RemoveWorker extends Step {
  constructor(readonly ns: number) {
    super();
  }
  override pre(m: Model) {
    return !!m.ns[this.ns]?.deps.worker;
  }
  label() {
    return `remove Deployment worker from ns${this.ns}`;
  }
  async act(m: Model, r: Real) {
    const next = change(m, this.ns, (s) => {
      delete s.deps.worker;
    });
    await r.commit(m, next, `ns${this.ns}: remove worker`);
  }
}

class ToggleExtra extends Step {
  constructor(readonly ns: number) {
    super();
  }
  label() {
    return `add/remove ConfigMap extra (2nd document of svc.yaml) in ns${this.ns}`;
  }
  async act(m: Model, r: Real) {
    const on = !m.ns[this.ns]?.extra;
    await r.commit(
      m,
      change(m, this.ns, (s) => (s.extra = on)),
      `ns${this.ns}: ${on ? 'add' : 'remove'} extra`,
    );
  }
}

class BreakYaml extends Step {
  constructor(
    readonly ns: number,
    readonly file: number,
  ) {
    super();
  }
  label() {
    return `break YAML of file#${this.file} in ns${this.ns}`;
  }
  async act(m: Model, r: Real) {
    const next = clone(m.ns);
    (next[this.ns] as NsState).broken = { kind: 'yaml', file: this.file };
    await r.commit(m, next, `ns${this.ns}: broken YAML`);
  }
}

class DryRun extends Step {
  constructor(
    readonly ns: number,
    readonly variant: DryRunVariant,
    readonly pick: number,
  ) {
    super();
  }
  label() {
    return `commit a set the dry-run rejects in ns${this.ns} (${this.variant}, deployment#${this.pick})`;
  }
  async act(m: Model, r: Real) {
    const next = clone(m.ns);
    const s = next[this.ns] as NsState;
    s.broken = { kind: 'dryrun', variant: this.variant, dep: pickDep(s, this.pick) };
    await r.commit(m, next, `ns${this.ns}: dry-run rejects (${this.variant})`);
  }
}

class Empty extends Step {
  constructor(
    readonly ns: number,
    readonly how: EmptyHow,
  ) {
    super();
  }
  label() {
    return this.how === 'delete'
      ? `delete the folder of ns${this.ns}`
      : `empty every file of ns${this.ns} (${this.how})`;
  }
  async act(m: Model, r: Real) {
    const next = clone(m.ns);
    (next[this.ns] as NsState).broken = { kind: 'empty', how: this.how };
    await r.commit(m, next, `ns${this.ns}: emptied (${this.how})`);
  }
}

class Unschedulable extends Step {
  constructor(
    readonly ns: number,
    readonly pick: number,
  ) {
    super();
  }
  label() {
    return `make deployment#${this.pick} in ns${this.ns} unschedulable`;
  }
  async act(m: Model, r: Real) {
    const dep = pickDep(m.ns[this.ns] as NsState, this.pick);
    await r.commit(
      m,
      change(m, this.ns, (s) => bump(s, dep, true)),
      `ns${this.ns}: ${dep} unschedulable`,
    );
  }
}

class Supersede extends Step {
  constructor(
    readonly ns: number,
    readonly pick: number,
    readonly delayMs: number,
  ) {
    super();
  }
  label() {
    return `unschedulable deployment#${this.pick} in ns${this.ns}, fixed ${this.delayMs} ms later`;
  }
  async act(m: Model, r: Real) {
    const dep = pickDep(m.ns[this.ns] as NsState, this.pick);
    await r.commit(
      m,
      change(m, this.ns, (s) => bump(s, dep, true)),
      `ns${this.ns}: ${dep} unschedulable`,
    );
    await sleep(this.delayMs);
    await r.commit(
      m,
      change(m, this.ns, (s) => bump(s, dep)),
      `ns${this.ns}: ${dep} fixed`,
    );
  }
}

const nextJob = (j: JobState | undefined, fails: boolean): JobState => ({ v: (j?.v ?? 0) + 1, fails });

/** Job `migrate` (phase pre) added or given a new image: it runs (and completes) before the rest. */
class PreJob extends Step {
  constructor(readonly ns: number) {
    super();
  }
  label() {
    return `add/bump the pre Job migrate in ns${this.ns} (completes)`;
  }
  async act(m: Model, r: Real) {
    await r.commit(
      m,
      change(m, this.ns, (s) => (s.pre = nextJob(s.pre, false))),
      `ns${this.ns}: pre Job migrate`,
    );
  }
}

/**
 * A migration that fails: nothing else of the set is applied, every Deployment gets PrePhaseFailed
 * (and every later commit keeping it, too: the failed Job is not run again). Optionally fixed
 * (a new migrate image that completes) `fixMs` later.
 */
class FailingPre extends Step {
  constructor(
    readonly ns: number,
    readonly pick: number,
    readonly fixMs: number | undefined,
  ) {
    super();
  }
  label() {
    const fix = this.fixMs === undefined ? '' : `, fixed ${this.fixMs} ms later`;
    return `failing pre Job migrate in ns${this.ns} with a bump of deployment#${this.pick}${fix}`;
  }
  async act(m: Model, r: Real) {
    const dep = pickDep(m.ns[this.ns] as NsState, this.pick);
    await r.commit(
      m,
      change(m, this.ns, (s) => {
        s.pre = nextJob(s.pre, true);
        bump(s, dep);
      }),
      `ns${this.ns}: failing migration, ${dep} new image`,
    );
    if (this.fixMs === undefined) return;
    await sleep(this.fixMs);
    await r.commit(
      m,
      change(m, this.ns, (s) => (s.pre = nextJob(s.pre, false))),
      `ns${this.ns}: migration fixed`,
    );
  }
}

class RemovePre extends Step {
  constructor(readonly ns: number) {
    super();
  }
  override pre(m: Model) {
    return !!m.ns[this.ns]?.pre;
  }
  label() {
    return `remove the pre Job migrate from ns${this.ns}`;
  }
  async act(m: Model, r: Real) {
    await r.commit(
      m,
      change(m, this.ns, (s) => (s.pre = undefined)),
      `ns${this.ns}: no pre Job`,
    );
  }
}

/** Job `notify` (phase post), optionally failing (the Version says so; no S3 outcome changes), or removed. */
class PostJob extends Step {
  constructor(
    readonly ns: number,
    readonly what: 'ok' | 'fails' | 'remove',
  ) {
    super();
  }
  override pre(m: Model) {
    return this.what !== 'remove' || !!m.ns[this.ns]?.post;
  }
  label() {
    if (this.what === 'remove') return `remove the post Job notify from ns${this.ns}`;
    return `add/bump the post Job notify in ns${this.ns}${this.what === 'fails' ? ' (fails)' : ''}`;
  }
  async act(m: Model, r: Real) {
    const next = change(m, this.ns, (s) => {
      s.post = this.what === 'remove' ? undefined : nextJob(s.post, this.what === 'fails');
    });
    await r.commit(m, next, `ns${this.ns}: post Job ${this.what}`);
  }
}

/**
 * A Deployment's selector changes (immutable). With the recreate annotation (every Deployment of
 * the model has it) it is deleted and created again; without it (the `selector` break, a one-off
 * commit whose track no commit ever had) the dry-run refuses the whole set.
 */
class Selector extends Step {
  constructor(
    readonly ns: number,
    readonly pick: number,
    readonly optIn: boolean,
  ) {
    super();
  }
  label() {
    return `change the selector of deployment#${this.pick} in ns${this.ns} ${this.optIn ? 'with' : 'without'} the recreate annotation`;
  }
  async act(m: Model, r: Real) {
    if (this.optIn) {
      const dep = pickDep(m.ns[this.ns] as NsState, this.pick);
      const next = change(m, this.ns, (s) => {
        (s.deps[dep] as NsState['deps'][string]).track++;
      });
      await r.commit(m, next, `ns${this.ns}: ${dep} new selector, recreate`);
      return;
    }
    // api or web: always in the cluster, so the change is refused, never a create.
    const dep = coreDeps[this.pick % coreDeps.length] as string;
    const next = clone(m.ns);
    (next[this.ns] as NsState).broken = { kind: 'selector', dep, track: 1000 + m.step };
    await r.commit(m, next, `ns${this.ns}: ${dep} new selector, no recreate annotation`);
  }
}

/** `git-sync-operator suspend NS` / `resume NS`; a suspension lasts a few steps at most. */
class Suspend extends Step {
  constructor(
    readonly ns: number,
    readonly on: boolean,
  ) {
    super();
  }
  override pre(m: Model) {
    return m.suspended[this.ns] !== this.on;
  }
  label() {
    return `${this.on ? 'suspend' : 'resume'} ns${this.ns}`;
  }
  async act(m: Model, r: Real) {
    await r.setSuspended(m, this.ns, this.on);
  }
}

class ForcePush extends Step {
  constructor(
    readonly pickParent: number,
    readonly ns: number,
    readonly pick: number,
  ) {
    super();
  }
  override pre(m: Model) {
    return m.branch.length >= 2;
  }
  label() {
    return `force-push: new commit (image bump of deployment#${this.pick} in ns${this.ns}) on top of older commit#${this.pickParent}`;
  }
  async act(m: Model, r: Real) {
    const parent = m.branch[this.pickParent % (m.branch.length - 1)] as number;
    const dep = pickDep(m.ns[this.ns] as NsState, this.pick);
    await r.commit(
      m,
      change(m, this.ns, (s) => bump(s, dep)),
      `ns${this.ns}: ${dep} new image (rewritten history)`,
      parent,
    );
  }
}

class Rewind extends Step {
  constructor(readonly pick: number) {
    super();
  }
  override pre(m: Model) {
    return m.branch.length >= 2;
  }
  label() {
    return `force-push the branch back to older commit#${this.pick}`;
  }
  async act(m: Model, r: Real) {
    await r.rewind(m, m.branch[this.pick % (m.branch.length - 1)] as number);
  }
}

class Kill extends Step {
  /** A commit just before the kill (the operator may be mid-apply), or while it is down. */
  readonly commit: 'none' | 'before' | 'while-down';
  readonly ns: number;
  readonly pick: number;
  readonly delayMs: number;
  readonly downMs: number;
  constructor(o: Pick<Kill, 'commit' | 'ns' | 'pick' | 'delayMs' | 'downMs'>) {
    super();
    this.commit = o.commit;
    this.ns = o.ns;
    this.pick = o.pick;
    this.delayMs = o.delayMs;
    this.downMs = o.downMs;
  }
  label() {
    const bump = `bump deployment#${this.pick} in ns${this.ns}`;
    const kill = `SIGKILL the operator after ${this.delayMs} ms, restart ${this.downMs} ms later`;
    if (this.commit === 'before') return `${bump}, ${kill}`;
    if (this.commit === 'while-down') return `${kill}; ${bump} while it is down`;
    return kill;
  }
  async act(m: Model, r: Real) {
    const commit = async () => {
      const dep = pickDep(m.ns[this.ns] as NsState, this.pick);
      await r.commit(
        m,
        change(m, this.ns, (s) => bump(s, dep)),
        `ns${this.ns}: ${dep} new image`,
      );
    };
    if (this.commit === 'before') await commit();
    await sleep(this.delayMs);
    const f = r.faultStart('operator killed');
    await r.w.op.kill();
    if (this.commit === 'while-down') await commit();
    await sleep(this.downMs);
    r.w.op.start();
    r.faultEnd(f);
    r.note(`operator killed and restarted (incarnation ${r.w.op.incarnations.length - 1})`);
  }
}

class S3Down extends Step {
  constructor(readonly mode: 'pause' | 'stop') {
    super();
  }
  override pre(m: Model) {
    return !m.s3Down;
  }
  label() {
    return `S3 down (${this.mode === 'pause' ? 'hung: SIGSTOP' : 'refusing: stopped'})`;
  }
  async act(m: Model, r: Real) {
    r.faultStart(`S3 ${this.mode}`);
    if (this.mode === 'pause') await r.w.stack.s3.pause();
    else await r.w.stack.s3.stopServer();
    m.s3Down = this.mode;
    m.s3DownSteps = 0;
    r.s3Down = this.mode;
  }
}

async function s3Back(m: Model, r: Real): Promise<void> {
  if (m.s3Down === 'pause') r.w.stack.s3.resume();
  else if (m.s3Down === 'stop') await r.w.stack.s3.startServer();
  if (m.s3Down) r.note(`S3 back after ${m.s3DownSteps} step(s)`);
  m.s3Down = undefined;
  r.s3Down = undefined;
  for (const f of r.faults) if (f.what.startsWith('S3')) f.to ??= Date.now();
}

class S3Up extends Step {
  override pre(m: Model) {
    return !!m.s3Down;
  }
  label() {
    return 'S3 back';
  }
  async act(m: Model, r: Real) {
    await s3Back(m, r);
  }
}

class ApiRestart extends Step {
  constructor(
    readonly downMs: number,
    readonly commitDuring: boolean,
    readonly ns: number,
    readonly pick: number,
  ) {
    super();
  }
  override pre(m: Model) {
    return m.apiRestartsLeft > 0;
  }
  label() {
    const during = this.commitDuring ? `, bump deployment#${this.pick} in ns${this.ns} meanwhile` : '';
    return `apiserver+etcd killed for ${this.downMs} ms${during}, restarted`;
  }
  async act(m: Model, r: Real) {
    const { cp } = r.w.stack;
    m.apiRestartsLeft--;
    const f = r.faultStart('apiserver down');
    r.apiDown = true;
    await cp.stopApiserver();
    if (this.commitDuring) {
      const dep = pickDep(m.ns[this.ns] as NsState, this.pick);
      await r.commit(
        m,
        change(m, this.ns, (s) => bump(s, dep)),
        `ns${this.ns}: ${dep} new image`,
      );
    }
    await sleep(this.downMs);
    await cp.startApiserver();
    r.apiDown = false;
    await r.controllersBack(f);
  }
}

type BurstAction = 'bump' | 'unsched' | 'break' | 'empty';

/**
 * Several commits a few hundred ms apart, no settling in between: some are seen, some never are
 * (out of scope), and reconciles are superseded mid-way, valid and invalid sets mixed.
 */
class Burst extends Step {
  constructor(readonly actions: { ns: number; pick: number; what: BurstAction; gapMs: number }[]) {
    super();
  }
  label() {
    return `burst: ${this.actions.map((a) => `${a.what} ns${a.ns}#${a.pick} +${a.gapMs} ms`).join(', ')}`;
  }
  async act(m: Model, r: Real) {
    for (const a of this.actions) {
      const s = m.ns[a.ns] as NsState;
      const dep = pickDep(s, a.pick);
      let next: NsState[];
      if (a.what === 'bump' || a.what === 'unsched') {
        next = change(m, a.ns, (x) => bump(x, dep, a.what === 'unsched'));
      } else {
        next = clone(m.ns);
        (next[a.ns] as NsState).broken =
          a.what === 'break'
            ? { kind: 'yaml', file: a.pick }
            : { kind: 'empty', how: emptyHows[a.pick % emptyHows.length] as EmptyHow };
      }
      await r.commit(m, next, `ns${a.ns}: burst ${a.what} ${dep}`);
      await sleep(a.gapMs);
    }
  }
}

class Wait extends Step {
  constructor(readonly ms: number) {
    super();
  }
  label() {
    return `wait ${this.ms} ms`;
  }
  async act() {
    await sleep(this.ms);
  }
}

/** One step, weighted: ordinary commits most, each fault now and then. */
export function stepArb(namespaces: number): fc.Arbitrary<Cmd> {
  const ns = fc.nat({ max: namespaces - 1 });
  const pick = fc.nat({ max: 11 });
  const w = <T>(weight: number, arbitrary: fc.Arbitrary<T>) => ({ weight, arbitrary });
  return fc.oneof(
    w(
      5,
      fc.tuple(ns, pick).map(([n, p]) => new Bump(n, p)),
    ),
    w(
      2,
      ns.map((n) => new Config(n)),
    ),
    w(
      1,
      fc.tuple(ns, fc.boolean()).map(([n, u]) => new AddWorker(n, u)),
    ),
    w(
      1,
      ns.map((n) => new RemoveWorker(n)),
    ),
    w(
      1,
      ns.map((n) => new ToggleExtra(n)),
    ),
    w(
      2,
      fc.tuple(ns, pick).map(([n, f]) => new BreakYaml(n, f)),
    ),
    w(
      1,
      fc.tuple(ns, fc.constantFrom(...dryRunVariants), pick).map(([n, v, p]) => new DryRun(n, v, p)),
    ),
    w(
      2,
      fc.tuple(ns, fc.constantFrom(...emptyHows)).map(([n, h]) => new Empty(n, h)),
    ),
    w(
      2,
      fc.tuple(ns, pick).map(([n, p]) => new Unschedulable(n, p)),
    ),
    w(
      2,
      fc.tuple(ns, pick, fc.integer({ min: 1000, max: 5000 })).map(([n, p, d]) => new Supersede(n, p, d)),
    ),
    w(
      1,
      fc.tuple(pick, ns, pick).map(([a, n, p]) => new ForcePush(a, n, p)),
    ),
    w(
      1,
      pick.map((p) => new Rewind(p)),
    ),
    w(
      2,
      fc
        .tuple(
          fc.constantFrom('none' as const, 'before' as const, 'while-down' as const),
          ns,
          pick,
          fc.integer({ min: 0, max: 3000 }),
          fc.integer({ min: 0, max: 3000 }),
        )
        .map(([commit, ns, pick, delayMs, downMs]) => new Kill({ commit, ns, pick, delayMs, downMs })),
    ),
    w(
      1,
      fc.constantFrom('pause' as const, 'stop' as const).map((mode) => new S3Down(mode)),
    ),
    w(2, fc.constant(new S3Up())),
    w(
      1,
      fc
        .tuple(fc.integer({ min: 1000, max: 5000 }), fc.boolean(), ns, pick)
        .map(([d, c, n, p]) => new ApiRestart(d, c, n, p)),
    ),
    w(
      1,
      fc.integer({ min: 500, max: 6000 }).map((ms) => new Wait(ms)),
    ),
    w(
      2,
      ns.map((n) => new PreJob(n)),
    ),
    w(
      2,
      fc
        .tuple(ns, pick, fc.option(fc.integer({ min: 500, max: 4000 }), { nil: undefined }))
        .map(([n, p, f]) => new FailingPre(n, p, f)),
    ),
    w(
      1,
      ns.map((n) => new RemovePre(n)),
    ),
    w(
      1,
      fc
        .tuple(ns, fc.constantFrom('ok' as const, 'fails' as const, 'remove' as const))
        .map(([n, x]) => new PostJob(n, x)),
    ),
    w(
      2,
      fc.tuple(ns, pick, fc.boolean()).map(([n, p, o]) => new Selector(n, p, o)),
    ),
    w(
      2,
      fc.tuple(ns, fc.boolean()).map(([n, on]) => new Suspend(n, on)),
    ),
    w(
      2,
      fc
        .array(
          fc.record({
            ns,
            pick,
            what: fc.constantFrom<BurstAction>('bump', 'bump', 'unsched', 'break', 'empty'),
            gapMs: fc.integer({ min: 100, max: 1500 }),
          }),
          { minLength: 2, maxLength: 4 },
        )
        .map((actions) => new Burst(actions)),
    ),
  );
}
