// The checker checks: synthetic observations with known violations must be reported, and a clean
// history must not be (a vacuous checker would pass every model run).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Ctx, checkS3, checkVersion, handmadeProblems, objectMismatches } from './invariants.ts';
import { type CommitModel, clone, failMessage, image, initialNs, type NsState } from './model.ts';
import type { LiveObject } from './observe.ts';

const t0 = Date.parse('2026-01-01T00:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');

function history(): { commits: CommitModel[]; ids: string[] } {
  const s0 = initialNs();
  const s1 = clone(s0);
  (s1.deps.web as NsState['deps'][string]).unsched = true;
  (s1.deps.web as NsState['deps'][string]).v = 2;
  const s2: NsState = { ...clone(s1), broken: { kind: 'yaml', file: 99 } }; // adds broken.yaml
  const s3 = clone(s0);
  (s3.deps.api as NsState['deps'][string]).v = 3;
  const states = [s0, s1, s2, s3];
  return {
    commits: states.map((s, id) => ({ id, parent: id ? id - 1 : undefined, ns: [s], what: `c${id}` })),
    ids: ['aaaaaaa', 'bbbbbbb', 'ccccccc', 'eeeeeee'],
  };
}

function ctx(keys: Record<string, string>, final = true): Ctx {
  const { commits, ids } = history();
  return {
    nsIndex: 0,
    ns: 'app',
    cluster: 'iowa-a',
    commits,
    idOf7: new Map(ids.map((s, i) => [s, i])),
    seen: ids.map((sha7, i) => ({ sha7, at: t0 + i * 1000, incarnation: 0 })),
    appliedKnown: new Set(['aaaaaaa', 'bbbbbbb', 'eeeeeee']),
    appliedTimeline: [
      { at: t0 + 100, sha7: 'aaaaaaa', phase: 'main' },
      { at: t0 + 1100, sha7: 'bbbbbbb', phase: 'main' },
      { at: t0 + 3100, sha7: 'eeeeeee', phase: 'main' },
    ],
    keys: new Map(Object.entries(keys).map(([k, v]) => [`iowa-a/app/${k}`, v])),
    now: t0 + 120_000,
    quietSince: t0,
    faults: [],
    impaired: [],
    suspensions: [],
    final,
  };
}

const collect = (f: (r: (inv: string, key: string, msg: string) => void) => void) => {
  const out: string[] = [];
  f((_inv, key) => out.push(key.replace(/iowa-a\/app\//g, '')));
  return out.sort();
};

const ok = iso(t0 + 500);
const clean = {
  'api/aaaaaaa': ok,
  'web/aaaaaaa': ok,
  'api/bbbbbbb': ok,
  'web/bbbbbbb.failed': `${iso(t0 + 1500)} Superseded: Superseded by eeeeeee before it became healthy`,
  'api/ccccccc.failed': `${iso(t0 + 2100)} InvalidManifests: iowa-a/app/broken.yaml:3: bad`,
  'web/ccccccc.failed': `${iso(t0 + 2100)} InvalidManifests: iowa-a/app/broken.yaml:3: bad`,
  'api/eeeeeee': iso(t0 + 4000),
  'web/eeeeeee': iso(t0 + 4000),
};

test('a history that keeps the contract reports nothing', () => {
  assert.deepEqual(
    collect((r) => checkS3(ctx(clean), r)),
    [],
  );
  assert.deepEqual(
    collect((r) =>
      checkVersion(
        ctx(clean),
        {
          applied: 'eeeeeee',
          deployed: 'eeeeeee',
          status: { conditions: [{ type: 'Ready', status: 'True' }] },
        },
        r,
      ),
    ),
    [],
  );
});

test('each kind of S3 violation is reported', () => {
  const keys: Record<string, string> = {
    ...clean,
    // success although web is unschedulable at bbbbbbb, next to its .failed
    'web/bbbbbbb': ok,
    // a success for an invalid set
    'api/ccccccc': ok,
    // a transient error written as a failure of a valid, schedulable sha
    'api/eeeeeee.failed': `${iso(t0 + 4000)} ApplyFailed: apiserver unreachable`,
    // api healthy at bbbbbbb's spec only until eeeeeee (api v3) was applied
    'api/bbbbbbb': iso(t0 + 5000),
    // a malformed failure body
    'web/ccccccc.failed': 'boom',
    // a sha never pushed, a deployment git never had
    'api/ddddddd': ok,
    'handmade/aaaaaaa': ok,
  };
  delete keys['web/eeeeeee'];
  assert.deepEqual(
    collect((r) => checkS3(ctx(keys), r)),
    [
      'bad-success api/ccccccc',
      'bad-success web/bbbbbbb',
      'body web/ccccccc.failed',
      'both api/ccccccc',
      'both api/eeeeeee',
      'both web/bbbbbbb',
      'missing web/eeeeeee',
      'reason api/eeeeeee.failed',
      'stale-success api/bbbbbbb',
      'stale-success web/bbbbbbb',
      'unknown-dep handmade/aaaaaaa',
      'unknown-sha api/ddddddd',
    ],
  );
});

test('an outcome recorded after its bound is slow unless a fault came between', () => {
  const keys: Record<string, string> = {
    ...clean,
    'api/ccccccc.failed': `${iso(t0 + 60_000)} InvalidManifests: iowa-a/app/broken.yaml:3: bad`,
  };
  assert.deepEqual(
    collect((r) => checkS3(ctx(keys), r)),
    ['slow api/ccccccc'],
  );
  assert.deepEqual(
    collect((r) => checkS3({ ...ctx(keys), faults: [{ from: t0 + 10_000, to: t0 + 50_000 }] }, r)),
    [],
  );
});

test('mid-run, a missing file is late only after its bound', () => {
  const keys: Record<string, string> = { ...clean };
  delete keys['api/ccccccc.failed'];
  const early = { ...ctx(keys, false), now: t0 + 5000 };
  assert.deepEqual(
    collect((r) => checkS3(early, r)),
    [],
  );
  assert.deepEqual(
    collect((r) => checkS3(ctx(keys, false), r)),
    ['late api/ccccccc'],
  );
});

test('a schedulable rollout that timed out is tolerated only while the controllers were impaired', () => {
  const keys: Record<string, string> = { ...clean };
  delete keys['web/eeeeeee'];
  keys['web/eeeeeee.failed'] = `${iso(t0 + 30_000)} RolloutTimeout: Deployment/web: not observed`;
  assert.deepEqual(
    collect((r) => checkS3(ctx(keys), r)),
    ['reason web/eeeeeee.failed'],
  );
  const tolerated: string[] = [];
  checkS3({ ...ctx(keys), impaired: [{ from: t0 + 3000, to: t0 + 15_000 }] }, (inv, key) => {
    if (inv === 'ENV') tolerated.push(key);
    else assert.fail(key);
  });
  assert.deepEqual(tolerated, ['env iowa-a/app/web/eeeeeee.failed']);
});

test('Version: applied must be a valid sha, deployed a fully healthy one, both the latest at the end', () => {
  assert.deepEqual(
    collect((r) => checkVersion(ctx(clean), { applied: 'ccccccc', deployed: 'bbbbbbb' }, r)),
    ['applied-final app', 'applied-invalid app ccccccc', 'deployed-bad app bbbbbbb', 'deployed-final app'],
  );
});

test('objects: missing, wrong fields, not pruned; hand-made objects touched', () => {
  const c = ctx(clean);
  const live: LiveObject[] = [
    {
      kind: 'Deployment',
      name: 'api',
      labels: { 'git-sync-operator.mozilla.org/managed-by': 'x' },
      resourceVersion: '1',
      image: image('api', 1),
      managers: [],
    },
    {
      kind: 'ConfigMap',
      name: 'old',
      labels: { 'git-sync-operator.mozilla.org/managed-by': 'x' },
      resourceVersion: '1',
      managers: [],
    },
    { kind: 'ConfigMap', name: 'not-ours', labels: {}, resourceVersion: '7', managers: ['kubectl'] },
  ];
  const problems = objectMismatches(c, 'eeeeeee', live, { strictPrune: true });
  assert.ok(problems.some((p) => p.startsWith('Deployment/api image')));
  assert.ok(problems.includes('Deployment/web is missing'));
  assert.ok(problems.includes('ConfigMap/old was not pruned'));
  assert.deepEqual(handmadeProblems(live, { cmResourceVersion: '6', deployGeneration: 1 }), [
    'ConfigMap/not-ours was modified',
    'Deployment/handmade was deleted',
  ]);
});

// ---------------------------------------------------------------------------------------------
// Phases, recreate, suspend: a second history.

type Dep = NsState['deps'][string];
const sha = (i: number) => 'abcdef0123456789'.slice(i, i + 1).repeat(7);

/** s0 initial; s1 pre Job v1 + api v2; s2 pre v2 fails + web v2; s3 api selector refused;
 *  s4 api selector changed (recreate); s5 a failing post Job. */
function phased(): NsState[] {
  const s0 = initialNs();
  const s1 = clone(s0);
  s1.pre = { v: 1, fails: false };
  (s1.deps.api as Dep).v = 2;
  const s2 = clone(s1);
  s2.pre = { v: 2, fails: true };
  (s2.deps.web as Dep).v = 2;
  const s3: NsState = { ...clone(s1), broken: { kind: 'selector', dep: 'api', track: 1003 } };
  const s4 = clone(s1);
  (s4.deps.api as Dep).track = 1;
  const s5 = clone(s4);
  s5.post = { v: 1, fails: true };
  return [s0, s1, s2, s3, s4, s5];
}

/** A one-namespace ctx over `states`, each seen 1 s after the previous. */
function ctxOf(states: NsState[], keys: Record<string, string>, more: Partial<Ctx> = {}): Ctx {
  const ids = states.map((_, i) => sha(i));
  const main = (i: number) => ({ at: t0 + i * 1000 + 100, sha7: sha(i), phase: 'main' as const });
  return {
    nsIndex: 0,
    ns: 'app',
    cluster: 'iowa-a',
    commits: states.map((s, id) => ({ id, parent: id ? id - 1 : undefined, ns: [s], what: `c${id}` })),
    idOf7: new Map(ids.map((s, i) => [s, i])),
    seen: ids.map((sha7, i) => ({ sha7, at: t0 + i * 1000, incarnation: 0 })),
    appliedKnown: new Set([sha(0), sha(1), sha(4), sha(5)]),
    appliedTimeline: [
      main(0),
      { ...main(1), at: t0 + 1050, phase: 'pre' },
      main(1),
      { ...main(2), phase: 'pre' },
      main(4),
      main(5),
    ],
    keys: new Map(Object.entries(keys).map(([k, v]) => [`iowa-a/app/${k}`, v])),
    now: t0 + 120_000,
    quietSince: t0,
    faults: [],
    impaired: [],
    suspensions: [],
    final: true,
    ...more,
  };
}

const preFailed = (at: number, v = 2) =>
  `${iso(at)} PrePhaseFailed: pre phase failed: Job/migrate: Job has failed; pod migrate-x7k2p: container migrate exited 1 (Error: ${failMessage('migrate', v)})`;
const refused = (at: number) =>
  `${iso(at)} DryRunRejected: iowa-a/app/api.yaml:1: Deployment/api: spec.selector: field is immutable; to delete and create the object again, annotate it in git with git-sync-operator.mozilla.org/recreate: "true"`;
const phasedClean: Record<string, string> = {
  [`api/${sha(0)}`]: ok,
  [`web/${sha(0)}`]: ok,
  [`api/${sha(1)}`]: iso(t0 + 1500),
  [`web/${sha(1)}`]: iso(t0 + 1500),
  [`api/${sha(2)}.failed`]: preFailed(t0 + 2500),
  [`web/${sha(2)}.failed`]: preFailed(t0 + 2500),
  [`api/${sha(3)}.failed`]: refused(t0 + 3200),
  [`web/${sha(3)}.failed`]: refused(t0 + 3200),
  [`api/${sha(4)}`]: iso(t0 + 4500),
  [`web/${sha(4)}`]: iso(t0 + 4500),
  [`api/${sha(5)}`]: iso(t0 + 5500),
  [`web/${sha(5)}`]: iso(t0 + 5500),
};
const postFailedVersion = {
  applied: sha(5),
  deployed: sha(5),
  status: { conditions: [{ type: 'Ready', status: 'False', reason: 'PostPhaseFailed', message: 'x' }] },
};

test('phases and recreate: a history that keeps the contract reports nothing', () => {
  const c = ctxOf(phased(), phasedClean);
  assert.deepEqual(
    collect((r) => checkS3(c, r)),
    [],
  );
  assert.deepEqual(
    collect((r) => checkVersion(c, postFailedVersion, r)),
    [],
  );
});

test('phases and recreate: PrePhaseFailed and DryRunRejected only where the model says, in the words of the pod', () => {
  const keys = {
    ...phasedClean,
    // a success at a sha whose pre Job fails (the rest of the set was applied after all)
    [`api/${sha(2)}`]: iso(t0 + 2500),
    // PrePhaseFailed without the pod's words
    [`web/${sha(2)}.failed`]: `${iso(t0 + 2500)} PrePhaseFailed: pre phase failed: Job/migrate: Job has failed`,
    // the refused selector change reported as a pre failure
    [`web/${sha(3)}.failed`]: preFailed(t0 + 3200),
    // a post failure turned into an S3 failure
    [`api/${sha(5)}.failed`]: `${iso(t0 + 5500)} PrePhaseFailed: post phase failed: Job/notify`,
  };
  delete keys[`api/${sha(5)}`];
  assert.deepEqual(
    collect((r) => checkS3(ctxOf(phased(), keys), r)),
    [
      `bad-success api/${sha(2)}`,
      `both api/${sha(2)}`,
      `pre-message api/${sha(5)}.failed`,
      `pre-message web/${sha(2)}.failed`,
      `pre-message web/${sha(3)}.failed`,
      `reason api/${sha(5)}.failed`,
      `reason web/${sha(3)}.failed`,
    ],
  );
  // applied at a pre-failed sha; a refused one deployed; at the end Ready does not show the post failure
  const c = ctxOf(phased(), phasedClean);
  assert.deepEqual(
    collect((r) => checkVersion(c, { applied: sha(2), deployed: sha(3) }, r)),
    [
      'applied-final app',
      `applied-invalid app ${sha(2)}`,
      `deployed-bad app ${sha(3)}`,
      'deployed-final app',
    ],
  );
  assert.deepEqual(
    collect((r) =>
      checkVersion(
        c,
        { ...postFailedVersion, status: { conditions: [{ type: 'Ready', status: 'True' }] } },
        r,
      ),
    ),
    ['ready-final app'],
  );
});

test('phases and recreate: a pre Job done after the set, a selector not changed, Jobs left over', () => {
  const c = ctxOf(phased(), phasedClean);
  const managed = { 'git-sync-operator.mozilla.org/managed-by': 'git-sync-operator' };
  const dep = (name: string, track: string): LiveObject => ({
    kind: 'Deployment',
    name,
    labels: managed,
    resourceVersion: '1',
    image: image(name, name === 'api' ? 2 : 1),
    selector: { app: name, track },
    managers: [],
  });
  const migrate: LiveObject = {
    kind: 'Job',
    name: 'migrate',
    labels: managed,
    resourceVersion: '1',
    image: image('migrate', 1),
    job: 'complete',
    created: t0,
    // completed after bbbbbbb's main apply (t0 + 1100): the Deployment rolled first
    completed: t0 + 2000,
    managers: [],
  };
  const notify: LiveObject = { ...migrate, name: 'notify', image: image('notify', 1), job: 'complete' };
  const others: LiveObject[] = [
    {
      kind: 'ConfigMap',
      name: 'settings',
      labels: managed,
      resourceVersion: '1',
      data: { VERSION: '1' },
      managers: [],
    },
    { kind: 'Service', name: 'web', labels: managed, resourceVersion: '1', port: 80, managers: [] },
  ];
  const at5 = objectMismatches(c, sha(5), [dep('api', 'v0'), dep('web', 'v0'), migrate, notify, ...others], {
    strictPrune: true,
    postRan: true,
  });
  // sha(5) was applied at t0 + 5.1 s, after the Job completed: its order is right.
  assert.deepEqual(at5.sort(), [
    'Deployment/api selector {"app":"api","track":"v0"}, want track v1',
    'Job/notify (post) is complete, want failed',
  ]);
  const at1 = objectMismatches(c, sha(1), [dep('api', 'v0'), dep('web', 'v0'), migrate, ...others], {
    strictPrune: false,
  });
  assert.deepEqual(at1, [
    `Job/migrate (pre) completed ${new Date(t0 + 2000).toISOString()}, but the rest of ${sha(1)} was applied at ${new Date(t0 + 1100).toISOString()}`,
  ]);
  // At the end, a set with no Jobs: a managed Job left in the namespace was not pruned.
  const at0 = objectMismatches(c, sha(0), [dep('api', 'v0'), dep('web', 'v0'), migrate, notify, ...others], {
    strictPrune: true,
    postRan: true,
  });
  assert.ok(at0.includes('Job/migrate was not pruned'), at0.join('; '));
  assert.ok(at0.includes('Job/notify was not pruned'), at0.join('; '));
});

test('suspend: nothing applied while suspended; a held sha overwritten before resume rides on the next rollout (same spec) or is superseded; the head at resume is owed from then', () => {
  // s0 applied; suspended from t0 + 1.5 s (Suspended=True at 1.8 s) to t0 + 10 s; s1 (valid) seen
  // at 2 s and a broken set at 2.5 s, both overwritten while suspended; s4 taken up at resume.
  const broken: NsState = { ...clone(phased()[1] as NsState), broken: { kind: 'yaml', file: 0 } };
  const states = [phased()[0], phased()[1], broken, phased()[4]] as NsState[];
  const seen = [0, 2000, 2500, 3000].map((ms, i) => ({ sha7: sha(i), at: t0 + ms, incarnation: 0 }));
  const base = {
    seen,
    appliedKnown: new Set([sha(0)]),
    appliedTimeline: [{ at: t0 + 100, sha7: sha(0), phase: 'main' as const }],
    suspensions: [{ from: t0 + 1500, to: t0 + 10_000, effective: t0 + 1800, applied: sha(0) }],
    now: t0 + 12_000,
    final: false,
  };
  const superseded = `${iso(t0 + 2600)} Superseded: Superseded by ${sha(2)} before it was applied`;
  const keys = { [`api/${sha(0)}`]: ok, [`web/${sha(0)}`]: ok, [`api/${sha(1)}.failed`]: superseded };
  // Mid-run, 12 s after s4 was seen but 2 s after resume: nothing is late yet (web@s1 is not yet).
  assert.deepEqual(
    collect((r) => checkS3(ctxOf(states, keys, base), r)),
    [],
  );
  // Without the suspension, s1 and s4 would be owed their rollouts, late; s2 its InvalidManifests.
  assert.deepEqual(
    collect((r) => checkS3(ctxOf(states, keys, { ...base, suspensions: [], now: t0 + 60_000 }), r)),
    [
      `late api/${sha(2)}`,
      `late api/${sha(3)}`,
      `late web/${sha(1)}`,
      `late web/${sha(2)}`,
      `late web/${sha(3)}`,
    ],
  );
  // A success for the held valid sha with no later head applied; the held broken one failed with
  // its own reason (it was never applied: Superseded only); an apply while suspended; applied
  // moved during an open suspension.
  const bad = ctxOf(
    states,
    {
      ...keys,
      [`web/${sha(1)}`]: iso(t0 + 2500),
      [`api/${sha(2)}.failed`]: `${iso(t0 + 2600)} InvalidManifests: x`,
    },
    {
      ...base,
      appliedTimeline: [...base.appliedTimeline, { at: t0 + 2500, sha7: sha(1), phase: 'main' }],
      suspensions: [{ ...base.suspensions[0], to: Number.POSITIVE_INFINITY } as Ctx['suspensions'][number]],
    },
  );
  assert.deepEqual(
    collect((r) => checkS3(bad, r)),
    [`bad-success web/${sha(1)}`, `reason api/${sha(2)}.failed`],
  );
  assert.deepEqual(
    collect((r) => checkVersion(bad, { applied: sha(1), deployed: sha(0) }, r)),
    [`suspended-applied app ${sha(1)}`, `suspended-apply app ${sha(1)} main`],
  );
  // At the end (resumed at t0 + 10 s): s1 owes web its outcome, s4 its rollout.
  assert.deepEqual(
    collect((r) => checkS3(ctxOf(states, keys, { ...base, final: true }), r)),
    [`missing api/${sha(3)}`, `missing web/${sha(1)}`, `missing web/${sha(2)}`, `missing web/${sha(3)}`],
  );
  // s4 applied at resume has web's spec of s1: s1 rides on that rollout (a success after it).
  const carried = ctxOf(
    states,
    {
      ...keys,
      [`web/${sha(1)}`]: iso(t0 + 10_500),
      [`web/${sha(2)}.failed`]: `${iso(t0 + 10_200)} Superseded: Superseded by ${sha(3)} before it was applied`,
      [`api/${sha(3)}`]: iso(t0 + 10_500),
      [`web/${sha(3)}`]: iso(t0 + 10_500),
    },
    {
      ...base,
      appliedTimeline: [...base.appliedTimeline, { at: t0 + 10_100, sha7: sha(3), phase: 'main' }],
      final: true,
    },
  );
  assert.deepEqual(
    collect((r) => checkS3(carried, r)),
    [],
  );
});

test('suspend: a sha applied just before the suspension took hold owes its rollout from its sighting, even while the suspension is open', () => {
  // bbbbbbb (web unschedulable) seen at 1 s, applied at 1.1 s; suspended at 1.5 s, still suspended
  // (Suspended=True only once that pass ended, at 21.5 s): web's RolloutTimeout 20 s after the sighting.
  const keys = { 'api/aaaaaaa': ok, 'web/aaaaaaa': ok, 'api/bbbbbbb': iso(t0 + 1200) };
  const at = (ms: number) => ({
    ...ctx(
      { ...keys, 'web/bbbbbbb.failed': `${iso(t0 + ms)} RolloutTimeout: Deployment/web: 0/1 ready` },
      false,
    ),
    seen: [
      { sha7: 'aaaaaaa', at: t0, incarnation: 0 },
      { sha7: 'bbbbbbb', at: t0 + 1000, incarnation: 0 },
    ],
    suspensions: [
      { from: t0 + 1500, to: Number.POSITIVE_INFINITY, effective: t0 + 21_500, applied: 'bbbbbbb' },
    ],
    now: t0 + 22_000,
  });
  assert.deepEqual(
    collect((r) => checkS3(at(21_000), r)),
    [],
  );
  // Still checked: a timeout well before ROLLOUT_TIMEOUT is early.
  assert.deepEqual(
    collect((r) => checkS3(at(5_000), r)),
    ['early-timeout web/bbbbbbb.failed'],
  );
});

test('a pre phase overtaken by a newer head: Superseded is its outcome; a failing one alone says PrePhaseFailed', () => {
  const states = phased().slice(0, 3);
  const keys = {
    ...Object.fromEntries(
      Object.entries(phasedClean).filter(([k]) => [0, 1].some((i) => k.includes(sha(i)))),
    ),
    [`api/${sha(2)}.failed`]: preFailed(t0 + 2500),
  };
  // sha(2) is the last one seen: nothing overtook its pre phase, its failure is PrePhaseFailed.
  const last = ctxOf(states, {
    ...keys,
    [`web/${sha(2)}.failed`]: `${iso(t0 + 2600)} Superseded: Superseded by ${sha(1)} before it was applied`,
  });
  assert.deepEqual(
    collect((r) => checkS3(last, r)),
    [`reason web/${sha(2)}.failed`],
  );
  // With a later head (sha(1) again, by a force-push back), Superseded by it is fine.
  const again = ctxOf(
    states,
    {
      ...keys,
      [`web/${sha(2)}.failed`]: `${iso(t0 + 3600)} Superseded: Superseded by ${sha(1)} before it was applied`,
    },
    {
      seen: [
        ...[0, 1, 2].map((i) => ({ sha7: sha(i), at: t0 + i * 1000, incarnation: 0 })),
        { sha7: sha(1), at: t0 + 3500, incarnation: 0 },
      ],
      final: false,
    },
  );
  assert.deepEqual(
    collect((r) => checkS3(again, r)),
    [],
  );
});
