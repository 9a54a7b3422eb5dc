import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { latestOutcomes, skewMs } from './latest.ts';
import { type OutcomeFile, outcomeFile } from './outcome-files.ts';

const t = (hhmmss: string) => Date.parse(`2026-03-01T${hhmmss}Z`);
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');

/** A bucket: key → [LastModified, body]; read() counts the GETs. */
function bucket(objects: Record<string, [number, string | undefined]>) {
  const files = Object.entries(objects).map(([key, [lm]]) => outcomeFile(key, lm) as OutcomeFile);
  const reads: string[] = [];
  const read = async (f: OutcomeFile) => {
    reads.push(f.key);
    return objects[f.key]?.[1];
  };
  return { files, reads, read };
}

describe('latestOutcomes', () => {
  it('deploys minutes apart: one GET per deployment, the file written last', async () => {
    const b = bucket({
      'iowa-a/web/api/aaaaaa1': [t('10:00:01'), '2026-03-01T10:00:00Z'],
      'iowa-a/web/api/aaaaaa2.failed': [t('10:20:01'), '2026-03-01T10:20:00Z RolloutTimeout: slow'],
      'iowa-a/web/api/aaaaaa3': [t('10:40:01'), '2026-03-01T10:40:00Z'],
      'iowa-a/web/ui/bbbbbb1.failed': [t('11:00:01'), '2026-03-01T11:00:00Z ApplyFailed: refused'],
      'iowa-a/web/ui/bbbbbb2': [t('10:00:01'), '2026-03-01T10:00:00Z'],
    });
    const got = await latestOutcomes(b.files, b.read);
    assert.deepEqual(got, [
      {
        cluster: 'iowa-a',
        namespace: 'web',
        deployment: 'api',
        sha: 'aaaaaa3',
        at: '2026-03-01T10:40:00Z',
        state: 'deployed',
      },
      {
        cluster: 'iowa-a',
        namespace: 'web',
        deployment: 'ui',
        sha: 'bbbbbb1',
        at: '2026-03-01T11:00:00Z',
        state: 'failed',
        reason: 'ApplyFailed',
        message: 'refused',
      },
    ]);
    assert.deepEqual(b.reads.sort(), ['iowa-a/web/api/aaaaaa3', 'iowa-a/web/ui/bbbbbb1.failed']);
  });

  it('a backlog written at once in any order: the time in the body decides', async () => {
    const b = bucket({
      'f/web/api/aaaaaa1': [t('12:00:03'), '2026-03-01T10:00:00Z'],
      'f/web/api/aaaaaa2': [t('12:00:01'), '2026-03-01T11:30:00Z'], // the latest, written first
      'f/web/api/aaaaaa3.failed': [t('12:00:02'), '2026-03-01T11:00:00Z Superseded: by aaaaaa2'],
      'f/web/api/aaaaaa0': [t('09:00:00'), '2026-03-01T08:59:59Z'], // written long before: not read
    });
    const [got] = await latestOutcomes(b.files, b.read);
    assert.equal(got?.sha, 'aaaaaa2');
    assert.equal(got?.at, '2026-03-01T11:30:00Z');
    assert.equal(b.reads.length, 3);
    assert.ok(!b.reads.includes('f/web/api/aaaaaa0'));
  });

  it("a later time in a file written up to skewMs before (the operator's clock ahead of S3's)", async () => {
    const first = t('12:00:00');
    const b = bucket({
      'c/n/d/aaaaaa1': [first, iso(first)],
      'c/n/d/aaaaaa2': [first - skewMs + 1000, iso(first + 1000)], // read, and later
      'c/n/d/aaaaaa3': [first - skewMs - 1000, iso(first + 2000)], // beyond the bound: not read
    });
    const [got] = await latestOutcomes(b.files, b.read);
    assert.equal(got?.sha, 'aaaaaa2');
    assert.deepEqual(b.reads.sort(), ['c/n/d/aaaaaa1', 'c/n/d/aaaaaa2']);
  });

  it('a body without a time, or gone since the listing: its LastModified stands in', async () => {
    const b = bucket({
      'c/n/d/aaaaaa1': [t('12:00:00'), 'garbage'],
      'c/n/d/aaaaaa2': [t('11:59:00'), '2026-03-01T11:58:59Z'],
      'c/n/e/bbbbbb1': [t('12:00:00'), undefined],
      'c/n/e/bbbbbb2': [t('11:59:00'), '2026-03-01T12:30:00Z'], // later than the stand-in
    });
    const got = await latestOutcomes(b.files, b.read);
    assert.deepEqual(
      got.map((o) => [o.deployment, o.sha, o.at]),
      [
        ['d', 'aaaaaa1', '2026-03-01T12:00:00Z'],
        ['e', 'bbbbbb2', '2026-03-01T12:30:00Z'],
      ],
    );
  });

  it('equal times (one rollout for two commits): the file written last, then the key', async () => {
    const same = '2026-03-01T12:00:00Z';
    const b = bucket({
      'c/n/d/aaaaaa1': [t('12:00:02'), same],
      'c/n/d/aaaaaa2': [t('12:00:01'), same],
      'c/n/e/bbbbbb1': [t('12:00:01'), same],
      'c/n/e/bbbbbb2': [t('12:00:01'), same],
    });
    const got = await latestOutcomes(b.files, b.read);
    assert.deepEqual(
      got.map((o) => o.sha),
      ['aaaaaa1', 'bbbbbb2'],
    );
  });

  it('sorted by cluster, namespace, deployment in code-point order', async () => {
    const b = bucket(
      Object.fromEntries(
        ['z/a/a', 'a/z/a', 'a/a/z', 'a/a/B', 'B/a/a'].map((p) => [
          `${p}/aaaaaa1`,
          [t('12:00:00'), '2026-03-01T12:00:00Z'],
        ]),
      ),
    );
    const got = await latestOutcomes(b.files, b.read);
    assert.deepEqual(
      got.map((o) => `${o.cluster}/${o.namespace}/${o.deployment}`),
      ['B/a/a', 'a/a/B', 'a/a/z', 'a/z/a', 'z/a/a'],
    );
  });
});
