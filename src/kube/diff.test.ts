import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { inspect } from 'node:util';
import type { KubeObject } from '../manifests/object.ts';
import { comparable, fieldChanges, formatChange, formatDiffs, Hidden, summary } from './diff.ts';
import { hashAnnotation } from './labels.ts';

const deployment = (spec: Record<string, unknown>, meta: Record<string, unknown> = {}): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: 'ns', ...meta },
  spec,
});

const lines = (live: KubeObject, next: KubeObject) => fieldChanges(live, next).map(formatChange);

describe('fieldChanges', () => {
  it('names each changed scalar by its path, lists by index', () => {
    const live = deployment({
      replicas: 2,
      template: { spec: { containers: [{ name: 'a', image: 'a:1' }] } },
    });
    const next = deployment({
      replicas: 3,
      template: { spec: { containers: [{ name: 'a', image: 'a:2' }] } },
    });
    assert.deepEqual(lines(live, next), [
      'spec.replicas: 2 → 3',
      'spec.template.spec.containers[0].image: "a:1" → "a:2"',
    ]);
  });

  it('shows added and removed fields and list items with (none), whole values as one-line JSON', () => {
    const live = deployment({ paused: true, ports: [{ port: 80 }] });
    const next = deployment({ ports: [{ port: 80 }, { port: 443 }], strategy: { type: 'Recreate' } });
    assert.deepEqual(lines(live, next), [
      'spec.paused: true → (none)',
      'spec.ports[1]: (none) → {"port":443}',
      'spec.strategy: (none) → {"type":"Recreate"}',
    ]);
  });

  it('quotes keys that are not plain names', () => {
    const live = deployment({}, { labels: { 'app.kubernetes.io/name': 'a' } });
    const next = deployment({}, { labels: { 'app.kubernetes.io/name': 'b' } });
    assert.deepEqual(lines(live, next), ['metadata.labels["app.kubernetes.io/name"]: "a" → "b"']);
  });

  it('a type change is one change of the whole value', () => {
    assert.deepEqual(lines(deployment({ x: [1] }), deployment({ x: { a: 1 } })), ['spec.x: [1] → {"a":1}']);
    assert.deepEqual(lines(deployment({ x: null }), deployment({ x: 0 })), ['spec.x: null → 0']);
  });

  it('leaves out status, server bookkeeping and the applied-hash', () => {
    const live = deployment(
      { replicas: 2 },
      {
        resourceVersion: '1',
        generation: 1,
        uid: 'u1',
        creationTimestamp: '2020-01-01T00:00:00Z',
        managedFields: [{ manager: 'kubectl', operation: 'Update' }],
        annotations: { [hashAnnotation]: 'old' },
      },
    );
    const next = {
      ...deployment(
        { replicas: 2 },
        {
          resourceVersion: '2',
          generation: 2,
          uid: 'u1',
          managedFields: [{ manager: 'git-sync-operator', operation: 'Apply' }],
          annotations: { [hashAnnotation]: 'new' },
        },
      ),
      status: { replicas: 2 },
    };
    assert.deepEqual(fieldChanges(live, next), []);
    assert.equal(
      'annotations' in (comparable(next).metadata as object),
      false,
      'an empty annotations map left',
    );
  });

  it('keeps other annotations', () => {
    const live = deployment({}, { annotations: { [hashAnnotation]: 'h', team: 'a' } });
    const next = deployment({}, { annotations: { [hashAnnotation]: 'h', team: 'b' } });
    assert.deepEqual(lines(live, next), ['metadata.annotations.team: "a" → "b"']);
  });
});

describe('Secrets', () => {
  const secret = (
    data: Record<string, string> | undefined,
    annotations?: Record<string, string>,
  ): KubeObject => ({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'db', ...(annotations ? { annotations } : {}) },
    type: 'Opaque',
    ...(data ? { data } : {}),
  });
  const b64 = (s: string) => Buffer.from(s).toString('base64');

  it('names the keys that changed, were added or removed; never a value, plain or base64', () => {
    const live = secret({ password: b64('old-pass'), user: b64('app'), gone: b64('bye-value') });
    const next = secret({ password: b64('new-pass'), user: b64('app'), token: b64('tok-value') });
    const changes = fieldChanges(live, next);
    assert.deepEqual(changes.map(formatChange), [
      'data.password: changed (hidden)',
      'data.gone: (hidden) → (none)',
      'data.token: (none) → (hidden)',
    ]);
    const everything = [
      ...changes.map(formatChange),
      JSON.stringify(changes),
      inspect(changes, { depth: 10, showHidden: true }),
      String(changes[0]?.from),
    ].join('\n');
    for (const v of ['old-pass', 'new-pass', 'bye-value', 'tok-value'])
      for (const shown of [v, b64(v)]) assert.ok(!everything.includes(shown), `${shown} shown`);
  });

  it('a whole data map added or removed shows its keys, not its values', () => {
    const [added] = fieldChanges(secret(undefined), secret({ k: b64('v4lue') }));
    assert.equal(formatChange(added as never), 'data: (none) → {"k":"(hidden)"}');
  });

  it('an equal value is no change; stringData is hidden too', () => {
    assert.deepEqual(fieldChanges(secret({ a: b64('same') }), secret({ a: b64('same') })), []);
    const withString = { ...secret(undefined), stringData: { a: 'plain-text' } };
    const [c] = fieldChanges(secret(undefined), withString);
    assert.ok(c && !formatChange(c).includes('plain-text'));
  });

  it("hides kubectl's last-applied copy of a Secret (it holds the values), not a ConfigMap's", () => {
    const key = 'kubectl.kubernetes.io/last-applied-configuration';
    const [c] = fieldChanges(secret({}, { [key]: '{"data":{"a":"czNjcjN0"}}' }), secret({}, { [key]: '{}' }));
    assert.equal(formatChange(c as never), `metadata.annotations["${key}"]: changed (hidden)`);
    const cm = (v: string): KubeObject => ({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'c', annotations: { [key]: v } },
    });
    assert.deepEqual(lines(cm('a'), cm('b')), [`metadata.annotations["${key}"]: "a" → "b"`]);
  });

  it('Hidden compares by value and serialises as (hidden)', () => {
    assert.ok(new Hidden('a').equals(new Hidden('a')));
    assert.ok(!new Hidden('a').equals(new Hidden('b')));
    assert.equal(JSON.stringify({ x: new Hidden('s3cr3t') }), '{"x":"(hidden)"}');
  });
});

describe('formatDiffs and summary', () => {
  const ref = (kind: string, name: string) => ({ apiVersion: 'v1', kind, name });

  it('one line per object, fields indented under a change', () => {
    const out = formatDiffs([
      {
        op: 'change',
        ref: ref('Deployment', 'web'),
        where: 'c/ns/deploy.yaml:1',
        fields: [{ path: 'spec.replicas', from: 2, to: 3 }],
      },
      { op: 'create', ref: ref('ConfigMap', 'new'), where: 'c/ns/cm.yaml:1' },
      { op: 'replace', ref: ref('Job', 'migrate'), where: 'c/ns/job.yaml:1' },
      { op: 'prune', ref: ref('HorizontalPodAutoscaler', 'web') },
    ]);
    assert.deepEqual(out, [
      '~ Deployment/web (c/ns/deploy.yaml:1)',
      '    spec.replicas: 2 → 3',
      '+ ConfigMap/new (c/ns/cm.yaml:1)',
      '± Job/migrate (c/ns/job.yaml:1) would be deleted and created again (immutable fields change)',
      '- HorizontalPodAutoscaler/web (would be pruned)',
    ]);
  });

  it('counts each kind of difference; says so when there is none', () => {
    assert.equal(summary('ns @ abc1234', [], 4), 'ns @ abc1234: no differences (4 objects)');
    assert.equal(
      summary('ns @ abc1234', [{ op: 'prune', ref: ref('Service', 's') }], 4),
      'ns @ abc1234: 0 changed, 0 new, 1 to prune, 4 unchanged',
    );
    assert.equal(
      summary('ns @ abc1234', [{ op: 'replace', ref: ref('Job', 'j') }], 4),
      'ns @ abc1234: 0 changed, 0 new, 1 to replace, 0 to prune, 4 unchanged',
    );
  });
});
