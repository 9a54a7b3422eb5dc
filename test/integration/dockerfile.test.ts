// The image cannot be built here (no Docker engine): check what can be — every COPY source exists,
// the base is Node 24, it runs as non-root, and the entrypoint runs from dist/ without src/.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { cp, readFile, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { removeDir, run, tempDir } from '../../testbed/proc.ts';

const root = new URL('../..', import.meta.url).pathname;
const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await removeDir(d);
});

test('Dockerfile: Node 24 base, non-root user, and every COPY source exists', async () => {
  const text = await readFile(join(root, 'Dockerfile'), 'utf8');
  const froms = [...text.matchAll(/^FROM (\S+)/gm)].map((m) => m[1]);
  assert.ok(froms.length >= 2, 'not multi-stage');
  for (const f of froms) assert.match(f ?? '', /^node:24/);
  assert.match(text, /^USER 1000:1000$/m);
  const sources = [...text.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) => (m[1] ?? '').split(/\s+/));
  assert.ok(sources.length >= 5);
  for (const s of sources) assert.ok(existsSync(join(root, s)), `COPY source ${s} is missing`);
});

test('the entrypoint runs the compiled CLI in an image-like layout (dist/, no src/)', async () => {
  const app = await tempDir('image');
  dirs.push(app);
  await run(
    process.execPath,
    [
      join(root, 'node_modules/typescript/bin/tsc'),
      '-p',
      'tsconfig.build.json',
      '--outDir',
      join(app, 'dist'),
    ],
    {
      cwd: root,
    },
  );
  await cp(join(root, 'bin'), join(app, 'bin'), { recursive: true });
  await cp(join(root, 'package.json'), join(app, 'package.json'));
  await symlink(join(root, 'node_modules'), join(app, 'node_modules'));
  assert.ok(!existsSync(join(app, 'src')));
  const help = await run(process.execPath, [join(app, 'bin/git-sync-operator.js'), '--help']);
  assert.match(help.stdout, /usage: git-sync-operator <command>/);
  const bad = await run(process.execPath, [join(app, 'bin/git-sync-operator.js'), 'run'], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME },
  }).then(
    () => undefined,
    (err: { code: number; stderr: string }) => err,
  );
  assert.equal(bad?.code, 2);
  assert.match(bad?.stderr ?? '', /CONFIG_REPO: is required/);
});
