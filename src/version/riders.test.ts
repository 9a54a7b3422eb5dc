import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Outcome, recordOutcomes, startRollouts, takeUpOvertaken } from './outcomes.ts';
import { patchedStates, ridersSettled, ridingAfterApply } from './riders.ts';
import type { VersionStatus } from './types.ts';

const target = { namespace: 'app', sinks: [] };

/** `head` applied with these Deployments (name → hash): the status after, as the Recorder writes it. */
function apply(status: VersionStatus, head: string, deployments: Record<string, string>): VersionStatus {
  const set = new Map(Object.entries(deployments));
  const started = startRollouts(status, head, set);
  const lost = [...started.superseded, ...takeUpOvertaken(status, head, set, started.deployments)];
  const riding = ridingAfterApply(status, head, started.deployments, lost);
  const decided = recordOutcomes(status, target, lost);
  return {
    ...status,
    ...decided,
    deployments: patchedStates(status.deployments, { ...decided?.deployments, ...started.deployments }),
    overtaken: [],
    riding,
  };
}

/** Outcomes decided, as the Recorder does: the status after, and the rider that became deployed. */
function decide(status: VersionStatus, outcomes: Outcome[]) {
  const decided = recordOutcomes(status, target, outcomes);
  const riders = ridersSettled(status, outcomes, decided?.deployments);
  const next: VersionStatus = {
    ...status,
    ...decided,
    deployments: patchedStates(status.deployments, decided?.deployments),
    ...(riders ? { riding: riders.riding } : {}),
  };
  return { status: next, deployed: riders?.deployed };
}

const healthy = (deployment: string, ...shas: string[]): Outcome[] =>
  shas.map((sha) => ({ deployment, sha, healthyAt: 't' }));

/** Deployed at aaaaaaa; bbbbbbb (same web and api) was overtaken while suspended. */
const settled: VersionStatus = {
  deployments: {
    web: { sha: 'aaaaaaa', hash: 'w1', healthyAt: 't', notified: true },
    api: { sha: 'aaaaaaa', hash: 'a1', healthyAt: 't', notified: true },
  },
  overtaken: [{ sha: 'bbbbbbb', deployments: { web: 'w1', api: 'a1' } }],
};

describe('commits deployed by riding on a later rollout', () => {
  it('an overtaken commit whose every Deployment rides is deployed when the last is healthy, though the head fails', () => {
    // ccccccc adds a worker that never becomes healthy.
    let s = apply(settled, 'ccccccc', { web: 'w1', api: 'a1', worker: 'k1' });
    assert.deepEqual(s.riding, ['bbbbbbb']);
    const first = decide(s, healthy('web', 'ccccccc', 'bbbbbbb'));
    assert.equal(first.deployed, undefined, 'api still waits for bbbbbbb');
    const second = decide(first.status, healthy('api', 'ccccccc', 'bbbbbbb'));
    assert.equal(second.deployed, 'bbbbbbb');
    assert.deepEqual(second.status.riding, []);
    s = decide(second.status, [
      { deployment: 'worker', sha: 'ccccccc', reason: 'RolloutTimeout', message: 'unschedulable' },
    ]).status;
    assert.deepEqual(s.riding, []);
  });

  it('a commit with one Deployment of another spec does not ride (it was superseded)', () => {
    const s = apply(settled, 'ccccccc', { web: 'w1', api: 'a2' });
    assert.deepEqual(s.riding, []);
    assert.ok(s.decided?.includes('api/bbbbbbb'));
  });

  it('a failed pair takes the commit off the list; it is never deployed', () => {
    const s = apply(settled, 'ccccccc', { web: 'w1', api: 'a1' });
    const failed = decide(s, [
      { deployment: 'web', sha: 'ccccccc', reason: 'RolloutFailed', message: 'crash' },
      { deployment: 'web', sha: 'bbbbbbb', reason: 'RolloutFailed', message: 'crash' },
    ]);
    assert.deepEqual(failed.status.riding, []);
    assert.equal(decide(failed.status, healthy('api', 'ccccccc', 'bbbbbbb')).deployed, undefined);
  });

  it('riders are kept in the order seen: an older one done first leaves the newer riding; the newer drops the older', () => {
    const two: VersionStatus = {
      ...settled,
      overtaken: [
        { sha: 'bbbbbbb', deployments: { web: 'w1' } },
        { sha: 'ddddddd', deployments: { web: 'w1', api: 'a1' } },
      ],
    };
    const s = apply(two, 'ccccccc', { web: 'w1', api: 'a1', worker: 'k1' });
    assert.deepEqual(s.riding, ['bbbbbbb', 'ddddddd']);
    const web = decide(s, healthy('web', 'ccccccc', 'bbbbbbb', 'ddddddd'));
    assert.equal(web.deployed, 'bbbbbbb');
    assert.deepEqual(web.status.riding, ['ddddddd']);
    const both = decide(s, [...healthy('api', 'ccccccc', 'ddddddd')]);
    assert.equal(both.deployed, undefined, 'web still waits for both');
    const last = decide(both.status, healthy('web', 'ccccccc', 'bbbbbbb', 'ddddddd'));
    assert.equal(
      last.deployed,
      'ddddddd',
      'the newest done wins; the older is dropped, not deployed after it',
    );
    assert.deepEqual(last.status.riding, []);
  });

  it('an applied commit overtaken during its rollout rides when its waiting Deployments carry on', () => {
    const rolling: VersionStatus = {
      deployments: {
        web: { sha: 'aaaaaaa', hash: 'w1', notified: false },
        api: { sha: 'aaaaaaa', hash: 'a1', healthyAt: 't', notified: true },
      },
    };
    const s = apply(rolling, 'ccccccc', { web: 'w1', api: 'a2' });
    assert.deepEqual(s.riding, ['aaaaaaa']);
    assert.equal(decide(s, healthy('web', 'ccccccc', 'aaaaaaa')).deployed, 'aaaaaaa');
    // One of its Deployments failed at that sha: not a rider.
    const broken: VersionStatus = {
      deployments: {
        ...rolling.deployments,
        api: { sha: 'aaaaaaa', hash: 'a1', failed: 'x', notified: true },
      },
    };
    assert.deepEqual(apply(broken, 'ccccccc', { web: 'w1', api: 'a2' }).riding, []);
  });

  it('a resync of the same head keeps its riders', () => {
    const s = apply(settled, 'ccccccc', { web: 'w1', api: 'a1', worker: 'k1' });
    assert.deepEqual(apply(s, 'ccccccc', { web: 'w1', api: 'a1', worker: 'k1' }).riding, ['bbbbbbb']);
  });
});
