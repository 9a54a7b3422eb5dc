import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManifestError } from './errors.ts';
import { limits } from './limits.ts';
import { parseFile } from './parse.ts';

const file = 'oregon-b/web/deploy.yaml';

const cm = (name: string, extra = '') =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n${extra}`;

/** Asserts parseFile throws a ManifestError for `file`, optionally at `line`, with text matching `re`. */
function fails(text: string, re: RegExp, line?: number, namespace = 'web'): void {
  assert.throws(
    () => parseFile(file, text, namespace),
    (err: unknown) => {
      assert.ok(err instanceof ManifestError, `expected ManifestError, got ${String(err)}`);
      assert.equal(err.file, file);
      assert.ok(err.message.startsWith(`${file}`), err.message);
      assert.match(err.message, re);
      if (line !== undefined) {
        assert.equal(err.line, line);
        assert.ok(err.message.startsWith(`${file}:${line}: `), err.message);
      }
      return true;
    },
  );
}

describe('parseFile', () => {
  it('parses several documents, with source and line of each', () => {
    const text = `${cm('a')}---\n${cm('b', 'data:\n  k: v\n')}`;
    const out = parseFile(file, text, 'web');
    assert.deepEqual(
      out.map((o) => [o.source, o.line, o.object.kind, o.object.metadata.name]),
      [
        [`${file}#1`, 1, 'ConfigMap', 'a'],
        [`${file}#2`, 5, 'ConfigMap', 'b'],
      ],
    );
    assert.deepEqual(out[1]?.object.data, { k: 'v' });
  });

  it('skips empty documents, a leading --- and a trailing ---', () => {
    const text = `---\n${cm('a')}---\n# only a comment\n---\n\n---\n${cm('b')}---\n`;
    const out = parseFile(file, text, 'web');
    assert.deepEqual(
      out.map((o) => [o.source, o.object.metadata.name]),
      [
        [`${file}#1`, 'a'],
        [`${file}#4`, 'b'],
      ],
    );
  });

  it('an empty file or a comment-only file holds no objects', () => {
    assert.deepEqual(parseFile(file, '', 'web'), []);
    assert.deepEqual(parseFile(file, '# nothing here\n', 'web'), []);
  });

  it('parses JSON', () => {
    const out = parseFile(
      'oregon-b/web/svc.json',
      JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' }, spec: { ports: [] } }),
      'web',
    );
    assert.equal(out.length, 1);
    assert.deepEqual(out[0]?.object, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web' },
      spec: { ports: [] },
    });
  });

  it('accepts metadata.namespace equal to the folder namespace', () => {
    const out = parseFile(file, cm('a', '').replace('  name: a\n', '  name: a\n  namespace: web\n'), 'web');
    assert.equal(out[0]?.object.metadata.namespace, 'web');
  });

  describe('malformed YAML names the file and the line of the error', () => {
    it('unterminated quote in the second document', () => {
      const text = `${cm('a')}---\n${cm('b', 'data:\n  k: "unterminated\n')}`;
      fails(text, /invalid YAML in document 2/);
    });
    it('bad nesting on line 10', () => {
      const text = `${cm('a')}---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n  bad: : :\n`;
      fails(text, /invalid YAML in document 2/, 10);
    });
    it('a tab used as indentation on line 4', () => {
      fails(
        'apiVersion: v1\nkind: ConfigMap\nmetadata:\n\tname: x\n',
        /invalid YAML in document 1.*[Tt]ab/,
        4,
      );
    });
    it('a duplicate key on line 3', () => {
      fails('apiVersion: v1\nkind: ConfigMap\nkind: Secret\nmetadata:\n  name: x\n', /unique/, 3);
    });
    it('broken JSON', () => {
      fails('{"apiVersion": "v1",\n "kind": "ConfigMap",\n "metadata": {"name": "x"}\n', /invalid YAML/, 4);
    });
    it('the message is a single line', () => {
      assert.throws(
        () => parseFile(file, 'a: [1, 2\nb: 3\n', 'web'),
        (err: unknown) => err instanceof ManifestError && !err.message.includes('\n'),
      );
    });
  });

  describe('documents that are not objects', () => {
    it('a scalar', () => fails(`${cm('a')}---\njust text\n`, /document 2 is a string, not an object/, 5));
    it('a number', () => fails('42\n', /document 1 is a number, not an object/, 1));
    it('a list', () => fails('- a\n- b\n', /document 1 is a list, not an object/, 1));
  });

  describe('required fields', () => {
    it('apiVersion missing', () =>
      fails('kind: ConfigMap\nmetadata: {name: a}\n', /apiVersion is missing/, 1));
    it('apiVersion empty', () =>
      fails('apiVersion: ""\nkind: ConfigMap\nmetadata: {name: a}\n', /apiVersion is missing/));
    it('kind missing', () => fails('apiVersion: v1\nmetadata: {name: a}\n', /kind is missing/));
    it('kind not a string', () => fails('apiVersion: v1\nkind: 3\nmetadata: {name: a}\n', /kind is missing/));
    it('metadata missing', () => fails('apiVersion: v1\nkind: ConfigMap\n', /ConfigMap has no metadata/));
    it('name missing', () =>
      fails('apiVersion: v1\nkind: ConfigMap\nmetadata: {labels: {a: b}}\n', /no metadata\.name/));
    it('name not a string', () =>
      fails('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: 12}\n', /no metadata\.name/));
    it('generateName', () =>
      fails('apiVersion: v1\nkind: Pod\nmetadata: {name: a, generateName: a-}\n', /generateName/));
  });

  describe('names', () => {
    for (const name of ['Web', 'web_1', '-web', 'web-', 'a..b', 'a/b', 'x'.repeat(254)]) {
      it(`rejects ${JSON.stringify(name.slice(0, 20))}`, () =>
        fails(cm(JSON.stringify(name)), /is not a valid Kubernetes name/));
    }
    for (const name of ['web', 'web-1', 'a.b.c', '0', 'x'.repeat(253)]) {
      it(`accepts ${JSON.stringify(name.slice(0, 20))}`, () =>
        assert.equal(parseFile(file, cm(JSON.stringify(name)), 'web')[0]?.object.metadata.name, name));
    }
  });

  it('rejects an object for another namespace', () => {
    const text = `${cm('a')}---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n  namespace: prod\n`;
    fails(text, /Secret\/s is for namespace "prod"; this folder applies only to "web"/, 5);
  });

  for (const kind of ['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition']) {
    it(`rejects the cluster-scoped ${kind}`, () =>
      fails(
        `apiVersion: v1\nkind: ${kind}\nmetadata:\n  name: x\n`,
        new RegExp(`${kind}/x is cluster-scoped`),
      ));
  }

  describe('kind: List', () => {
    it('stands for its items', () => {
      const text = [
        'apiVersion: v1',
        'kind: List',
        'items:',
        '- apiVersion: v1',
        '  kind: ConfigMap',
        '  metadata: {name: a}',
        '- apiVersion: apps/v1',
        '  kind: Deployment',
        '  metadata: {name: web}',
        '',
      ].join('\n');
      const out = parseFile(file, `${cm('first')}---\n${text}`, 'web');
      assert.deepEqual(
        out.map((o) => [o.source, o.object.kind, o.object.metadata.name]),
        [
          [`${file}#1`, 'ConfigMap', 'first'],
          [`${file}#2`, 'ConfigMap', 'a'],
          [`${file}#2`, 'Deployment', 'web'],
        ],
      );
    });
    it('typed lists (ConfigMapList) are expanded too, an empty list holds nothing', () => {
      const out = parseFile(
        file,
        'apiVersion: v1\nkind: ConfigMapList\nitems:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: x}}\n',
        'web',
      );
      assert.deepEqual(
        out.map((o) => o.object.metadata.name),
        ['x'],
      );
      assert.deepEqual(parseFile(file, 'apiVersion: v1\nkind: List\nitems: []\n', 'web'), []);
    });
    it('validates each item', () => {
      fails(
        'apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Namespace, metadata: {name: x}}\n',
        /cluster-scoped/,
      );
      fails(
        'apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: x, namespace: other}}\n',
        /namespace "other"/,
      );
      fails('apiVersion: v1\nkind: List\nitems:\n- just a string\n', /not an object/);
    });
  });

  describe('YAML bombs', () => {
    it('an exponential alias bomb is a ManifestError, quickly', () => {
      const lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
      let prev = 'a';
      for (const c of 'bcdefghijklmnop') {
        lines.push(`${c}: &${c} [${Array(9).fill(`*${prev}`).join(',')}]`);
        prev = c;
      }
      const started = performance.now();
      fails(lines.join('\n'), /document 1: .*alias/i, 1);
      assert.ok(performance.now() - started < 2_000, 'rejected without expanding');
    });
    it(`more than ${limits.aliases} aliases of one anchor are rejected`, () => {
      const text = `${cm('a', 'data:\n')}  k: &v x\n${Array.from({ length: limits.aliases + 1 }, (_, i) => `  k${i}: *v`).join('\n')}\n`;
      fails(text, /alias/i);
    });
    it('a few aliases are fine', () => {
      const out = parseFile(file, `${cm('a', 'data:\n')}  k: &v x\n  k1: *v\n  k2: *v\n`, 'web');
      assert.deepEqual(out[0]?.object.data, { k: 'x', k1: 'x', k2: 'x' });
    });
  });

  it(`rejects more than ${limits.documentsPerFile} documents in one file`, () => {
    fails('---\n'.repeat(limits.documentsPerFile + 1), new RegExp(`limit is ${limits.documentsPerFile}`));
  });

  it('a file of many documents at the limit parses in reasonable time (no quadratic line counting)', () => {
    const doc = (i: number) =>
      `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c${i}\ndata:\n  v: "${'x'.repeat(300)}"\n`;
    const text = Array.from({ length: limits.documentsPerFile }, (_, i) => doc(i)).join('---\n');
    const started = performance.now();
    const out = parseFile(file, text, 'web');
    const ms = performance.now() - started;
    assert.equal(out.length, limits.documentsPerFile);
    assert.equal(out.at(-1)?.line, (limits.documentsPerFile - 1) * 7); // the line of its ---
    assert.ok(ms < 10_000, `took ${Math.round(ms)} ms`);
  });
});
