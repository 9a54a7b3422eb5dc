import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fieldManager } from '../kube/labels.ts';
import { isDrift, type ManagedFieldsEntry, signature } from './signature.ts';

const ours = (time: string): ManagedFieldsEntry => ({
  manager: fieldManager,
  operation: 'Apply',
  time,
  fieldsV1: { 'f:spec': {} },
});
const status = (time: string): ManagedFieldsEntry => ({
  manager: 'kube-controller-manager',
  operation: 'Update',
  subresource: 'status',
  time,
});
const edit = (time: string, field = 'f:replicas'): ManagedFieldsEntry => ({
  manager: 'kubectl-edit',
  operation: 'Update',
  time,
  fieldsV1: { 'f:spec': { [field]: {} } },
});
const sig = (...managedFields: ManagedFieldsEntry[]) => signature({ managedFields });

test('a status update or our own apply is not drift', () => {
  const before = sig(ours('t1'), status('t1'));
  assert.equal(isDrift(before, sig(ours('t1'), status('t2'))), false);
  assert.equal(isDrift(before, sig(ours('t2'), status('t1'))), false);
});

test("another writer's edit is drift, also a second edit that touches another field", () => {
  const before = sig(ours('t1'), status('t1'));
  const edited = sig(ours('t1'), status('t1'), edit('t2'));
  assert.equal(isDrift(before, edited), true);
  assert.equal(isDrift(edited, sig(ours('t1'), status('t1'), edit('t2', 'f:paused'))), true);
});

test('an event that moved no entry (same writer, same second) counts as drift', () => {
  const s = sig(ours('t1'), edit('t2'));
  assert.equal(isDrift(s, sig(ours('t1'), edit('t2'))), true);
});

test('a deletion under way is drift; an object never seen is drift', () => {
  const s = sig(ours('t1'));
  assert.equal(isDrift(s, signature({ managedFields: [ours('t1')], deletionTimestamp: 'x' })), true);
  assert.equal(isDrift(undefined, s), true);
});

test("the cluster's controllers writing the main resource (a revision annotation) are not drift", () => {
  const before = sig(ours('t1'));
  const kcm: ManagedFieldsEntry = { manager: 'kube-controller-manager', operation: 'Update', time: 't2' };
  assert.equal(isDrift(before, sig(ours('t1'), kcm)), false);
});

test('the writers that count as drift are named, the latest last', () => {
  const helm: ManagedFieldsEntry = { manager: 'helm', operation: 'Update', time: '2026-11-26T05:00:00Z' };
  const s = sig(
    ours('2026-11-26T06:00:00Z'),
    edit('2026-11-26T05:30:00Z'),
    helm,
    status('2026-11-26T07:00:00Z'),
  );
  assert.deepEqual(s.writers, ['helm', 'kubectl-edit']);
});

test('no entry moved: drift when the spec moved (generation) or the kind has none; a status writer twice in a second is not', () => {
  const s = (generation?: number) => signature({ managedFields: [ours('t1'), status('t2')], generation });
  assert.equal(isDrift(s(3), s(3)), false, 'status written twice in one second');
  assert.equal(isDrift(s(3), s(4)), true, 'the spec changed by a writer seen in the same second');
  assert.equal(isDrift(s(), s()), true, 'no generation: counted');
});
