// The checker checks: synthetic observations with known violations must be reported, and a clean
// history must not be (a vacuous checker would pass every model run).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Ctx, checkS3, checkVersion, handmadeProblems, objectMismatches } from './invariants.ts';
import { type CommitModel, clone, image, initialNs, type NsState } from './model.ts';
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
      { at: t0 + 100, sha7: 'aaaaaaa' },
      { at: t0 + 1100, sha7: 'bbbbbbb' },
      { at: t0 + 3100, sha7: 'eeeeeee' },
    ],
    keys: new Map(Object.entries(keys).map(([k, v]) => [`iowa-a/app/${k}`, v])),
    now: t0 + 120_000,
    quietSince: t0,
    faults: [],
    impaired: [],
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
    collect((r) => checkVersion(ctx(clean), { applied: 'eeeeeee', deployed: 'eeeeeee' }, r)),
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
  const problems = objectMismatches(c, 'eeeeeee', live, true);
  assert.ok(problems.some((p) => p.startsWith('Deployment/api image')));
  assert.ok(problems.includes('Deployment/web is missing'));
  assert.ok(problems.includes('ConfigMap/old was not pruned'));
  assert.deepEqual(handmadeProblems(live, { cmResourceVersion: '6', deployGeneration: 1 }), [
    'ConfigMap/not-ours was modified',
    'Deployment/handmade was deleted',
  ]);
});
