import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { registerSecret } from '../source/redact.ts';
import type { Version } from '../version/types.ts';
import { cachedFor } from './cache.ts';
import { type LoopView, type StatusInputs, takeSnapshot } from './status.ts';

const sha1 = 'a'.repeat(40);
const sha2 = 'b'.repeat(40);

/** A namespace whose first commit is deployed and whose second is rolling out. */
const rollingOut: Version = {
  apiVersion: 'versions.mozilla.org/v1',
  kind: 'Version',
  metadata: { name: 'web', namespace: 'web' },
  applied: 'bbbbbbb',
  deployed: 'aaaaaaa',
  status: {
    commit: sha2,
    message: 'image v2',
    author: 'Bo <bo@example.com>',
    conditions: [
      {
        type: 'Ready',
        status: 'True',
        reason: 'Deployed',
        message: 'aaaaaaa is healthy',
        lastTransitionTime: '2025-03-01T10:00:00Z',
      },
      {
        type: 'Reconciling',
        status: 'True',
        reason: 'Progressing',
        message: 'waiting for rollout of bbbbbbb',
        lastTransitionTime: '2025-03-01T10:01:00Z',
      },
    ],
    deployments: {
      web: { sha: 'bbbbbbb', notified: false },
      api: { sha: 'aaaaaaa', healthyAt: '2025-03-01T10:00:20Z', notified: true },
    },
    history: [
      {
        sha: sha1,
        subject: 'image v1',
        author: 'Al <al@example.com>',
        committedAt: '2025-03-01T09:59:50Z',
        seenAt: '2025-03-01T10:00:00Z',
        appliedAt: '2025-03-01T10:00:01Z',
        healthyAt: '2025-03-01T10:00:20Z',
        notifiedAt: '2025-03-01T10:00:21Z',
        result: 'Deployed',
      },
      {
        sha: sha2,
        subject: 'image v2',
        author: 'Bo <bo@example.com>',
        committedAt: '2025-03-01T10:00:55Z',
        seenAt: '2025-03-01T10:01:00Z',
        appliedAt: '2025-03-01T10:01:01Z',
        result: 'Progressing',
      },
    ],
  },
};

const loop = (over: Partial<LoopView> = {}): LoopView => ({
  head: {
    sha: sha2,
    message: 'image v2',
    author: 'Bo <bo@example.com>',
    committedAt: '2025-03-01T10:00:55Z',
  },
  branch: 'main',
  lastPollAt: '2025-03-01T10:01:30Z',
  sourceState: '',
  standby: false,
  ...over,
});

const inputs = (over: Partial<StatusInputs> = {}): StatusInputs => ({
  cluster: 'iowa-a',
  repo: 'https://bot:hunter22@git.example.com/config.git',
  namespaces: ['web'],
  leaderElection: false,
  loop: () => loop(),
  version: async () => rollingOut,
  leader: async () => 'pod-b',
  ...over,
});

const now = new Date('2025-03-01T10:01:31.500Z');

describe('takeSnapshot', () => {
  it('the source without credentials, the applied commit from status, the deployed one from history', async () => {
    const s = await takeSnapshot(inputs(), now);
    assert.equal(s.generatedAt, '2025-03-01T10:01:31Z');
    assert.deepEqual(s.replica, { role: 'single' });
    assert.deepEqual(s.source, {
      repo: 'https://git.example.com/config.git',
      branch: 'main',
      head: {
        sha: sha2,
        subject: 'image v2',
        author: 'Bo <bo@example.com>',
        committedAt: '2025-03-01T10:00:55Z',
      },
      lastPollAt: '2025-03-01T10:01:30Z',
    });
    const [ns] = s.namespaces;
    assert.equal(ns?.state, 'Progressing');
    assert.equal(ns?.message, 'waiting for rollout of bbbbbbb');
    assert.deepEqual(ns?.applied, {
      sha: sha2,
      subject: 'image v2',
      author: 'Bo <bo@example.com>',
      committedAt: '2025-03-01T10:00:55Z',
    });
    assert.deepEqual(ns?.deployed, {
      sha: sha1,
      subject: 'image v1',
      author: 'Al <al@example.com>',
      committedAt: '2025-03-01T09:59:50Z',
    });
    assert.deepEqual(
      ns?.workloads.map((w) => [w.name, w.state, w.sha]),
      [
        ['api', 'Healthy', 'aaaaaaa'],
        ['web', 'Progressing', 'bbbbbbb'],
      ],
    );
    assert.deepEqual(
      ns?.history.map((e) => e.subject),
      ['image v2', 'image v1'],
      'newest first',
    );
  });

  it('a failed workload carries its message; secrets in errors are redacted', async () => {
    registerSecret('s3cr3t-token');
    const failed: Version = {
      ...rollingOut,
      status: {
        ...rollingOut.status,
        lastError: 'iowa-a/web/deploy.yaml:3: token s3cr3t-token refused',
        deployments: {
          web: { sha: 'bbbbbbb', failed: 'RolloutFailed: pod crashed (s3cr3t-token)', notified: true },
        },
      },
    };
    const [ns] = (await takeSnapshot(inputs({ version: async () => failed }), now)).namespaces;
    assert.equal(ns?.lastError, 'iowa-a/web/deploy.yaml:3: token *** refused');
    assert.deepEqual(ns?.workloads[0], {
      name: 'web',
      sha: 'bbbbbbb',
      state: 'Failed',
      message: 'RolloutFailed: pod crashed (***)',
      notified: true,
    });
  });

  it('no Version yet: Progressing, nothing recorded; an unreadable Version: Unknown with the error', async () => {
    const none = await takeSnapshot(inputs({ version: async () => undefined }), now);
    assert.deepEqual(none.namespaces[0], {
      namespace: 'web',
      state: 'Progressing',
      message: 'no sync recorded yet',
      workloads: [],
      history: [],
    });
    const broken = await takeSnapshot(
      inputs({
        version: async () => {
          throw new Error('forbidden');
        },
      }),
      now,
    );
    assert.equal(broken.namespaces[0]?.state, 'Unknown');
    assert.match(broken.namespaces[0]?.message ?? '', /cannot read its Version: forbidden/);
  });

  it('a standby names the leader, and shows the source error the leader recorded on a Version', async () => {
    const recorded: Version = {
      ...rollingOut,
      status: {
        conditions: [
          {
            type: 'SourceAvailable',
            status: 'False',
            reason: 'Unreachable',
            message: 'git.example.com: no route',
            lastTransitionTime: '2025-03-01T10:00:00Z',
          },
        ],
      },
    };
    const s = await takeSnapshot(
      inputs({
        leaderElection: true,
        loop: () =>
          loop({
            head: undefined,
            branch: undefined,
            lastPollAt: undefined,
            sourceState: undefined,
            standby: true,
          }),
        version: async () => recorded,
      }),
      now,
    );
    assert.deepEqual(s.replica, { role: 'standby', leader: 'pod-b' });
    assert.deepEqual(s.source, {
      repo: 'https://git.example.com/config.git',
      error: 'git.example.com: no route',
    });
    const leading = await takeSnapshot(inputs({ leaderElection: true, leader: async () => undefined }), now);
    assert.deepEqual(leading.replica, { role: 'leader' });
  });
});

describe('cachedFor', () => {
  it('one call per ttl, shared by every caller in between', async () => {
    let t = 0;
    let calls = 0;
    const get = cachedFor(
      1000,
      async () => ++calls,
      () => t,
    );
    assert.deepEqual(await Promise.all([get(), get()]), [1, 1]);
    t = 999;
    assert.equal(await get(), 1);
    t = 1000;
    assert.equal(await get(), 2);
    assert.equal(calls, 2);
  });

  it('a read slower than the ttl is shared, not started again beside it', async () => {
    let t = 0;
    let calls = 0;
    let finish: (n: number) => void = () => {};
    const get = cachedFor(
      1000,
      () => {
        calls++;
        return new Promise<number>((ok) => {
          finish = ok;
        });
      },
      () => t,
    );
    const first = get();
    t = 5000; // still reading
    const second = get();
    assert.equal(calls, 1);
    finish(7);
    assert.deepEqual(await Promise.all([first, second]), [7, 7]);
    t = 5500; // settled at 5000: fresh until 6000
    assert.equal(await get(), 7);
    assert.equal(calls, 1);
  });
});
