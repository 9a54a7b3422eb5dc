import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeObject } from '../manifests/object.ts';
import { ApiError } from './client.ts';
import { recreateAnnotation } from './labels.ts';
import { immutableError, immutableFields, recreatable } from './recreate.ts';

/** A refusal as the apiserver sends it: a 422 whose causes name each field. */
function refused(...causes: { field: string; message: string }[]): ApiError {
  const err = new ApiError(422, 'Invalid', 'PATCH /x: 422 Invalid: Deployment.apps "bedrock" is invalid');
  err.causes = causes.map((c) => ({ reason: 'FieldValueInvalid', ...c }));
  return err;
}

const obj = (kind: string, annotations?: Record<string, string>): KubeObject => ({
  apiVersion: 'v1',
  kind,
  metadata: { name: 'x', ...(annotations ? { annotations } : {}) },
});

describe('immutableFields', () => {
  it('names the fields when immutability is all that is wrong (Deployment, Service, PVC, StatefulSet wordings)', () => {
    assert.deepEqual(
      immutableFields(
        refused({ field: 'spec.selector', message: 'Invalid value: {...}: field is immutable' }),
      ),
      ['spec.selector'],
    );
    assert.deepEqual(
      immutableFields(
        refused({
          field: 'spec.clusterIPs[0]',
          message: 'Invalid value: "10.0.0.9": may not change once set',
        }),
      ),
      ['spec.clusterIPs[0]'],
    );
    assert.deepEqual(
      immutableFields(
        refused({
          field: 'spec',
          message: 'Forbidden: spec is immutable after creation except resources.requests',
        }),
      ),
      ['spec'],
    );
    assert.deepEqual(
      immutableFields(
        refused({
          field: 'spec',
          message:
            "Forbidden: updates to statefulset spec for fields other than 'replicas', 'template' are forbidden",
        }),
      ),
      ['spec'],
    );
  });
  it('is undefined when another cause is a plain invalid value: the set fails as invalid', () => {
    assert.equal(
      immutableFields(
        refused(
          { field: 'spec.selector', message: 'field is immutable' },
          { field: 'spec.replicas', message: 'Invalid value: -1: must be greater than or equal to 0' },
        ),
      ),
      undefined,
    );
  });
  it('is undefined for other statuses and errors', () => {
    assert.equal(immutableFields(new ApiError(409, 'Conflict', 'field is immutable')), undefined);
    assert.equal(immutableFields(new Error('field is immutable')), undefined);
  });
});

describe('recreatable', () => {
  it('a Job always (its template never updates), others only with the annotation set to "true"', () => {
    assert.equal(recreatable(obj('Job')), true);
    assert.equal(recreatable(obj('Deployment')), false);
    assert.equal(recreatable(obj('Deployment', { [recreateAnnotation]: 'true' })), true);
    assert.equal(recreatable(obj('Deployment', { [recreateAnnotation]: 'false' })), false);
    // Deleting a claim deletes its data: never, annotation or not.
    assert.equal(recreatable(obj('PersistentVolumeClaim', { [recreateAnnotation]: 'true' })), false);
  });
});

describe('immutableError', () => {
  it('names the object, the fields and the opt-in, on one line', () => {
    const e = immutableError({ ...obj('Deployment'), metadata: { name: 'bedrock' } }, ['spec.selector']);
    assert.equal(e.status, 422);
    assert.match(e.message, /^Deployment\/bedrock: spec\.selector: field is immutable; .*recreate: "true"$/);
    assert.doesNotMatch(e.message, /\n/);
  });
  it('tells a PersistentVolumeClaim to be migrated by hand, not recreated', () => {
    const e = immutableError({ ...obj('PersistentVolumeClaim'), metadata: { name: 'data' } }, ['spec']);
    assert.match(
      e.message,
      /^PersistentVolumeClaim\/data: spec: field is immutable; .*never recreated.*by hand$/,
    );
  });
});
