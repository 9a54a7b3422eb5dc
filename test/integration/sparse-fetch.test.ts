// Partial fetch against real git servers (file, http with auth, ssh): a sync brings this cluster's
// namespace files and no other folder's, in one batched fetch; a server that refuses filters costs
// the whole tree, says so once, and applies the same set.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Operator } from '../../src/operator.ts';
import { filterIgnoredMessage } from '../../src/source/partial.ts';
import { serveHttp, serveSsh } from '../../testbed/git.ts';
import { run } from '../../testbed/proc.ts';
import { appFiles, seedRepo } from '../../testbed/seed.ts';
import { startWorld, type World } from '../support/world.ts';

const ns = 'bedrock-dev';
const ours = `iowa-a/${ns}/`;
let w: World;
const stops: (() => Promise<void>)[] = [];

/** Other clusters' folders: many small files and a large one (none of them may be fetched). */
function othersFiles(): Record<string, string> {
  const files: Record<string, string> = {};
  for (let i = 0; i < 300; i++) files[`frankfurt/app-${i % 10}/cm-${i}.yaml`] = `data: {n: "${i}"}\n`;
  files['all-clusters/big/blob.yaml'] = `data: ${randomBytes(3 << 20).toString('base64')}\n`;
  return files;
}

const git = async (args: string[]): Promise<string> =>
  (
    await run('git', args, {
      env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null' },
    })
  ).stdout;

const allowFilter = (on: boolean) =>
  git(['--git-dir', w.repo.bareDir, 'config', 'uploadpack.allowFilter', String(on)]);

/** Every blob of the commit's tree, by path (from the served repo, which has them all). */
async function blobsAt(sha: string): Promise<Map<string, string>> {
  const out = await git(['--git-dir', w.repo.bareDir, 'ls-tree', '-r', '-z', '--full-tree', sha]);
  const blobs = new Map<string, string>();
  for (const rec of out.split('\0').filter(Boolean)) {
    const [meta = '', path = ''] = rec.split('\t');
    const [, type, oid = ''] = meta.split(' ');
    if (type === 'blob') blobs.set(path, oid);
  }
  return blobs;
}

/** The blobs of `sha`'s tree the operator's cache lacks (git lists them without fetching). */
async function missingIn(op: Operator, sha: string): Promise<Set<string>> {
  const cache = join(op.config.workDir, 'repo.git');
  const out = await git([
    '--git-dir',
    cache,
    'rev-list',
    '--objects',
    '--missing=print',
    '--no-object-names',
    `${sha}^{tree}`,
  ]);
  return new Set(
    out
      .split('\n')
      .filter((l) => l.startsWith('?'))
      .map((l) => l.slice(1)),
  );
}

/** Fetches kept in the cache: each one a promisor pack (git's lazy fetch would add one per blob). */
async function packsIn(op: Operator): Promise<number> {
  const files = await readdir(join(op.config.workDir, 'repo.git', 'objects', 'pack'));
  return files.filter((f) => f.endsWith('.promisor')).length;
}

/** Exactly the blobs outside this cluster's namespace folder are missing. */
async function onlyOursFetched(op: Operator, sha: string): Promise<void> {
  const blobs = await blobsAt(sha);
  const missing = await missingIn(op, sha);
  const expected = new Set([...blobs].filter(([path]) => !path.startsWith(ours)).map(([, oid]) => oid));
  for (const [path, oid] of blobs)
    if (path.startsWith(ours)) assert.ok(!missing.has(oid), `${path} was not fetched`);
  assert.ok(expected.size > 300, `fixture too small: ${expected.size}`);
  assert.deepEqual(missing, expected, 'blobs of other folders were fetched');
}

/** One sync pass: it must apply; returns the objects as sent (the applied result). */
async function syncOnce(op: Operator): Promise<unknown> {
  const [res] = await op.syncOnce({ wait: false });
  assert.equal(res?.ok, true, res?.error);
  const set = await op.deps.manifests.get(ns);
  assert.ok(set && 'objects' in set, 'no manifest set');
  return set.objects;
}

before(async () => {
  w = await startWorld({ namespaces: [ns], files: { ...seedRepo('iowa-a', [ns]), ...othersFiles() } });
});
after(async () => {
  for (const s of stops.reverse()) await s();
  await w?.stop();
});

test('file, http with auth and ssh: only this cluster’s files are fetched, in one batch per commit', async () => {
  await allowFilter(true);
  const http = await serveHttp(w.repo, { user: 'ci', password: 's3cret-token' });
  const ssh = await serveSsh(w.repo);
  stops.push(
    () => http.stop(),
    () => ssh.stop(),
  );
  const transports: [string, Record<string, string>][] = [
    ['file', {}],
    ['http', { CONFIG_REPO: http.url.replace('http://', 'http://ci:s3cret-token@') }],
    [
      'ssh',
      { CONFIG_REPO: ssh.url, GIT_SSH_KEY_FILE: ssh.privateKeyFile, GIT_SSH_KNOWN_HOSTS: ssh.knownHostsFile },
    ],
  ];
  let sha = await w.repo.head();
  const applied: unknown[] = [];
  for (const [name, env] of transports) {
    const op = w.operator(env);
    applied.push(await syncOnce(op));
    await onlyOursFetched(op, sha);
    assert.equal(op.deps.git.blobFetchCount, 1, `${name}: blobs not fetched in one batch`);
    assert.equal(await packsIn(op), 2, `${name}: not two fetches (trees, then the folder's files)`);
  }
  assert.deepEqual(applied[1], applied[0], 'http applied another set');
  assert.deepEqual(applied[2], applied[0], 'ssh applied another set');
  assert.ok(!w.logs.some((l) => l.includes('does not allow filters')), 'filter notice without cause');

  // A new commit of our folder: one more batch, of its new file only; another cluster's: none.
  const op = w.operator(transports[1]?.[1]);
  await syncOnce(op);
  sha = await w.repo.commit(appFiles(ours.slice(0, -1), 'bedrock', { image: 'mozmeao/bedrock:2' }), 'ours');
  const objects = JSON.stringify(await syncOnce(op));
  assert.match(objects, /mozmeao\/bedrock:2/);
  await onlyOursFetched(op, sha);
  assert.equal(op.deps.git.blobFetchCount, 2);
  sha = await w.repo.commit({ 'frankfurt/app-0/new.yaml': 'data: {}\n' }, 'theirs');
  await syncOnce(op);
  await onlyOursFetched(op, sha);
  assert.equal(op.deps.git.blobFetchCount, 2, 'files already in the cache were fetched again');
});

test('a server that refuses filters: the whole tree comes, one notice says so, the same set is applied', async () => {
  await allowFilter(true);
  const partial = w.operator();
  const expected = await syncOnce(partial);
  await allowFilter(false);
  try {
    const op = w.operator();
    const sha = await w.repo.head();
    assert.deepEqual(await syncOnce(op), expected);
    assert.equal((await missingIn(op, sha)).size, 0, 'the whole tree should have come');
    await w.repo.commit({ 'frankfurt/app-1/again.yaml': 'data: {}\n' }, 'another commit');
    assert.deepEqual(await syncOnce(op), expected);
    const notices = w.logs.filter((l) => l.includes(filterIgnoredMessage.slice(0, 60)));
    assert.equal(notices.length, 1, `notice logged ${notices.length} times`);
    const line = JSON.parse(notices[0] ?? '{}');
    assert.equal(line.level, 'warn');
    assert.match(line.msg, /uploadpack\.allowFilter true/);
  } finally {
    await allowFilter(true);
  }
});
