import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sameObject } from '../../src/kube/compare.ts';
import type { KubeObject } from '../../src/manifests/object.ts';

const live = (): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: {
    name: 'web',
    namespace: 'web',
    uid: 'u-1',
    resourceVersion: '100',
    labels: { app: 'web' },
    managedFields: [
      {
        manager: 'git-sync-operator',
        operation: 'Apply',
        apiVersion: 'v1',
        time: '2025-01-01T00:00:00Z',
        fieldsType: 'FieldsV1',
        fieldsV1: { 'f:data': { 'f:k': {} } },
      },
    ],
  },
  data: { k: 'v' },
});

/** What a dry-run of the same content answers: new resourceVersion and managedFields time. */
const dryRun = (): KubeObject => {
  const o = structuredClone(live());
  o.metadata.resourceVersion = '101';
  (o.metadata.managedFields as Record<string, unknown>[])[0] = {
    ...(o.metadata.managedFields as Record<string, unknown>[])[0],
    time: '2025-06-01T12:00:00Z',
  };
  return o;
};

describe('sameObject', () => {
  it('ignores resourceVersion and the time of managedFields', () => {
    assert.equal(sameObject(dryRun(), live()), true);
  });

  it('is true for identical objects without managedFields', () => {
    const a = live();
    delete a.metadata.managedFields;
    const b = structuredClone(a);
    b.metadata.resourceVersion = '7';
    assert.equal(sameObject(a, b), true);
  });

  it('an undefined live object is never the same', () => {
    assert.equal(sameObject(dryRun(), undefined), false);
  });

  it('detects a changed value', () => {
    const d = dryRun();
    d.data = { k: 'w' };
    assert.equal(sameObject(d, live()), false);
  });

  it('detects an added key', () => {
    const d = dryRun();
    d.data = { k: 'v', extra: '' };
    assert.equal(sameObject(d, live()), false);
  });

  it('detects a changed label', () => {
    const d = dryRun();
    d.metadata.labels = { app: 'web', tier: 'front' };
    assert.equal(sameObject(d, live()), false);
  });

  it('detects a change of field ownership (manager or fields), not only of values', () => {
    const d = dryRun();
    const mf = d.metadata.managedFields as Record<string, unknown>[];
    mf[0] = { ...mf[0], fieldsV1: { 'f:data': { 'f:k': {}, 'f:other': {} } } };
    assert.equal(sameObject(d, live()), false);
    const e = dryRun();
    (e.metadata.managedFields as Record<string, unknown>[]).push({
      manager: 'kubectl-edit',
      operation: 'Update',
    });
    assert.equal(sameObject(e, live()), false);
  });

  it('detects a changed generation (a spec change the server accepted)', () => {
    const a = live();
    a.metadata.generation = 1;
    const d = structuredClone(a);
    d.metadata.generation = 2;
    assert.equal(sameObject(d, a), false);
  });

  it('does not modify its arguments', () => {
    const d = dryRun();
    const l = live();
    sameObject(d, l);
    assert.deepEqual(d, dryRun());
    assert.deepEqual(l, live());
  });
});
