import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TreeEntry } from '../source/git.ts';
import { ManifestError } from './errors.ts';
import { limits } from './limits.ts';
import { selectFiles } from './select.ts';

const folder = 'oregon-b/web';

const blob = (name: string, size = 100, oid = `oid:${name}`): TreeEntry => ({
  mode: '100644',
  type: 'blob',
  oid,
  size,
  path: `${folder}/${name}`,
});
const link = (name: string, oid = `link:${name}`): TreeEntry => ({
  mode: '120000',
  type: 'blob',
  oid,
  size: 10,
  path: `${folder}/${name}`,
});

const noLinks = new Map<string, string>();

function fails(entries: TreeEntry[], targets: Map<string, string>, file: string, re: RegExp): void {
  assert.throws(
    () => selectFiles(folder, entries, targets),
    (err: unknown) => {
      assert.ok(err instanceof ManifestError, `expected ManifestError, got ${String(err)}`);
      assert.equal(err.file, file);
      assert.match(err.message, re);
      return true;
    },
  );
}

describe('selectFiles', () => {
  it('keeps .yaml, .yml and .json files directly in the folder, sorted', () => {
    const out = selectFiles(
      folder,
      [blob('svc.yml'), blob('deploy.yaml'), blob('config.json'), blob('HPA.YAML')],
      noLinks,
    );
    assert.deepEqual(out, [
      { path: `${folder}/config.json`, oid: 'oid:config.json' },
      { path: `${folder}/deploy.yaml`, oid: 'oid:deploy.yaml' },
      { path: `${folder}/HPA.YAML`, oid: 'oid:HPA.YAML' },
      { path: `${folder}/svc.yml`, oid: 'oid:svc.yml' },
    ]);
  });

  it('ignores dot-files, sub-folders, non-manifest files, submodules and other folders', () => {
    const entries: TreeEntry[] = [
      blob('deploy.yaml'),
      blob('.hidden.yaml'),
      blob('.github/ci.yaml'),
      blob('sub/extra.yaml'),
      blob('README.md'),
      blob('deploy.yaml.bak'),
      blob('notes.txt'),
      blob('yaml'),
      { mode: '160000', type: 'commit', oid: 'sub', size: 0, path: `${folder}/vendored.yaml` },
      { ...blob('x.yaml'), path: 'oregon-b/web2/x.yaml' },
      { ...blob('x.yaml'), path: 'oregon-b/webx.yaml' },
      { ...blob('x.yaml'), path: 'all-clusters/web/x.yaml' },
    ];
    assert.deepEqual(
      selectFiles(folder, entries, noLinks).map((f) => f.path),
      [`${folder}/deploy.yaml`],
    );
  });

  it('an empty or missing folder selects nothing', () => {
    assert.deepEqual(selectFiles(folder, [], noLinks), []);
    assert.deepEqual(selectFiles(folder, [blob('README.md')], noLinks), []);
  });

  describe('symlinks', () => {
    it('a link to a file in the folder reads the target blob', () => {
      const targets = new Map([
        ['link:svc.yaml', 'real-svc.yaml'],
        ['link:cm.yaml', './config.txt'],
        ['link:hpa.yaml', '../web/deploy.yaml'],
      ]);
      const out = selectFiles(
        folder,
        [
          blob('deploy.yaml'),
          blob('real-svc.yaml'),
          blob('config.txt'),
          link('svc.yaml'),
          link('cm.yaml'),
          link('hpa.yaml'),
        ],
        targets,
      );
      assert.deepEqual(out, [
        { path: `${folder}/cm.yaml`, oid: 'oid:config.txt' },
        { path: `${folder}/deploy.yaml`, oid: 'oid:deploy.yaml' },
        { path: `${folder}/hpa.yaml`, oid: 'oid:deploy.yaml' },
        { path: `${folder}/real-svc.yaml`, oid: 'oid:real-svc.yaml' },
        { path: `${folder}/svc.yaml`, oid: 'oid:real-svc.yaml' },
      ]);
    });

    for (const target of [
      '../prod/secret.yaml',
      '../../etc/passwd.yaml',
      '/etc/passwd',
      '/oregon-b/web/deploy.yaml',
      '..',
      'sub/extra.yaml',
      '/deploy.yaml',
    ]) {
      it(`a link to ${target} is rejected`, () => {
        fails(
          [blob('deploy.yaml'), blob('sub/extra.yaml'), link('evil.yaml')],
          new Map([['link:evil.yaml', target]]),
          `${folder}/evil.yaml`,
          /leaves the folder/,
        );
      });
    }

    it('a link to a missing file is rejected', () => {
      fails(
        [link('gone.yaml')],
        new Map([['link:gone.yaml', 'nothing.yaml']]),
        `${folder}/gone.yaml`,
        /not a file/,
      );
    });

    it('a link to another link is rejected', () => {
      fails(
        [blob('a.yaml'), link('b.yaml'), link('c.yaml')],
        new Map([
          ['link:b.yaml', 'a.yaml'],
          ['link:c.yaml', 'b.yaml'],
        ]),
        `${folder}/c.yaml`,
        /not a file/,
      );
    });

    it('a link whose target text is unknown is rejected', () => {
      fails([link('x.yaml')], noLinks, `${folder}/x.yaml`, /leaves the folder|not a file/);
    });

    it('a link with a non-manifest name is ignored, even when it escapes', () => {
      const out = selectFiles(
        folder,
        [blob('a.yaml'), link('passwd')],
        new Map([['link:passwd', '/etc/passwd']]),
      );
      assert.deepEqual(
        out.map((f) => f.path),
        [`${folder}/a.yaml`],
      );
    });
  });

  describe('size limits', () => {
    it(`a file of exactly ${limits.fileBytes} bytes is fine, one byte more is not`, () => {
      assert.equal(selectFiles(folder, [blob('big.yaml', limits.fileBytes)], noLinks).length, 1);
      fails(
        [blob('big.yaml', limits.fileBytes + 1)],
        noLinks,
        `${folder}/big.yaml`,
        /limit is 4\.0 MiB per file/,
      );
    });

    it('a link is measured by its target', () => {
      fails(
        [blob('big.txt', limits.fileBytes + 1), link('small.yaml')],
        new Map([['link:small.yaml', 'big.txt']]),
        `${folder}/small.yaml`,
        /limit is/,
      );
    });

    it('the folder as a whole is bounded', () => {
      const per = limits.fileBytes;
      const count = Math.floor(limits.folderBytes / per);
      const fit = Array.from({ length: count }, (_, i) => blob(`f${i}.yaml`, per));
      assert.equal(selectFiles(folder, fit, noLinks).length, count);
      fails([...fit, blob('one-more.yaml', 1)], noLinks, folder, /holds more than 64\.0 MiB/);
    });

    it('ignored files do not count', () => {
      const out = selectFiles(folder, [blob('a.yaml', 1), blob('huge.bin', limits.folderBytes * 2)], noLinks);
      assert.equal(out.length, 1);
    });
  });
});
