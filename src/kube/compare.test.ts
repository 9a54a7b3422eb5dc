import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeObject } from '../manifests/object.ts';
import { contains, sameObject } from './compare.ts';

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

describe('contains (value-level match that lets a resync skip its dry-run)', () => {
  const live = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 's', namespace: 'n', labels: { a: '1', extra: 'x' }, resourceVersion: '9' },
    spec: {
      clusterIP: '10.96.0.5',
      ports: [{ port: 80, protocol: 'TCP', targetPort: 8000 }],
      selector: { app: 's' },
    },
  };
  it('is true when every desired field has the same live value (defaults and extras ignored)', () => {
    const desired = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 's', labels: { a: '1' } },
      spec: { ports: [{ port: 80, targetPort: 8000 }], selector: { app: 's' } },
    };
    assert.equal(contains(live, desired), true);
  });
  it('is false when a value differs, a field is missing, or a list length differs', () => {
    assert.equal(contains(live, { spec: { selector: { app: 't' } } }), false);
    assert.equal(contains(live, { spec: { sessionAffinity: 'None' } }), false);
    assert.equal(contains(live, { spec: { ports: [{ port: 80 }, { port: 81 }] } }), false);
    assert.equal(contains(live, { metadata: { labels: { b: '2' } } }), false);
  });
  it('compares scalars strictly (a normalised quantity costs a dry-run, never a missed change)', () => {
    assert.equal(contains({ cpu: '500m' }, { cpu: 0.5 }), false);
    assert.equal(contains({ n: 1 }, { n: '1' }), false);
    assert.equal(contains({ n: null }, { n: null }), true);
  });
});
