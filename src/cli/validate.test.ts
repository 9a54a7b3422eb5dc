import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { run } from './validate.ts';

describe('validate DIR', () => {
  let dir: string;
  before(async () => {
    dir = join(await mkdtemp(join(tmpdir(), 'gso-validate-')), 'web');
    await mkdir(join(dir, 'sub'), { recursive: true });
    await writeFile(join(dir, 'cm.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n');
    // Not manifests of the folder: a dot-file, another extension, a sub-folder.
    await writeFile(join(dir, '.hidden.yaml'), 'kind: [\n');
    await writeFile(join(dir, 'notes.txt'), 'kind: [\n');
    await writeFile(join(dir, 'sub', 'x.yaml'), 'kind: [\n');
  });
  after(async () => {
    await rm(join(dir, '..'), { recursive: true, force: true });
  });

  it('exit 0 for a valid folder; dot-files, other files and sub-folders are not read', async () => {
    assert.equal(await run([dir], {}), 0);
  });
  it('exit 1 for a bad phase annotation (named with file and line)', async () => {
    const bad = join(dir, 'job.yaml');
    await writeFile(
      bad,
      'apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: j\n  annotations: {git-sync-operator.mozilla.org/phase: later}\n',
    );
    try {
      assert.equal(await run([dir], {}), 1);
    } finally {
      await rm(bad);
    }
  });
});
