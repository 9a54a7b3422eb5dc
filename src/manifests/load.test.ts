import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManifestError, ManifestSetError } from './errors.ts';
import { limits } from './limits.ts';
import { parseSet } from './load.ts';

const folder = 'oregon-b/web';
const cm = (name: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n`;
const deploy = (name: string, apiVersion = 'apps/v1') =>
  `apiVersion: ${apiVersion}\nkind: Deployment\nmetadata:\n  name: ${name}\n`;

function setFails(files: { path: string; text: string }[], ...res: RegExp[]): ManifestSetError {
  let caught: unknown;
  try {
    parseSet(folder, 'web', files);
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof ManifestSetError, `expected ManifestSetError, got ${String(caught)}`);
  assert.equal(caught.errors.length, res.length, caught.message);
  for (const [i, re] of res.entries()) {
    assert.ok(caught.errors[i] instanceof ManifestError);
    assert.match(caught.errors[i]?.message ?? '', re);
  }
  return caught;
}

describe('parseSet', () => {
  it('returns the objects of every file in order, and the file list', () => {
    const set = parseSet(folder, 'web', [
      { path: `${folder}/a.yaml`, text: `${cm('one')}---\n${cm('two')}` },
      {
        path: `${folder}/b.json`,
        text: JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'one' } }),
      },
    ]);
    assert.equal(set.folder, folder);
    assert.deepEqual(set.files, [`${folder}/a.yaml`, `${folder}/b.json`]);
    assert.deepEqual(
      set.objects.map((o) => [o.source, o.object.kind, o.object.metadata.name]),
      [
        [`${folder}/a.yaml#1`, 'ConfigMap', 'one'],
        [`${folder}/a.yaml#2`, 'ConfigMap', 'two'],
        [`${folder}/b.json#1`, 'Service', 'one'],
      ],
    );
  });

  it('rejects the same object in two files, naming both', () => {
    const err = setFails(
      [
        { path: `${folder}/a.yaml`, text: cm('shared') },
        { path: `${folder}/b.yaml`, text: `${cm('other')}---\n${cm('shared')}` },
      ],
      /^oregon-b\/web\/b\.yaml#2: ConfigMap\/shared is also defined in oregon-b\/web\/a\.yaml#1$/,
    );
    assert.equal(err.errors[0]?.file, `${folder}/b.yaml#2`);
  });

  it('rejects the same object twice in one file', () => {
    setFails(
      [{ path: `${folder}/a.yaml`, text: `${cm('x')}---\n${cm('x')}` }],
      /a\.yaml#2: .*also defined in .*a\.yaml#1/,
    );
  });

  it('one object under two versions of the same group is a duplicate', () => {
    setFails(
      [
        { path: `${folder}/a.yaml`, text: deploy('web') },
        { path: `${folder}/b.yaml`, text: deploy('web', 'apps/v1beta2') },
      ],
      /Deployment\/web is also defined/,
    );
  });

  it('same name, different kind is not a duplicate', () => {
    const set = parseSet(folder, 'web', [
      { path: `${folder}/a.yaml`, text: `${cm('web')}---\n${deploy('web')}` },
    ]);
    assert.equal(set.objects.length, 2);
  });

  it('collects the errors of every file (nothing is applied)', () => {
    const err = setFails(
      [
        { path: `${folder}/a.yaml`, text: 'a: [\n' },
        { path: `${folder}/b.yaml`, text: cm('fine') },
        { path: `${folder}/c.yaml`, text: 'apiVersion: v1\nkind: Namespace\nmetadata: {name: web}\n' },
      ],
      /^oregon-b\/web\/a\.yaml:\d+: invalid YAML/,
      /^oregon-b\/web\/c\.yaml:1: .*cluster-scoped/,
    );
    assert.match(err.message, /a\.yaml.*; .*c\.yaml/);
    assert.equal(err.name, 'ManifestSetError');
  });

  it(`rejects more than ${limits.objectsPerNamespace} objects`, () => {
    const items = Array.from({ length: limits.objectsPerNamespace + 1 }, (_, i) => ({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: `c${i}` },
    }));
    setFails(
      [{ path: `${folder}/many.json`, text: JSON.stringify({ apiVersion: 'v1', kind: 'List', items }) }],
      new RegExp(`^${folder}: holds ${limits.objectsPerNamespace + 1} objects; the limit is`),
    );
  });

  it('a set with no object, however it comes out empty, is refused like a missing folder', () => {
    const ways: Record<string, string>[] = [
      {},
      { 'a.yaml': '# emptied\n' },
      { 'a.yaml': 'kind: List\nitems: []\n' },
      { 'a.yaml': '---\n---\n' },
      { 'a.yaml': 'null\n' },
      { 'a.yaml': '' },
      { 'a.json': '{"apiVersion":"v1","kind":"List","items":[]}' },
      {
        'a.yaml': '# emptied\n',
        'b.yaml': '---\nnull\n---\n',
        'c.yml': 'apiVersion: v1\nkind: List\nitems: []\n',
      },
    ];
    for (const files of ways) {
      const list = Object.entries(files).map(([n, text]) => ({ path: `${folder}/${n}`, text }));
      setFails(
        list,
        new RegExp(`^${folder}/: (is missing or has no|has no objects).*nothing is applied or pruned`),
      );
    }
  });
});
