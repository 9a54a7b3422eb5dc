// Git fixtures: a config repository (bare repo + work tree) and servers for it over http and ssh.
// Every git/ssh/sshd call uses an argument array; every server listens on 127.0.0.1 on a free port.
import { type ChildProcess, spawn } from 'node:child_process';
import { timingSafeEqual } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { copyFile, mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { userInfo } from 'node:os';
import { basename, dirname, isAbsolute, join, normalize } from 'node:path';
import { pathToFileURL } from 'node:url';
import { freePort, removeDir, run, type Service, startService, tempDir, waitFor } from './proc.ts';

const HTTP_BACKEND = '/usr/lib/git-core/git-http-backend';
const SSHD = '/usr/sbin/sshd';

/** Environment that makes git independent of the machine's user/system config and never prompt. */
function isolatedGitEnv(): NodeJS.ProcessEnv {
  return {
    ...process.env,
    GIT_AUTHOR_NAME: 'gso-test',
    GIT_AUTHOR_EMAIL: 'gso-test@example.invalid',
    GIT_COMMITTER_NAME: 'gso-test',
    GIT_COMMITTER_EMAIL: 'gso-test@example.invalid',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_TERMINAL_PROMPT: '0',
  };
}

async function git(args: readonly string[], cwd?: string, env?: NodeJS.ProcessEnv): Promise<string> {
  const { stdout } = await run('git', args, { cwd, env: env ?? isolatedGitEnv() });
  return stdout.trim();
}

// ---------------------------------------------------------------------------------------------
// The config repository

/** File contents by repo-relative path; in `commit`, null deletes the file. */
export type RepoFiles = Record<string, string>;
/**
 * A string writes a file, null deletes it, `{ symlink }` makes a symbolic link to that target,
 * `{ copyFrom }` copies a local file (big content without holding it in memory).
 */
export type RepoChanges = Record<string, string | null | { symlink: string } | { copyFrom: string }>;

export interface ConfigRepoOptions {
  /** Default branch (the bare repo's HEAD). Default `main`. */
  branch?: string;
  /** Repository folder name without `.git` (the last segment of http/ssh URLs). Default `repo`. */
  name?: string;
}

export interface ConfigRepo {
  /** The bare repository every transport serves. */
  readonly bareDir: string;
  /** `file://` URL of the bare repository. */
  readonly fileUrl: string;
  /** The default branch. */
  readonly branch: string;
  /**
   * Writes (string) or deletes (null) files on top of the bare repo's current `branch` (default: the
   * default branch), commits and pushes. Returns the new commit's full sha.
   */
  commit(files: RepoChanges, message: string, opts?: { branch?: string }): Promise<string>;
  /** Full sha of a branch in the bare repo (default: the default branch). */
  head(branch?: string): Promise<string>;
  /** Force-pushes the default branch to `sha` (usually an older commit: history is rewritten). */
  forcePush(sha: string): Promise<void>;
  /** Points `branch` of the bare repo at `sha`, creating the branch if needed. */
  resetBranch(branch: string, sha: string): Promise<void>;
  deleteBranch(name: string): Promise<void>;
  /** Removes the repository and its work tree. */
  stop(): Promise<void>;
}

/** Refuses paths that would leave the work tree: fixture input is test code, but mistakes happen. */
function repoPath(workDir: string, file: string): string {
  const rel = normalize(file);
  if (isAbsolute(rel) || rel === '..' || rel.startsWith('../') || rel === '.' || rel === '.git') {
    throw new Error(`config repo: bad file path ${JSON.stringify(file)}`);
  }
  return join(workDir, rel);
}

async function applyChanges(workDir: string, files: RepoChanges): Promise<void> {
  for (const [file, content] of Object.entries(files)) {
    const path = repoPath(workDir, file);
    if (content === null) {
      await rm(path, { force: true });
    } else if (typeof content === 'object' && 'copyFrom' in content) {
      await mkdir(dirname(path), { recursive: true });
      await copyFile(content.copyFrom, path);
    } else if (typeof content === 'object') {
      await mkdir(dirname(path), { recursive: true });
      await rm(path, { force: true });
      await symlink(content.symlink, path);
    } else {
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, content);
    }
  }
}

async function branchExists(gitDir: string, ref: string): Promise<boolean> {
  return run('git', ['--git-dir', gitDir, 'rev-parse', '--verify', '--quiet', ref], {
    env: isolatedGitEnv(),
  }).then(
    () => true,
    () => false,
  );
}

/** Creates a bare repo (default branch `main`) whose first commit holds `files`. */
export async function createConfigRepo(files: RepoFiles, opts: ConfigRepoOptions = {}): Promise<ConfigRepo> {
  const branch = opts.branch ?? 'main';
  const root = await tempDir('git');
  // The bare repo sits alone in its folder: the http server exports that folder.
  const bareDir = join(root, 'served', `${opts.name ?? 'repo'}.git`);
  const workDir = join(root, 'work');
  try {
    await mkdir(bareDir, { recursive: true });
    await git(['-c', `init.defaultBranch=${branch}`, 'init', '--quiet', '--bare', bareDir]);
    await git(['-c', `init.defaultBranch=${branch}`, 'init', '--quiet', workDir]);
    await git(['remote', 'add', 'origin', bareDir], workDir);
  } catch (err) {
    await removeDir(root);
    throw err;
  }

  const head = (b = branch) =>
    git(['--git-dir', bareDir, 'rev-parse', '--verify', `refs/heads/${b}^{commit}`]);

  // Work-tree operations run one at a time: two commits racing in one work tree would corrupt it.
  let queue: Promise<unknown> = Promise.resolve();
  const serially = <T>(op: () => Promise<T>): Promise<T> => {
    const result = queue.then(op);
    queue = result.catch(() => {});
    return result;
  };

  // Strictly increasing commit times: re-committing the same change on the same parent within one
  // second (e.g. after a force push) must still give a new sha.
  let lastTime = 0;
  const commitEnv = (): NodeJS.ProcessEnv => {
    lastTime = Math.max(Math.floor(Date.now() / 1000), lastTime + 1);
    const date = `${lastTime} +0000`;
    return { ...isolatedGitEnv(), GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date };
  };

  // The work tree always starts from the bare repo's branch, so commits after a force push or a
  // reset build on what clients see, not on the work tree's own (possibly newer) history.
  async function commitNow(changes: RepoChanges, message: string, b: string): Promise<string> {
    await git(['fetch', '--quiet', '--prune', 'origin'], workDir);
    // A new branch starts from the default branch; the very first commit from an empty tree.
    const base = (await branchExists(bareDir, `refs/heads/${b}`)) ? b : branch;
    if (await branchExists(bareDir, `refs/heads/${base}`)) {
      await git(['checkout', '--quiet', '--force', '-B', b, `origin/${base}`], workDir);
      await git(['clean', '--quiet', '-fdx'], workDir);
    } else {
      await git(['checkout', '--quiet', '--force', '--orphan', b], workDir);
      await git(['rm', '--quiet', '-r', '-f', '--ignore-unmatch', '.'], workDir);
    }
    await applyChanges(workDir, changes);
    await git(['add', '--all'], workDir);
    await git(['commit', '--quiet', '--allow-empty', '-m', message], workDir, commitEnv());
    await git(['push', '--quiet', 'origin', `HEAD:refs/heads/${b}`], workDir);
    return git(['rev-parse', 'HEAD'], workDir);
  }
  const commit = (changes: RepoChanges, message: string, o: { branch?: string } = {}) =>
    serially(() => commitNow(changes, message, o.branch ?? branch));

  const resetBranch = async (b: string, sha: string) => {
    await git(['--git-dir', bareDir, 'update-ref', `refs/heads/${b}`, sha]);
  };

  try {
    await commit(files, 'initial config');
  } catch (err) {
    await removeDir(root);
    throw err;
  }

  return {
    bareDir,
    fileUrl: pathToFileURL(bareDir).href,
    branch,
    commit,
    head,
    async forcePush(sha) {
      await serially(() =>
        git(['push', '--quiet', '--force', 'origin', `${sha}:refs/heads/${branch}`], workDir),
      );
    },
    resetBranch,
    async deleteBranch(name) {
      await git(['--git-dir', bareDir, 'update-ref', '-d', `refs/heads/${name}`]);
    },
    async stop() {
      await serially(() => removeDir(root));
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Client-side environment

/** How a git client authenticates to one of the fixture's servers. */
export type GitAuth =
  | { kind: 'none' }
  | { kind: 'http'; user: string; password: string }
  | { kind: 'ssh'; privateKeyFile: string; knownHostsFile: string };

/** POSIX single-quoting, for the fixture-owned paths that GIT_SSH_COMMAND (a shell string) needs. */
function shellQuote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

/**
 * Environment for a `git clone`/`ls-remote` against the fixture: isolated from the machine's git
 * config, never prompting, plus the transport's credentials.
 * - http: an `Authorization: Basic` header through GIT_CONFIG_COUNT (no secret in argv or the URL).
 * - ssh: GIT_SSH_COMMAND with only our key and known_hosts, strict host key checking, no ssh config.
 *   It is a shell string, but every part is a constant or a path this fixture created.
 */
export function gitEnvFor(auth: GitAuth = { kind: 'none' }): NodeJS.ProcessEnv {
  const env = isolatedGitEnv();
  if (auth.kind === 'http') {
    const token = Buffer.from(`${auth.user}:${auth.password}`).toString('base64');
    Object.assign(env, {
      GIT_CONFIG_COUNT: '2',
      GIT_CONFIG_KEY_0: 'http.extraHeader',
      GIT_CONFIG_VALUE_0: `Authorization: Basic ${token}`,
      GIT_CONFIG_KEY_1: 'credential.helper',
      GIT_CONFIG_VALUE_1: '',
    });
  } else if (auth.kind === 'ssh') {
    env.GIT_SSH_COMMAND = [
      'ssh',
      '-F',
      '/dev/null',
      '-i',
      shellQuote(auth.privateKeyFile),
      '-o',
      'IdentitiesOnly=yes',
      '-o',
      `UserKnownHostsFile=${shellQuote(auth.knownHostsFile)}`,
      '-o',
      'GlobalKnownHostsFile=/dev/null',
      '-o',
      'StrictHostKeyChecking=yes',
      '-o',
      'BatchMode=yes',
    ].join(' ');
  }
  return env;
}

/** Runs a git client command against a fixture server (e.g. `['ls-remote', url]`); returns stdout. */
export async function gitClient(args: readonly string[], auth?: GitAuth, cwd?: string): Promise<string> {
  return git(args, cwd, gitEnvFor(auth));
}

/** `git ls-remote` as `{ ref: sha }`. */
export async function lsRemote(url: string, auth?: GitAuth): Promise<Record<string, string>> {
  const out = await gitClient(['ls-remote', url], auth);
  const refs: Record<string, string> = {};
  for (const line of out.split('\n')) {
    const [sha, ref] = line.split('\t');
    if (sha && ref) refs[ref] = sha;
  }
  return refs;
}

// ---------------------------------------------------------------------------------------------
// HTTP (smart protocol through git-http-backend, behind basic auth)

export interface HttpCredentials {
  user: string;
  password: string;
}

/** One request the http server answered (for assertions such as "the operator authenticated"). */
export interface HttpRequestRecord {
  method: string;
  path: string;
  status: number;
  /** The authenticated user, or undefined when the request was refused with 401. */
  user: string | undefined;
  contentEncoding: string | undefined;
}

export interface GitHttpServer {
  /** `http://127.0.0.1:PORT/<name>.git`, without credentials. */
  readonly url: string;
  readonly requests: readonly HttpRequestRecord[];
  stop(): Promise<void>;
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The user when the Authorization header carries the right basic credentials. */
function basicAuthUser(header: string | undefined, creds: HttpCredentials): string | undefined {
  const m = /^Basic\s+(\S+)$/i.exec(header ?? '');
  if (!m?.[1]) return undefined;
  const decoded = Buffer.from(m[1], 'base64').toString();
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  const user = decoded.slice(0, colon);
  const password = decoded.slice(colon + 1);
  return sameSecret(user, creds.user) && sameSecret(password, creds.password) ? user : undefined;
}

// Request headers that CGI passes differently (CONTENT_*), must not reach the backend
// (authorization) or describe only this hop.
const NOT_FORWARDED = new Set([
  'authorization',
  'content-type',
  'content-length',
  'connection',
  'transfer-encoding',
]);

/** RFC 3875 meta-variables; every other request header becomes HTTP_<NAME> (Content-Encoding, Git-Protocol). */
function cgiEnv(req: IncomingMessage, url: URL, projectRoot: string, user: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_PROJECT_ROOT: projectRoot,
    GIT_HTTP_EXPORT_ALL: '1',
    GATEWAY_INTERFACE: 'CGI/1.1',
    SERVER_PROTOCOL: `HTTP/${req.httpVersion}`,
    REQUEST_METHOD: req.method ?? 'GET',
    PATH_INFO: decodeURIComponent(url.pathname),
    QUERY_STRING: url.search.slice(1),
    REMOTE_USER: user,
    REMOTE_ADDR: req.socket.remoteAddress ?? '127.0.0.1',
  };
  const contentType = req.headers['content-type'];
  if (contentType) env.CONTENT_TYPE = contentType;
  // Without CONTENT_LENGTH (a chunked request) git-http-backend reads the body until EOF.
  const contentLength = req.headers['content-length'];
  if (contentLength) env.CONTENT_LENGTH = contentLength;
  for (const [name, value] of Object.entries(req.headers)) {
    if (NOT_FORWARDED.has(name) || value === undefined) continue;
    env[`HTTP_${name.toUpperCase().replaceAll('-', '_')}`] = Array.isArray(value) ? value.join(', ') : value;
  }
  return env;
}

/** Splits a CGI response head (`Status:` plus headers) from the body; undefined until complete. */
function parseCgiHead(
  buf: Buffer,
): { status: number; headers: Record<string, string>; body: Buffer } | undefined {
  const crlf = buf.indexOf('\r\n\r\n');
  const lf = buf.indexOf('\n\n');
  let end: number;
  let sep: number;
  if (crlf >= 0 && (lf < 0 || crlf < lf)) [end, sep] = [crlf, 4];
  else if (lf >= 0) [end, sep] = [lf, 2];
  else return undefined;
  let status = 200;
  const headers: Record<string, string> = {};
  for (const line of buf.subarray(0, end).toString('latin1').split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10) || 500;
    else headers[name] = value;
  }
  return { status, headers, body: buf.subarray(end + sep) };
}

/** Runs git-http-backend for one request, piping the body in and streaming its CGI answer out. */
function runBackend(
  req: IncomingMessage,
  res: ServerResponse,
  env: NodeJS.ProcessEnv,
  children: Set<ChildProcess>,
) {
  const child = spawn(HTTP_BACKEND, [], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  children.add(child);
  let stderr = '';
  let head: Buffer | null = Buffer.alloc(0); // null once the CGI head has been sent
  const fail = (why: string) => {
    if (!res.headersSent) res.writeHead(502, { 'Content-Type': 'text/plain' });
    res.end(`git-http-backend: ${why}\n`);
  };
  child.on('error', (err) => fail(err.message));
  child.on('close', () => children.delete(child));
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  child.stdin.on('error', () => {}); // the backend may exit without reading the whole body
  req.pipe(child.stdin);
  child.stdout.on('data', (chunk: Buffer) => {
    if (head === null) {
      if (!res.write(chunk)) {
        child.stdout.pause();
        res.once('drain', () => child.stdout.resume());
      }
      return;
    }
    head = Buffer.concat([head, chunk]);
    const parsed = parseCgiHead(head);
    if (!parsed) return;
    head = null;
    res.writeHead(parsed.status, parsed.headers);
    if (parsed.body.length > 0) res.write(parsed.body);
  });
  child.stdout.on('end', () => {
    if (head !== null) fail(`no CGI headers (stderr: ${stderr.trim()})`);
    else res.end();
  });
  // A client that goes away must not leave a backend behind.
  res.on('close', () => {
    if (child.exitCode === null && child.signalCode === null && !res.writableFinished) child.kill('SIGKILL');
  });
}

/**
 * Serves `repo` over smart HTTP at `http://127.0.0.1:PORT/<name>.git`, behind basic auth with
 * `creds` (401 + `WWW-Authenticate: Basic` when missing or wrong). Read-only in practice: the
 * backend refuses pushes unless the repo sets http.receivepack. `creds` is read at every request:
 * changing its password rotates the server's credentials.
 */
export async function serveHttp(
  repo: ConfigRepo,
  creds: HttpCredentials,
  opts: { port?: number } = {},
): Promise<GitHttpServer> {
  if (!existsSync(HTTP_BACKEND)) throw new Error(`${HTTP_BACKEND} is missing: apt-get install git`);
  const projectRoot = dirname(repo.bareDir);
  const prefix = `/${basename(repo.bareDir)}/`;
  const requests: HttpRequestRecord[] = [];
  const children = new Set<ChildProcess>();

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const user = basicAuthUser(req.headers.authorization, creds);
    res.on('finish', () =>
      requests.push({
        method: req.method ?? '',
        path: url.pathname + url.search,
        status: res.statusCode,
        user,
        contentEncoding: req.headers['content-encoding'],
      }),
    );
    if (user === undefined) {
      res.writeHead(401, {
        'WWW-Authenticate': 'Basic realm="git-sync-operator test"',
        'Content-Type': 'text/plain',
      });
      res.end('authentication required\n');
      return;
    }
    if (!url.pathname.startsWith(prefix) || url.pathname.includes('/../')) {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end('not found\n');
      return;
    }
    runBackend(req, res, cgiEnv(req, url, projectRoot, user), children);
  });

  // A fixed port lets a test stop the server and serve again at the same URL (an outage).
  const port = opts.port ?? (await freePort());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });

  return {
    url: `http://127.0.0.1:${port}${prefix.slice(0, -1)}`,
    requests,
    async stop() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      for (const child of children) child.kill('SIGKILL');
      await closed;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// SSH (Debian's openssh-server on a loopback port)

export interface SshKey {
  privateKeyFile: string;
  /** The `ssh-ed25519 AAAA… comment` line. */
  publicKey: string;
}

/** Makes an unencrypted ed25519 key pair `<dir>/<name>` and `<dir>/<name>.pub`. */
export async function makeSshKey(dir: string, name: string): Promise<SshKey> {
  const privateKeyFile = join(dir, name);
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `gso-${name}`, '-f', privateKeyFile]);
  const publicKey = (await readFile(`${privateKeyFile}.pub`, 'utf8')).trim();
  return { privateKeyFile, publicKey };
}

export interface GitSshServer {
  /** `ssh://USER@127.0.0.1:PORT/<bareDir>`. */
  readonly url: string;
  /** A key sshd accepts (unencrypted, mode 0600). */
  readonly privateKeyFile: string;
  /** One line `[127.0.0.1]:PORT <host key>`, for StrictHostKeyChecking=yes. */
  readonly knownHostsFile: string;
  /** The raw host public key line (`ssh-ed25519 AAAA…`), e.g. for a Secret's known_hosts. */
  readonly hostPublicKey: string;
  /** `{ kind: 'ssh', privateKeyFile, knownHostsFile }` for gitEnvFor/gitClient. */
  readonly auth: GitAuth;
  stop(): Promise<void>;
}

function sshdConfig(o: { port: number; hostKey: string; authorizedKeys: string; pidFile: string }): string {
  return [
    `Port ${o.port}`,
    'ListenAddress 127.0.0.1',
    `HostKey ${o.hostKey}`,
    `AuthorizedKeysFile ${o.authorizedKeys}`,
    `PidFile ${o.pidFile}`,
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'PermitRootLogin prohibit-password',
    // The temp dir's owner and modes are not what sshd expects of a home directory.
    'StrictModes no',
    'UsePAM no',
    'UseDNS no',
    'PrintMotd no',
    // Lets git negotiate protocol v2, as it does with real servers.
    'AcceptEnv GIT_PROTOCOL',
    // Tests may open many connections at once; the default 10:30:100 drops some.
    'MaxStartups 100',
    'LogLevel VERBOSE',
    '',
  ].join('\n');
}

/**
 * sshd is a daemon: if the test process dies without calling stop(), it would outlive it and keep its
 * port. Kill it and remove its dir on process exit (sync: nothing async runs in 'exit').
 */
function cleanUpOnExit(child: ChildProcess, dir: string): () => void {
  const cleanup = () => {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', cleanup);
  return () => process.off('exit', cleanup);
}

/** Resolves once something on the port speaks SSH (the banner), not merely accepts. */
async function sshBanner(port: number): Promise<true | undefined> {
  return new Promise((resolve) => {
    const sock = connect(port, '127.0.0.1');
    const done = (v: true | undefined) => {
      sock.destroy();
      resolve(v);
    };
    sock.setTimeout(2000, () => done(undefined));
    sock.once('data', (d: Buffer) => done(d.toString().startsWith('SSH-') ? true : undefined));
    sock.once('error', () => done(undefined));
  });
}

/**
 * Serves `repo` over ssh with a fresh sshd on a loopback port: key-only auth for one generated client
 * key, the current user (root in CI) as the ssh user, git-upload-pack through the user's shell.
 */
export async function serveSsh(repo: ConfigRepo): Promise<GitSshServer> {
  if (!existsSync(SSHD)) {
    throw new Error(
      `${SSHD} is missing: apt-get install openssh-server openssh-client (.ci/run installs them)`,
    );
  }
  // sshd refuses to start without its privilege-separation directory (only root can make it).
  await mkdir('/run/sshd', { recursive: true }).catch(() => {});
  const dir = await tempDir('sshd');
  let sshd: Service | undefined;
  try {
    const hostKey = await makeSshKey(dir, 'host_ed25519');
    const client = await makeSshKey(dir, 'client_ed25519');
    const authorizedKeys = join(dir, 'authorized_keys');
    await writeFile(authorizedKeys, `${client.publicKey}\n`, { mode: 0o600 });
    const port = await freePort();
    const config = join(dir, 'sshd_config');
    const pidFile = join(dir, 'sshd.pid');
    await writeFile(config, sshdConfig({ port, hostKey: hostKey.privateKeyFile, authorizedKeys, pidFile }));
    const knownHostsFile = join(dir, 'known_hosts');
    const hostPublicKey = hostKey.publicKey.split(' ').slice(0, 2).join(' ');
    await writeFile(knownHostsFile, `[127.0.0.1]:${port} ${hostPublicKey}\n`);

    // sshd re-executes itself and so must be started by absolute path.
    const svc = startService('sshd', SSHD, ['-D', '-e', '-f', config], { logDir: dir });
    sshd = svc;
    const forget = cleanUpOnExit(svc.child, dir);
    await waitFor(`sshd on 127.0.0.1:${port}`, () => sshBanner(port), { timeoutMs: 20_000, service: svc });

    const user = userInfo().username;
    return {
      url: `ssh://${user}@127.0.0.1:${port}${repo.bareDir}`,
      privateKeyFile: client.privateKeyFile,
      knownHostsFile,
      hostPublicKey,
      auth: { kind: 'ssh', privateKeyFile: client.privateKeyFile, knownHostsFile },
      async stop() {
        await svc.stop();
        await removeDir(dir);
        forget();
      },
    };
  } catch (err) {
    await sshd?.stop();
    const log = await readFile(join(dir, 'sshd.log'), 'utf8').catch(() => '');
    await removeDir(dir);
    if (log && err instanceof Error) err.message += `\nsshd log:\n${log}`;
    throw err;
  }
}
