// The git fixture itself: one repo served over file://, http (basic auth) and ssh (key + known_hosts).
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  type ConfigRepo,
  createConfigRepo,
  type GitHttpServer,
  type GitSshServer,
  gitClient,
  lsRemote,
  makeSshKey,
  serveHttp,
  serveSsh,
} from '../../testbed/git.ts';
import { removeDir, tempDir } from '../../testbed/proc.ts';

const creds = { user: 'deployer', password: 's3cret-pass' };
const cleanups: Array<() => Promise<void>> = [];
let repo: ConfigRepo;
let http: GitHttpServer;
let ssh: GitSshServer;
let first: string;
let second: string;

/** A fresh temp dir removed by after(). */
async function scratch(name: string): Promise<string> {
  const dir = await tempDir(name);
  cleanups.push(() => removeDir(dir));
  return dir;
}

before(async () => {
  repo = await createConfigRepo({ 'apps/web/cm.yaml': 'kind: ConfigMap\n', 'README.md': 'config\n' });
  cleanups.push(() => repo.stop());
  first = await repo.head();
  second = await repo.commit({ 'apps/web/cm.yaml': 'kind: ConfigMap # v2\n', 'README.md': null }, 'v2');
  http = await serveHttp(repo, creds);
  cleanups.push(() => http.stop());
  ssh = await serveSsh(repo);
  cleanups.push(() => ssh.stop());
});

after(async () => {
  // Reverse order: servers before the repo they serve. Keep going if one cleanup fails.
  const errors: unknown[] = [];
  for (const cleanup of cleanups.reverse()) await cleanup().catch((e: unknown) => errors.push(e));
  if (errors.length > 0) throw new AggregateError(errors, 'git fixture cleanup failed');
});

test('commit returns the full sha of the new head, and null deletes a file', async () => {
  assert.match(second, /^[0-9a-f]{40}$/);
  assert.notEqual(second, first);
  assert.equal(await repo.head(), second);
  assert.equal(repo.branch, 'main');
});

test('file:// clone sees the latest commit and its files', async () => {
  const dir = join(await scratch('clone-file'), 'c');
  await gitClient(['clone', '--quiet', '--branch', 'main', repo.fileUrl, dir]);
  assert.equal(await gitClient(['rev-parse', 'HEAD'], undefined, dir), second);
  assert.equal(await readFile(join(dir, 'apps/web/cm.yaml'), 'utf8'), 'kind: ConfigMap # v2\n');
  await assert.rejects(readFile(join(dir, 'README.md')), { code: 'ENOENT' });
});

test('http with the right credentials clones, and the URL carries no credentials', async () => {
  assert.match(http.url, /^http:\/\/127\.0\.0\.1:\d+\/repo\.git$/);
  const dir = join(await scratch('clone-http'), 'c');
  const auth = { kind: 'http', ...creds } as const;
  await gitClient(['clone', '--quiet', http.url, dir], auth);
  assert.equal(await gitClient(['rev-parse', 'HEAD'], undefined, dir), second);
  assert.equal((await lsRemote(http.url, auth))['refs/heads/main'], second);
  assert.ok(http.requests.some((r) => r.user === creds.user && r.method === 'POST' && r.status === 200));
});

test('http with a wrong password or none fails with 401 and asks for Basic auth', async () => {
  await assert.rejects(
    lsRemote(http.url, { kind: 'http', user: creds.user, password: 'wrong' }),
    /Authentication failed|could not read|401/,
  );
  await assert.rejects(lsRemote(http.url), /Authentication failed|could not read|401/);
  const res = await fetch(`${http.url}/info/refs?service=git-upload-pack`);
  assert.equal(res.status, 401);
  assert.match(res.headers.get('www-authenticate') ?? '', /^Basic /);
});

test('ssh with the key and a strict known_hosts sees the latest commit', async () => {
  assert.match(ssh.url, /^ssh:\/\/[^@]+@127\.0\.0\.1:\d+\//);
  assert.equal((await lsRemote(ssh.url, ssh.auth))['refs/heads/main'], second);
  const dir = join(await scratch('clone-ssh'), 'c');
  await gitClient(['clone', '--quiet', ssh.url, dir], ssh.auth);
  assert.equal(await gitClient(['rev-parse', 'HEAD'], undefined, dir), second);
});

test('ssh with a key that is not authorized fails', async () => {
  const other = await makeSshKey(await scratch('other-key'), 'id_other');
  const auth = {
    kind: 'ssh',
    privateKeyFile: other.privateKeyFile,
    knownHostsFile: ssh.knownHostsFile,
  } as const;
  await assert.rejects(lsRemote(ssh.url, auth), /Permission denied/);
});

test('ssh against an unknown host key fails (StrictHostKeyChecking=yes)', async () => {
  const dir = await scratch('empty-known-hosts');
  const knownHostsFile = join(dir, 'known_hosts');
  await writeFile(knownHostsFile, '');
  const auth = { kind: 'ssh', privateKeyFile: ssh.privateKeyFile, knownHostsFile } as const;
  await assert.rejects(lsRemote(ssh.url, auth), /Host key verification failed/);
});

test('forcePush moves the branch back; every transport sees it', async () => {
  await repo.forcePush(first);
  assert.equal(await repo.head(), first);
  assert.equal((await lsRemote(repo.fileUrl))['refs/heads/main'], first);
  assert.equal((await lsRemote(http.url, { kind: 'http', ...creds }))['refs/heads/main'], first);
  assert.equal((await lsRemote(ssh.url, ssh.auth))['refs/heads/main'], first);
  // The next commit builds on the rewritten branch, not on the work tree's older history.
  const third = await repo.commit({ 'apps/web/extra.yaml': 'x: 1\n' }, 'v3');
  assert.equal(await gitClient(['--git-dir', repo.bareDir, 'rev-parse', `${third}^`]), first);
});

test('concurrent commits are serialized; the same change after a force push gets a new sha', async () => {
  const [a, b] = await Promise.all([
    repo.commit({ 'apps/web/a.yaml': 'a: 1\n' }, 'a'),
    repo.commit({ 'apps/web/b.yaml': 'b: 1\n' }, 'b'),
  ]);
  assert.equal(await gitClient(['--git-dir', repo.bareDir, 'rev-parse', `${b}^`]), a);
  await repo.forcePush(a);
  const again = await repo.commit({ 'apps/web/b.yaml': 'b: 1\n' }, 'b');
  assert.notEqual(again, b);
  assert.equal(await repo.head(), again);
});

test('resetBranch creates or moves a branch, deleteBranch removes it', async () => {
  await repo.resetBranch('release', first);
  assert.equal((await lsRemote(http.url, { kind: 'http', ...creds }))['refs/heads/release'], first);
  const onRelease = await repo.commit({ 'release.txt': 'r1\n' }, 'release 1', { branch: 'release' });
  assert.equal(await repo.head('release'), onRelease);
  await repo.deleteBranch('release');
  assert.equal((await lsRemote(repo.fileUrl))['refs/heads/release'], undefined);
  await assert.rejects(repo.head('release'));
});

test('http serves a fetch whose request body is gzip-compressed', async () => {
  // git gzips POST bodies over 1 KiB: a clone of 40 branches sends 40 "want" lines.
  const many = await createConfigRepo({ 'a.txt': '0\n' }, { name: 'many' });
  cleanups.push(() => many.stop());
  const tip = await many.commit({ 'a.txt': '1\n' }, 'c1');
  for (let i = 1; i <= 40; i++) await many.resetBranch(`b${i}`, tip);
  const server = await serveHttp(many, creds);
  cleanups.push(() => server.stop());
  assert.match(server.url, /\/many\.git$/);
  const dir = join(await scratch('clone-gzip'), 'c');
  await gitClient(['clone', '--quiet', '--mirror', server.url, dir], { kind: 'http', ...creds });
  assert.equal(await gitClient(['--git-dir', dir, 'rev-parse', 'refs/heads/b40']), tip);
  assert.ok(
    server.requests.some((r) => r.method === 'POST' && r.contentEncoding === 'gzip' && r.status === 200),
    `no gzip'ed POST among ${JSON.stringify(server.requests)}`,
  );
});
