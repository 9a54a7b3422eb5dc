// The operator's git source over every transport it supports, against real servers.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { GitSource, SourceError } from '../../src/source/git.ts';
import { type ConfigRepo, createConfigRepo, makeSshKey, serveHttp, serveSsh } from '../../testbed/git.ts';
import { removeDir, tempDir } from '../../testbed/proc.ts';

let repo: ConfigRepo;
let dir: string;
const stops: (() => Promise<void>)[] = [];

before(async () => {
  repo = await createConfigRepo({
    'iowa-a/ns/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n',
  });
  dir = await tempDir('source');
  stops.push(
    () => repo.stop(),
    () => removeDir(dir),
  );
});
after(async () => {
  for (const s of stops.reverse()) await s();
});

let n = 0;
const source = (url: string, extra: Partial<ConstructorParameters<typeof GitSource>[0]> = {}) =>
  new GitSource({ url, branch: undefined, cacheDir: `${dir}/cache-${n++}`, timeoutMs: 30_000, ...extra });

async function rejectsWith(
  p: Promise<unknown>,
  reason: SourceError['reason'],
  message?: RegExp,
): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof SourceError, `not a SourceError: ${String(err)}`);
    assert.equal(err.reason, reason, err.message);
    if (message) assert.match(err.message, message);
    return true;
  });
}

test('file://: default branch, fetch, tree listing and blob reads', async () => {
  const git = source(repo.fileUrl);
  const head = await git.head();
  assert.deepEqual(head, { sha: await repo.head(), branch: 'main' });
  const sha = await git.fetch(head);
  assert.equal(sha, head.sha);
  const entries = await git.list(sha, 'iowa-a/ns');
  assert.deepEqual(
    entries.map((e) => e.path),
    ['iowa-a/ns/cm.yaml'],
  );
  const blobs = await git.readBlobs(entries.map((e) => e.oid));
  assert.match(blobs.get(entries[0]?.oid ?? '')?.toString() ?? '', /kind: ConfigMap/);
  assert.equal((await git.commit(sha)).message, 'initial config');
});

test('a named branch is followed; a deleted branch is BranchNotFound', async () => {
  await repo.resetBranch('release', await repo.head());
  const sha = await repo.commit({ 'x.txt': 'release only' }, 'on release', { branch: 'release' });
  const git = source(repo.fileUrl, { branch: 'release' });
  assert.equal((await git.head()).sha, sha);
  await repo.deleteBranch('release');
  await rejectsWith(git.head(), 'BranchNotFound', /branch "release" not found/);
});

test('a force-push to an older commit is followed by fetch', async () => {
  const git = source(repo.fileUrl);
  const first = await repo.head();
  const second = await repo.commit({ 'b.txt': 'b' }, 'second');
  assert.equal(await git.fetch(await git.head()), second);
  await repo.forcePush(first);
  const head = await git.head();
  assert.equal(head.sha, first);
  assert.equal(await git.fetch(head), first);
});

test('https with basic auth in the URL works; a wrong password is AuthFailed and never shown', async () => {
  const http = await serveHttp(repo, { user: 'ci', password: 's3cret-token' });
  stops.push(() => http.stop());
  const withCreds = http.url.replace('http://', 'http://ci:s3cret-token@');
  const git = source(withCreds);
  const head = await git.head();
  assert.equal(await git.fetch(head), await repo.head());
  const bad = source(http.url.replace('http://', 'http://ci:wrong-password@'));
  await assert.rejects(bad.head(), (err: unknown) => {
    assert.ok(err instanceof SourceError);
    assert.equal(err.reason, 'AuthFailed', err.message);
    assert.doesNotMatch(err.message, /wrong-password/);
    return true;
  });
  await rejectsWith(source(http.url).head(), 'AuthFailed');
});

test('ssh with a key and known_hosts works; an unknown host key or key is AuthFailed', async () => {
  const ssh = await serveSsh(repo);
  stops.push(() => ssh.stop());
  const git = source(ssh.url, { sshKeyFile: ssh.privateKeyFile, sshKnownHostsFile: ssh.knownHostsFile });
  const head = await git.head();
  assert.equal(await git.fetch(head), await repo.head());
  const other = await makeSshKey(dir, 'stranger');
  await rejectsWith(
    source(ssh.url, { sshKeyFile: other.privateKeyFile, sshKnownHostsFile: ssh.knownHostsFile }).head(),
    'AuthFailed',
  );
  await rejectsWith(
    source(ssh.url, { sshKeyFile: ssh.privateKeyFile, sshKnownHostsFile: '/dev/null' }).head(),
    'AuthFailed',
  );
});

test('an unreachable server is Unreachable', async () => {
  await rejectsWith(source('http://127.0.0.1:9/repo.git').head(), 'Unreachable');
});
