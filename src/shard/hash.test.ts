import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fnv1a, shardOf } from './hash.ts';

// Computed by an independent FNV-1a implementation (Python), not by the code under test.
const KNOWN_HASH = [2470140894, 2725615454, 265927825, 1217211888, 1173504043];
const KNOWN_3 = [0, 2, 1, 0, 1];
const KNOWN_6 = [0, 2, 1, 0, 1];

describe('shardOf', () => {
  it('is FNV-1a 32-bit: the published test vectors', () => {
    assert.equal(fnv1a(''), 0x811c9dc5);
    assert.equal(fnv1a('a'), 0xe40c292c);
    assert.equal(fnv1a('foobar'), 0xbf9cf968);
  });

  it('gives known shards for known names (a change here moves namespaces between replicas)', () => {
    const names = ['default', 'kube-system', 'web', 'payments-prod', 'ünïcode'];
    assert.deepEqual(
      names.map((n) => fnv1a(n)),
      KNOWN_HASH,
    );
    assert.deepEqual(
      names.map((n) => shardOf(n, 3)),
      KNOWN_3,
    );
    assert.deepEqual(
      names.map((n) => shardOf(n, 6)),
      KNOWN_6,
    );
  });

  it('spreads 1,000 names evenly over 3 shards (each within 10% of a third)', () => {
    const counts = [0, 0, 0];
    for (let i = 0; i < 1000; i++) {
      const s = shardOf(`team-${i}-prod`, 3);
      counts[s] = (counts[s] ?? 0) + 1;
    }
    for (const c of counts) assert.ok(c > 300 && c < 367, `counts ${counts.join(', ')}`);
  });

  it('puts everything in shard 0 with one shard, and refuses a shard count below 1', () => {
    assert.equal(shardOf('anything', 1), 0);
    assert.throws(() => shardOf('x', 0), /shards must be a positive integer, got 0/);
  });
});
