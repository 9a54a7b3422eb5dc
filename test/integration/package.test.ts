// The package CI installs: `npm pack` yields compiled code only, and the tarball, installed into an
// empty folder with Node 24 (offline from the npm cache), runs `npx git-sync-operator … --help`
// without tsx or src/.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';

const root = new URL('../../', import.meta.url).pathname;
// npm and npx run on this test's Node (24): their `#!/usr/bin/env node` finds it first on PATH.
const env = { ...process.env, PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}` };
const exec = (cmd: string, args: string[], cwd: string) =>
  promisify(execFile)(cmd, args, { cwd, env, maxBuffer: 64 * 1024 * 1024, timeout: 300_000 });

let dir: string;
let tarball: string;
let files: string[];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gso-package-'));
  const { stdout } = await exec('npm', ['pack', '--json', '--pack-destination', dir], root);
  const [pack] = JSON.parse(stdout.slice(stdout.indexOf('['))) as {
    filename: string;
    files: { path: string }[];
  }[];
  assert.ok(pack);
  tarball = join(dir, pack.filename);
  files = pack.files.map((f) => f.path);
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('npm pack', () => {
  it('holds compiled code, the bin and the README; no src/, test/ or test files', () => {
    assert.ok(files.includes('dist/cli/index.js'), files.join(' '));
    assert.ok(files.includes('bin/git-sync-operator.js'));
    assert.ok(files.includes('README.md'));
    assert.ok(files.includes('package.json'));
    for (const f of files) {
      assert.ok(!f.startsWith('src/') && !f.startsWith('test/') && !f.startsWith('testbed/'), f);
      assert.ok(!/\.test\.[jt]s$/.test(f), f);
      assert.ok(/^(dist\/.*\.js|bin\/git-sync-operator\.js|README\.md|package\.json|LICENSE)$/.test(f), f);
    }
  });

  it('installed into an empty folder, `npx git-sync-operator wait --help` and `promote --help` work', async () => {
    const app = join(dir, 'app');
    await mkdir(app);
    await exec(
      'npm',
      ['install', '--no-audit', '--no-fund', '--prefer-offline', '--prefix', app, tarball],
      app,
    );
    const wait = await exec('npx', ['--no-install', 'git-sync-operator', 'wait', '--help'], app);
    assert.match(wait.stdout, /^usage: git-sync-operator wait --bucket BUCKET --cluster NAME/);
    assert.match(wait.stdout, /--timeout DURATION +give up after this long/);
    assert.match(wait.stdout.replace(/\s+/g, ' '), /\(required; env S3_BUCKET\)/);
    assert.match(wait.stdout, /\n {2}AWS_SECRET_ACCESS_KEY=<text>\n/);
    const promote = await exec('npx', ['--no-install', 'git-sync-operator', 'promote', '--help'], app);
    assert.match(
      promote.stdout,
      /^usage: git-sync-operator promote \[--repo DIR\] --namespace NS --clusters/,
    );
    assert.match(promote.stdout, /--interval DURATION/);
    // A usage error from the installed package: exit 2, one line.
    const bad = await exec('npx', ['--no-install', 'git-sync-operator', 'wait', '--sha', 'xyz'], app).then(
      () => assert.fail('wait --sha xyz succeeded'),
      (err: { code: number; stderr: string }) => err,
    );
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^git-sync-operator: --sha: "xyz" is not a hex commit sha/);
  });
});
