// status.history and `history NS` on the real control plane: three commits — healthy, broken,
// healthy — each with the time of every step and how it ended.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { short } from '../../src/source/sha.ts';
import type { HistoryEntry } from '../../src/version/types.ts';
import { appFiles, seedRepo } from '../../testbed/seed.ts';
import { startWorld, type World } from '../support/world.ts';

const ns = 'timeline';
let w: World;

before(async () => {
  w = await startWorld({ namespaces: [ns], files: seedRepo('iowa-a', [ns]) });
});
after(async () => {
  await w?.stop();
});

test('history after three commits: each step timed in order, results and reasons; `history NS` prints the timeline', async () => {
  const shas: string[] = [];
  await w.withOperator({ GIT_SYNC_INTERVAL: '0.5' }, async () => {
    const initial = await w.repo.head();
    await w.waitVersion(ns, 'the initial commit deployed', (v) => v.deployed === short(initial));
    const image = (tag: string) => appFiles(`iowa-a/${ns}`, 'bedrock', { image: `mozmeao/bedrock:${tag}` });
    shas.push(await w.repo.commit(image('h1'), 'image h1'));
    await w.waitVersion(ns, 'h1 deployed and told', (v) => !!entry(v.status?.history, shas[0])?.notifiedAt);
    shas.push(await w.repo.commit({ [`iowa-a/${ns}/configmap.yaml`]: 'kind: [\n' }, 'broken config'));
    await w.waitVersion(ns, 'the broken commit told', (v) => !!entry(v.status?.history, shas[1])?.notifiedAt);
    shas.push(await w.repo.commit(image('h2'), 'image h2'));
    await w.waitVersion(ns, 'h2 deployed and told', (v) => !!entry(v.status?.history, shas[2])?.notifiedAt);
  });
  const history = (await w.version(ns))?.status?.history ?? [];
  assert.deepEqual(
    history.slice(-3).map((e) => [short(e.sha), e.subject, e.result]),
    [
      [short(shas[0] ?? ''), 'image h1', 'Deployed'],
      [short(shas[1] ?? ''), 'broken config', 'Failed'],
      [short(shas[2] ?? ''), 'image h2', 'Deployed'],
    ],
  );
  for (const sha of [shas[0], shas[2]]) {
    const e = entry(history, sha) as HistoryEntry;
    const steps = [e.committedAt, e.seenAt, e.appliedAt, e.healthyAt, e.notifiedAt];
    assert.ok(steps.every(Boolean), `a step without a time: ${JSON.stringify(e)}`);
    const [committed = 0, ...times] = steps.map((t) => Date.parse(t ?? ''));
    // The fixture gives each commit its own second, so a burst of commits runs a few seconds ahead.
    assert.ok(committed <= (times[0] ?? 0) + 5_000, `committed long after seen: ${JSON.stringify(e)}`);
    assert.deepEqual(
      [...times].sort((a, b) => a - b),
      times,
      `steps out of order: ${JSON.stringify(e)}`,
    );
    assert.match(e.author, /<.+@.+>/);
  }
  const broken = entry(history, shas[1]) as HistoryEntry;
  assert.equal(broken.appliedAt, undefined, 'a refused commit was applied');
  assert.match(broken.reason ?? '', /^InvalidManifests: .*configmap\.yaml/);

  const out = await w.cli(['history', ns]);
  assert.equal(out.code, 0, out.stderr);
  const rows = out.stdout.split('\n').filter((l) => /^[0-9a-f]{7} /.test(l));
  assert.deepEqual(
    rows.slice(0, 3).map((l) => l.split(/\s+/).slice(0, 2)),
    [
      [short(shas[2] ?? ''), 'Deployed'],
      [short(shas[1] ?? ''), 'Failed'],
      [short(shas[0] ?? ''), 'Deployed'],
    ],
    out.stdout,
  );
  assert.match(out.stdout, /SEEN +APPLIED +HEALTHY +NOTIFIED/);
  const none = await w.cli(['history', 'no-such-namespace']);
  assert.equal(none.code, 1);
  assert.match(none.stderr, /no-such-namespace has no Version/);
  const json = await w.cli(['history', ns, '--output', 'json']);
  assert.deepEqual(JSON.parse(json.stdout), history);
});

function entry(history: readonly HistoryEntry[] | undefined, sha: string | undefined) {
  return history?.find((e) => e.sha === sha);
}
