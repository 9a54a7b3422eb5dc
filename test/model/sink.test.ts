// The I5 checker on synthetic deliveries: a clean history passes; each kind of violation is named.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Ctx } from './invariants.ts';
import { checkSink, type SinkDelivery } from './sink.ts';

const t0 = Date.parse('2026-01-01T00:00:00Z');

function ctx(keys: Record<string, string>, faults: { from: number; to: number }[] = []): Ctx {
  return {
    nsIndex: 0,
    ns: 'app',
    cluster: 'iowa-a',
    commits: [],
    idOf7: new Map(),
    seen: [],
    appliedKnown: new Set(),
    appliedTimeline: [],
    keys: new Map(Object.entries(keys)),
    now: t0 + 60_000,
    quietSince: t0,
    faults,
    impaired: [],
    suspensions: [],
    final: true,
  };
}

/** `outcome`: deployed, or failed:Reason. */
const dep = (at: number, deployment: string, sha: string, outcome: string): SinkDelivery => {
  const [state, reason] = outcome.split(':');
  return {
    at,
    json: {
      id: `iowa-a/app/${deployment}/${sha}/${state}`,
      event: 'deployment',
      namespace: 'app',
      deployment,
      sha,
      state,
      ...(reason ? { reason } : {}),
    },
  };
};
const commit = (at: number, sha7: string, state: string): SinkDelivery => ({
  at,
  json: {
    id: `iowa-a/app/commit/${sha7}/${state}`,
    event: 'commit',
    namespace: 'app',
    sha: `${sha7}${'0'.repeat(33)}`,
    state,
  },
});

const keys = {
  'iowa-a/app/api/aaaaaaa': '2026-01-01T00:00:05Z',
  'iowa-a/app/api/bbbbbbb.failed':
    '2026-01-01T00:00:09Z Superseded: Superseded by ccccccc before it became healthy\n',
  'iowa-a/app/api/ccccccc': '2026-01-01T00:00:12Z',
};
const clean = [
  commit(t0 + 1, 'aaaaaaa', 'pending'),
  dep(t0 + 5, 'api', 'aaaaaaa', 'deployed'),
  commit(t0 + 6, 'aaaaaaa', 'success'),
  commit(t0 + 7, 'bbbbbbb', 'pending'),
  commit(t0 + 8, 'ccccccc', 'pending'),
  dep(t0 + 9, 'api', 'bbbbbbb', 'failed:Superseded'),
  commit(t0 + 9, 'bbbbbbb', 'superseded'),
  dep(t0 + 12, 'api', 'ccccccc', 'deployed'),
  commit(t0 + 12, 'ccccccc', 'success'),
];

function violations(got: SinkDelivery[], c = ctx(keys), v = { applied: 'ccccccc', deployed: 'ccccccc' }) {
  const out: string[] = [];
  checkSink(c, v, got, (inv, key) => out.push(`${inv} ${key}`));
  return out;
}

test('I5: a clean history passes', () => {
  assert.deepEqual(violations(clean), []);
});

test('I5: an S3 file the webhook never heard of, and an outcome S3 lacks', () => {
  assert.deepEqual(
    violations(clean.filter((d) => d.json.sha !== 'aaaaaaa' || d.json.event !== 'deployment')),
    ['I5 no webhook iowa-a/app/api/aaaaaaa'],
  );
  assert.deepEqual(violations([...clean, dep(t0 + 13, 'web', 'ccccccc', 'deployed')]), [
    'I5 webhook only web/ccccccc',
  ]);
});

test('I5: a failure reason that differs from the S3 file', () => {
  const wrong = clean.map((d) =>
    d.json.state === 'failed' ? dep(d.at, 'api', 'bbbbbbb', 'failed:RolloutTimeout') : d,
  );
  assert.deepEqual(violations(wrong), ['I5 reason iowa-a/app/api/bbbbbbb.failed']);
});

test('I5: a repeat is a violation unless a fault lies between the two', () => {
  const again = [...clean, dep(t0 + 20_000, 'api', 'ccccccc', 'deployed')];
  assert.deepEqual(violations(again), ['I5 repeat iowa-a/app/api/ccccccc/deployed']);
  assert.deepEqual(violations(again, ctx(keys, [{ from: t0 + 15_000, to: t0 + 16_000 }])), []);
});

test('I5: a commit left pending, told two ends, pending after its end, success beside a .failed file', () => {
  assert.deepEqual(violations(clean.filter((d) => d.json.state !== 'superseded')), [
    'I5 left pending bbbbbbb',
  ]);
  // The one still rolling out may be pending.
  assert.deepEqual(
    violations(
      clean.filter((d) => d.json.sha !== `ccccccc${'0'.repeat(33)}` || d.json.state !== 'success'),
      ctx(keys),
      {
        applied: 'ccccccc',
        deployed: 'aaaaaaa',
      },
    ),
    [],
  );
  assert.deepEqual(violations([...clean, commit(t0 + 30, 'bbbbbbb', 'failure')]), ['I5 two ends bbbbbbb']);
  const late = clean.filter(
    (d) => !(d.json.sha === `aaaaaaa${'0'.repeat(33)}` && d.json.state === 'pending'),
  );
  assert.deepEqual(violations([...late, commit(t0 + 40, 'aaaaaaa', 'pending')]), ['I5 pending late aaaaaaa']);
  assert.deepEqual(violations([...clean, commit(t0 + 30, 'bbbbbbb', 'success')]), [
    'I5 two ends bbbbbbb',
    'I5 success with failure bbbbbbb',
  ]);
});
