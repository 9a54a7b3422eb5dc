import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeObject } from '../manifests/object.ts';
import { hashAnnotation, managedByLabel } from './labels.ts';
import { desired } from './ssa.ts';

const obj = (kind: string, data: Record<string, string>): KubeObject => ({
  apiVersion: 'v1',
  kind,
  metadata: { name: 'x' },
  data,
});
const hash = (o: KubeObject) => desired(o, 'ns').metadata.annotations?.[hashAnnotation];

describe('desired', () => {
  it('sets the namespace, the ownership label and a hash annotation', () => {
    const d = desired(obj('ConfigMap', { a: '1' }), 'ns');
    assert.equal(d.metadata.namespace, 'ns');
    assert.equal(d.metadata.labels?.[managedByLabel], 'git-sync-operator');
    assert.match(hash(obj('ConfigMap', { a: '1' })) ?? '', /^[\w-]{22}$/);
  });
  it('changes the hash when any ConfigMap value changes', () => {
    assert.notEqual(hash(obj('ConfigMap', { a: '1' })), hash(obj('ConfigMap', { a: '2' })));
  });
  it('keeps Secret values out of the hash, but not their key names', () => {
    assert.equal(
      hash(obj('Secret', { password: 'aGVsbG8=' })),
      hash(obj('Secret', { password: 'd29ybGQ=' })),
    );
    assert.notEqual(
      hash(obj('Secret', { password: 'aGVsbG8=' })),
      hash(obj('Secret', { token: 'aGVsbG8=' })),
    );
  });
});
