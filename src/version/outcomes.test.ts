import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { s3Sink } from '../notify/s3.ts';
import type { Sink } from '../notify/sink.ts';
import {
  decidedLimit,
  recordOutcomes,
  startRollouts,
  supersedeOvertaken,
  takeUpOvertaken,
} from './outcomes.ts';
import type { VersionStatus } from './types.ts';

/** Outcomes of namespace `ns` told to the S3 sink of cluster `cluster` (nothing is sent here). */
const s3At = (cluster: string, ns: string) => ({
  namespace: ns,
  sinks: [s3Sink({ bucket: 'b', cluster, env: {} })],
});

const a = 'aaaaaaa1111';
const b = 'bbbbbbb2222';

describe('recordOutcomes', () => {
  it('writes one file per (deployment, sha) and marks the state rolling out at that sha', () => {
    const status: VersionStatus = { deployments: { api: { sha: 'aaaaaaa', hash: 'h1', notified: false } } };
    const p = recordOutcomes(status, s3At('iowa-a', 'app'), [
      { deployment: 'api', sha: a, reason: 'RolloutTimeout', message: 'Deployment/api: 0/2\nupdated' },
      { deployment: 'web', sha: a, healthyAt: '2026-01-01T00:00:00Z' },
    ]);
    assert.ok(p);
    assert.deepEqual(
      p.pending.map((f) => f.key),
      ['iowa-a/app/api/aaaaaaa.failed', 'iowa-a/app/web/aaaaaaa'],
    );
    assert.match(
      p.pending[0]?.body ?? '',
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ RolloutTimeout: Deployment\/api: 0\/2 updated\n$/,
    );
    assert.equal(p.pending[1]?.body, '2026-01-01T00:00:00Z');
    assert.deepEqual(p.decided, ['api/aaaaaaa', 'web/aaaaaaa']);
    assert.deepEqual(p.deployments, {
      api: { failed: 'RolloutTimeout: Deployment/api: 0/2 updated', notified: false },
    });
  });

  it('a decided pair is final: neither the other file nor the same one again', () => {
    const status: VersionStatus = { decided: ['api/aaaaaaa'], pending: [] };
    assert.equal(
      recordOutcomes(status, s3At('c', 'n'), [
        { deployment: 'api', sha: a, healthyAt: '2026-01-01T00:00:00Z' },
      ]),
      undefined,
    );
    const healthy: VersionStatus = {
      deployments: { api: { sha: 'aaaaaaa', healthyAt: '2026-01-01T00:00:00Z', notified: true } },
    };
    assert.equal(
      recordOutcomes(healthy, s3At('c', 'n'), [
        { deployment: 'api', sha: a, reason: 'Superseded', message: 'x' },
      ]),
      undefined,
    );
    // Twice in one batch: once.
    const p = recordOutcomes({}, s3At('c', 'n'), [
      { deployment: 'api', sha: b, reason: 'InvalidManifests', message: 'x' },
      { deployment: 'api', sha: b, healthyAt: 't' },
    ]);
    assert.equal(p?.pending.length, 1);
  });

  it('a pair decided before (a force-push back to it) marks the state rolling out there, and queues nothing', () => {
    const status: VersionStatus = {
      decided: ['api/aaaaaaa'],
      pending: [],
      deployments: { api: { sha: 'aaaaaaa', hash: 'h1', notified: false } },
    };
    const p = recordOutcomes(status, s3At('c', 'n'), [{ deployment: 'api', sha: a, healthyAt: 't' }]);
    assert.deepEqual(p, {
      pending: [],
      decided: ['api/aaaaaaa'],
      deployments: { api: { healthyAt: 't', notified: true } },
    });
    // Once marked, nothing is new.
    const marked: VersionStatus = {
      ...status,
      deployments: { api: { sha: 'aaaaaaa', healthyAt: 't', notified: true } },
    };
    assert.equal(
      recordOutcomes(marked, s3At('c', 'n'), [{ deployment: 'api', sha: a, healthyAt: 'u' }]),
      undefined,
    );
  });

  it('remembers a bounded number of decided pairs', () => {
    const decided = Array.from({ length: decidedLimit }, (_, i) => `d${i}/0000000`);
    const p = recordOutcomes({ decided }, s3At('c', 'n'), [{ deployment: 'api', sha: a, healthyAt: 't' }]);
    assert.equal(p?.decided.length, decidedLimit);
    assert.equal(p?.decided.at(-1), 'api/aaaaaaa');
    assert.equal(p?.decided[0], 'd1/0000000');
  });
});

describe('outcome sinks', () => {
  const hook: Sink = {
    name: 'hook',
    render: (o) => ({
      key: `${o.namespace}/${o.deployment}@${o.sha7}`,
      body: 'healthyAt' in o ? 'ok' : o.reason,
    }),
    send: async () => {},
  };

  it('queues what each sink owes, naming every sink but S3 (whose entries predate sink names)', () => {
    const p = recordOutcomes(
      {},
      { namespace: 'app', sinks: [s3Sink({ bucket: 'b', cluster: 'c', env: {} }), hook] },
      [{ deployment: 'api', sha: a, reason: 'DryRunRejected', message: 'no' }],
    );
    assert.deepEqual(
      p?.pending.map((d) => [d.sink, d.key]),
      [
        [undefined, 'c/app/api/aaaaaaa.failed'],
        ['hook', 'app/api@aaaaaaa'],
      ],
    );
    assert.equal(p?.pending[1]?.body, 'DryRunRejected');
  });

  it('with no sink the pair is still decided once, and nothing is queued', () => {
    const p = recordOutcomes({}, { namespace: 'app', sinks: [] }, [
      { deployment: 'api', sha: a, healthyAt: 't' },
    ]);
    assert.deepEqual(p?.pending, []);
    assert.deepEqual(p?.decided, ['api/aaaaaaa']);
  });
});

describe('startRollouts', () => {
  it('a waiting Deployment whose spec changed: the older sha is superseded', () => {
    const status: VersionStatus = { deployments: { api: { sha: 'aaaaaaa', hash: 'h1', notified: false } } };
    const r = startRollouts(status, b, new Map([['api', 'h2']]));
    assert.deepEqual(r.superseded, [
      {
        deployment: 'api',
        sha: 'aaaaaaa',
        reason: 'Superseded',
        message: 'Superseded by bbbbbbb before it became healthy',
      },
    ]);
    assert.deepEqual(r.deployments.api, {
      sha: 'bbbbbbb',
      hash: 'h2',
      also: null,
      healthyAt: null,
      failed: null,
      notified: false,
    });
  });

  it('a waiting Deployment whose spec is the same carries the older sha on', () => {
    const status: VersionStatus = {
      deployments: { web: { sha: 'aaaaaaa', hash: 'h1', also: ['0000000'], notified: false } },
    };
    const r = startRollouts(status, b, new Map([['web', 'h1']]));
    assert.deepEqual(r.superseded, []);
    assert.deepEqual(r.deployments.web?.also, ['aaaaaaa', '0000000']);
  });

  it('a Deployment no longer in the set: superseded if waiting, and its state goes', () => {
    const status: VersionStatus = {
      deployments: {
        old: { sha: 'aaaaaaa', hash: 'h1', notified: false },
        done: { sha: 'aaaaaaa', hash: 'h1', healthyAt: 't', notified: true },
      },
    };
    const r = startRollouts(status, b, new Map());
    assert.deepEqual(
      r.superseded.map((o) => o.deployment),
      ['old'],
    );
    assert.deepEqual(r.deployments, { old: null, done: null });
  });

  it('decided Deployments start a fresh wait; one already at this sha is left as it is', () => {
    const status: VersionStatus = {
      deployments: {
        api: { sha: 'aaaaaaa', hash: 'h1', healthyAt: 't', notified: true },
        web: { sha: 'bbbbbbb', hash: 'h9', notified: false },
      },
    };
    const r = startRollouts(
      status,
      b,
      new Map([
        ['api', 'h1'],
        ['web', 'h9'],
        ['new', 'h3'],
      ]),
    );
    assert.deepEqual(r.superseded, []);
    assert.equal(r.deployments.api?.sha, 'bbbbbbb');
    assert.equal(r.deployments.api?.healthyAt, null);
    assert.equal('web' in r.deployments, false);
    assert.equal(r.deployments.new?.hash, 'h3');
  });
});

describe('commits overtaken before their apply', () => {
  const status: VersionStatus = {
    deployments: { api: { sha: 'aaaaaaa', hash: 'h1', notified: false, healthyAt: '2026-01-01T00:00:00Z' } },
    overtaken: [
      { sha: 'ccccccc', deployments: { api: 'h2', web: 'w1' } },
      { sha: 'ddddddd', deployments: { api: 'h3' } },
    ],
    decided: ['web/ccccccc'],
  };
  it('applying a head: a Deployment of the same spec rides on its rollout, any other is superseded', () => {
    const started = startRollouts(status, 'eeeeeee', new Map([['api', 'h2']]));
    const superseded = takeUpOvertaken(status, 'eeeeeee', new Map([['api', 'h2']]), started.deployments);
    assert.deepEqual(started.deployments.api, {
      sha: 'eeeeeee',
      hash: 'h2',
      also: ['ccccccc'],
      healthyAt: null,
      failed: null,
      notified: false,
    });
    // web/ccccccc was decided before: not told again.
    assert.deepEqual(superseded, [
      {
        deployment: 'api',
        sha: 'ddddddd',
        reason: 'Superseded',
        message: 'Superseded by eeeeeee before it was applied',
      },
    ]);
  });
  it('a resync of a head already rolling out adds the overtaken sha to its wait', () => {
    const rolling: VersionStatus = {
      deployments: { api: { sha: 'eeeeeee', hash: 'h2', also: ['bbbbbbb'], notified: false } },
      overtaken: [{ sha: 'ccccccc', deployments: { api: 'h2' } }],
    };
    const started = startRollouts(rolling, 'eeeeeee', new Map([['api', 'h2']]));
    assert.deepEqual(takeUpOvertaken(rolling, 'eeeeeee', new Map([['api', 'h2']]), started.deployments), []);
    assert.deepEqual(started.deployments.api, { also: ['bbbbbbb', 'ccccccc'] });
  });
  it('the head itself is not overtaken by itself', () => {
    const started = startRollouts(status, 'ccccccc', new Map([['api', 'h2']]));
    const superseded = takeUpOvertaken(status, 'ccccccc', new Map([['api', 'h2']]), started.deployments);
    assert.deepEqual(
      superseded.map((o) => `${o.deployment}/${o.sha}`),
      ['api/ddddddd'],
    );
  });
  it('a head that fails for good supersedes every other overtaken commit', () => {
    assert.deepEqual(
      supersedeOvertaken(status, 'ddddddd').map((o) => [o.deployment, o.sha, 'reason' in o && o.reason]),
      [
        ['api', 'ccccccc', 'Superseded'],
        ['web', 'ccccccc', 'Superseded'],
      ],
    );
  });
});
