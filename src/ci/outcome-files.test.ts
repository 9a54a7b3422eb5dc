import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { s3File } from '../notify/s3.ts';
import { outcomeFile, outcomeOf, parseBody } from './outcome-files.ts';

const lm = Date.parse('2026-03-01T12:00:00Z');

describe('outcomeFile', () => {
  it('takes cluster/namespace/deployment/<sha7>[.failed] and nothing else', () => {
    assert.deepEqual(outcomeFile('iowa-a/bedrock-dev/bedrock/ba99a79', lm), {
      key: 'iowa-a/bedrock-dev/bedrock/ba99a79',
      cluster: 'iowa-a',
      namespace: 'bedrock-dev',
      deployment: 'bedrock',
      sha7: 'ba99a79',
      failed: false,
      lastModified: lm,
    });
    assert.equal(outcomeFile('iowa-a/bedrock-dev/bedrock/ba99a79.failed', lm)?.failed, true);
    for (const other of [
      '.gso-iam-probe',
      'iowa-a/bedrock-dev/bedrock',
      'iowa-a/bedrock-dev/bedrock/ba99a79/x',
      'iowa-a//bedrock/ba99a79',
      'iowa-a/bedrock-dev/bedrock/ba99a7',
      'iowa-a/bedrock-dev/bedrock/ba99a790',
      'iowa-a/bedrock-dev/bedrock/BA99A79',
      'iowa-a/bedrock-dev/bedrock/ba99a79.txt',
      'iowa-a/bedrock-dev/bedrock/ba99a79.failed.bak',
    ])
      assert.equal(outcomeFile(other, lm), undefined, other);
  });
});

describe('parseBody', () => {
  it('reads what the operator writes (s3File), deployed and failed', () => {
    const ok = s3File('iowa-a', {
      namespace: 'n',
      deployment: 'd',
      sha7: 'ba99a79',
      healthyAt: '2026-03-01T11:58:07Z',
    });
    assert.deepEqual(parseBody(ok.body, false), { time: Date.parse('2026-03-01T11:58:07Z') });
    const bad = s3File('iowa-a', {
      namespace: 'n',
      deployment: 'd',
      sha7: 'ba99a79',
      reason: 'RolloutTimeout',
      message: 'not healthy within 600 s:\n  web: 1 of 3 ready',
      at: '2026-03-01T11:59:00Z',
    });
    assert.deepEqual(parseBody(bad.body, true), {
      time: Date.parse('2026-03-01T11:59:00Z'),
      reason: 'RolloutTimeout',
      message: 'not healthy within 600 s: web: 1 of 3 ready',
    });
  });

  it('a body without a readable time has none (the caller falls back to LastModified)', () => {
    assert.deepEqual(parseBody('', false), {});
    assert.deepEqual(parseBody('yesterday', false), {});
    assert.deepEqual(parseBody('2026-13-01', false), {});
    assert.deepEqual(parseBody('soon RolloutTimeout: x', true), { message: 'soon RolloutTimeout: x' });
    assert.deepEqual(parseBody('', true), {});
  });
});

describe('outcomeOf', () => {
  const file = outcomeFile('iowa-a/web/api/ba99a79.failed', lm);
  assert.ok(file);
  it('the body time, to the second; reason and message of a failure', () => {
    assert.deepEqual(
      outcomeOf(file, { time: Date.parse('2026-03-01T11:59:00.700Z'), reason: 'ApplyFailed', message: 'm' }),
      {
        cluster: 'iowa-a',
        namespace: 'web',
        deployment: 'api',
        sha: 'ba99a79',
        at: '2026-03-01T11:59:00Z',
        state: 'failed',
        reason: 'ApplyFailed',
        message: 'm',
      },
    );
  });
  it('LastModified when the body has no time', () => {
    assert.equal(outcomeOf(file, {}).at, '2026-03-01T12:00:00Z');
  });
  it('a .failed file whose reason is Superseded is superseded, not failed', () => {
    assert.equal(
      outcomeOf(file, { reason: 'Superseded', message: 'Superseded by c0ffee1' }).state,
      'superseded',
    );
  });
});
