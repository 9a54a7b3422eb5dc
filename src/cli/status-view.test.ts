import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Outcome } from '../ci/outcome-files.ts';
import { age, matrix, table } from './status-view.ts';

const now = Date.parse('2026-03-01T12:00:00Z');
const outcomes: Outcome[] = [
  {
    cluster: 'frankfurt',
    namespace: 'web',
    deployment: 'api',
    sha: 'aaaaaa1',
    at: '2026-03-01T11:59:15Z',
    state: 'deployed',
  },
  {
    cluster: 'frankfurt',
    namespace: 'web',
    deployment: 'ui',
    sha: 'bbbbbb2',
    at: '2026-03-01T09:00:00Z',
    state: 'failed',
    reason: 'RolloutTimeout',
    message: 'not healthy within 600 s: deployment ui: 1 of 3 replicas available, 2 pods not ready',
  },
  {
    cluster: 'iowa-a',
    namespace: 'web',
    deployment: 'api',
    sha: 'aaaaaa1',
    at: '2026-02-20T12:00:00Z',
    state: 'deployed',
  },
];

describe('age', () => {
  it('one unit, like kubectl: seconds to 2 minutes, minutes to 2 hours, hours to 2 days, then days', () => {
    const s = 1000;
    assert.deepEqual(
      [0, 119 * s, 120 * s, 7199 * s, 7200 * s, 47 * 3600 * s, 48 * 3600 * s, -5 * s].map(age),
      ['0s', '119s', '2m', '119m', '2h', '47h', '2d', '0s'],
    );
  });
});

describe('table', () => {
  it('a row per cluster × namespace × deployment, aligned; long reasons cut', () => {
    assert.equal(
      table(outcomes, now),
      [
        'CLUSTER    NAMESPACE  DEPLOYMENT  SHA      AGE  AT (UTC)              STATE     REASON',
        'frankfurt  web        api         aaaaaa1  45s  2026-03-01T11:59:15Z  deployed',
        'frankfurt  web        ui          bbbbbb2  3h   2026-03-01T09:00:00Z  failed    RolloutTimeout: not healthy within 600 s: deployment ui: 1…',
        'iowa-a     web        api         aaaaaa1  9d   2026-02-20T12:00:00Z  deployed',
        '',
      ].join('\n'),
    );
  });
});

describe('matrix', () => {
  it('a column per cluster, - where a cluster has none; the failures below, whole', () => {
    assert.equal(
      matrix(outcomes, now),
      [
        'NAMESPACE  DEPLOYMENT  frankfurt          iowa-a',
        'web        api         aaaaaa1 45s        aaaaaa1 9d',
        'web        ui          bbbbbb2 FAILED 3h  -',
        '',
        'failed:',
        '  frankfurt web/ui bbbbbb2 at 2026-03-01T09:00:00Z: RolloutTimeout: not healthy within 600 s: deployment ui: 1 of 3 replicas available, 2 pods not ready',
        '',
      ].join('\n'),
    );
  });

  it('no failures: the grid alone', () => {
    assert.equal(
      matrix([outcomes[0] as Outcome], now),
      'NAMESPACE  DEPLOYMENT  frankfurt\nweb        api         aaaaaa1 45s\n',
    );
  });
});

describe('a superseded outcome', () => {
  it('is told apart from a failure: a newer commit took over before it was healthy', () => {
    const sup: Outcome = {
      cluster: 'iowa-a',
      namespace: 'web',
      deployment: 'ui',
      sha: 'ccccccc',
      at: '2026-03-01T11:59:00Z',
      state: 'superseded',
      reason: 'Superseded',
      message: 'Superseded by ddddddd before it became healthy',
    };
    const m = matrix([...outcomes, sup], now);
    assert.match(m, /ccccccc SUPERSEDED 60s/);
    assert.match(m, /iowa-a web\/ui ccccccc at 2026-03-01T11:59:00Z: Superseded: Superseded by ddddddd/);
  });
});
