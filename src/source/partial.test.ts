import assert from 'node:assert/strict';
import { test } from 'node:test';
import { covered, filterIgnored, missingOids, wantRefused } from './partial.ts';

const a = 'c1827f07e114c20547dc6a7296588870a4b5b62c';
const b = 'da0f8ed91a8f2f0f067b3bdf26265d5ca48cf82c';

test('missingOids: only the ?-marked ids of rev-list --missing=print', () => {
  const out = `20becdf65f258be91f1017539de7b8273aa2a372\n?${a}\nd504ca5ef54638f02ac0577d06b1b62cc296dd85\n?${b}\n`;
  assert.deepEqual(missingOids(out), [a, b]);
  assert.deepEqual(missingOids(''), []);
  assert.deepEqual(missingOids('?not-an-id\n? \n'), []);
  const sha256 = 'ab'.repeat(32);
  assert.deepEqual(missingOids(`?${sha256}\n`), [sha256]);
});

test('filterIgnored: git’s warning when the server does not allow filters', () => {
  assert.ok(filterIgnored('warning: filtering not recognized by server, ignoring\n'));
  assert.ok(!filterIgnored(''));
  assert.ok(!filterIgnored('warning: redirecting to https://example.com/repo.git/\n'));
});

test('wantRefused: a server that will not send an object by id', () => {
  assert.ok(wantRefused(`git fetch x: error: Server does not allow request for unadvertised object ${a}`));
  assert.ok(wantRefused(`fatal: remote error: upload-pack: not our ref ${a}`));
  assert.ok(!wantRefused('fatal: unable to access: Could not resolve host'));
});

test('covered: a folder inside one of the fetched folders, not a prefix lookalike', () => {
  assert.ok(covered(['iowa-a/ns'], 'iowa-a/ns'));
  assert.ok(covered(['iowa-a'], 'iowa-a/ns'));
  assert.ok(!covered(['iowa-a/ns'], 'iowa-a/ns2'));
  assert.ok(!covered(['iowa-a/ns'], 'iowa-a'));
  assert.ok(!covered([], 'iowa-a/ns'));
});
