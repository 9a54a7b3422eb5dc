// Gitea: a real git host on 127.0.0.1 with an API, push webhooks and commit statuses, for tests of
// what the operator does with a forge. One admin user with an all-scopes token, SQLite, no SSH.
// The binary and its templates are Go-built by testbed/build.sh (`bash testbed/build.sh gitea`).
// Gitea refuses to run as root: as root, it runs as the system user `gso-gitea` (created once).
import { randomBytes } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { chown, mkdir, readFile, writeFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { componentDir, versions } from './binaries.ts';
import { type GitAuth, gitClient } from './git.ts';
import {
  exec,
  freePort,
  type RunAs,
  removeDir,
  run,
  type Service,
  startService,
  tempDir,
  waitFor,
} from './proc.ts';

/** The unprivileged user Gitea runs as when the tests run as root. */
const SYSTEM_USER = 'gso-gitea';

export interface GiteaRepo {
  readonly owner: string;
  readonly name: string;
  /** `owner/name`. */
  readonly fullName: string;
}

export type CommitState = 'pending' | 'success' | 'error' | 'failure' | 'warning' | 'skipped';

/** One commit status as Gitea stores it (Gitea's JSON calls the state `status`; here it is `state`). */
export interface CommitStatus {
  readonly id: number;
  readonly state: CommitState;
  readonly context: string;
  readonly description: string;
  readonly target_url: string;
  /** Login of the user whose token set it. */
  readonly creator: string | undefined;
  readonly created_at: string;
}

/** What a forge shows on a commit: the worst state of the newest status per context. */
export interface CombinedStatus {
  readonly state: CommitState | '';
  readonly sha: string;
  readonly total_count: number;
  /** The newest status of each context. */
  readonly statuses: CommitStatus[];
}

export interface NewStatus {
  state: CommitState;
  context: string;
  description?: string;
  target_url?: string;
}

export interface Gitea {
  /** `http://127.0.0.1:PORT`, no trailing slash. */
  readonly url: string;
  /** The admin user (owner of every repo createRepo makes). */
  readonly user: string;
  readonly password: string;
  /** An all-scopes access token of `user`: `Authorization: token …`, or the password in basic auth. */
  readonly token: string;
  /** `{ kind: 'http', user, password: token }` for gitClient/lsRemote (no secret in argv or URL). */
  readonly auth: GitAuth;
  /** Gitea's own log (stdout and stderr). */
  readonly logFile: string;
  /** One API call as `user` (path under /api/v1); throws with status and body unless 2xx. */
  api<T = unknown>(method: string, path: string, body?: unknown): Promise<T>;
  /** An empty repository (default branch `main`) owned by `user`. */
  createRepo(name: string): Promise<GiteaRepo>;
  /** `http://127.0.0.1:PORT/owner/name.git`; with the token, `http://user:TOKEN@…` (a secret!). */
  cloneUrl(repo: GiteaRepo, withToken?: boolean): string;
  /** Force-pushes `branch` (default `main`) of a local repository (e.g. ConfigRepo.bareDir) to `repo`. */
  pushFrom(gitDir: string, repo: GiteaRepo, branch?: string): Promise<void>;
  /** A `gitea`-type webhook for push events, JSON, HMAC-signed with `secret`; returns its id. */
  addPushWebhook(repo: GiteaRepo, url: string, secret: string): Promise<number>;
  /** Turns a webhook off or on (Gitea's API cannot change a webhook's secret: add another). */
  setWebhookActive(repo: GiteaRepo, id: number, active: boolean): Promise<void>;
  /** Sets a commit status as `user`, as CI or the operator would. */
  setStatus(repo: GiteaRepo, sha: string, status: NewStatus): Promise<CommitStatus>;
  /** Every status ever set on the commit (up to 50), oldest first. */
  statuses(repo: GiteaRepo, sha: string): Promise<CommitStatus[]>;
  combinedStatus(repo: GiteaRepo, sha: string): Promise<CombinedStatus>;
  /** Stops Gitea (by its pid) and removes its data. */
  stop(): Promise<void>;
}

/** The built Gitea: its binary and the templates/options/public it serves from disk. */
export function giteaDist(): { dir: string; bin: string } {
  const dir = componentDir('gitea');
  const bin = join(dir, 'bin', 'gitea');
  if (!existsSync(join(dir, '.complete')) || !existsSync(bin)) {
    throw new Error(
      `gitea ${versions().gitea} is not built (${bin} or ${dir}/.complete is missing): ` +
        'run `bash testbed/build.sh gitea` (several minutes, needs Go and gcc), ' +
        'or wait for a build that is already running',
    );
  }
  return { dir, bin };
}

/** As root: the uid/gid of SYSTEM_USER, created if missing. Otherwise: run as ourselves. */
async function runAs(): Promise<RunAs & { name: string }> {
  if (process.getuid?.() !== 0) return { name: userInfo().username };
  const ids = async () => {
    const uid = await exec('id', ['-u', SYSTEM_USER]);
    const gid = await exec('id', ['-g', SYSTEM_USER]);
    return uid.code === 0 && gid.code === 0
      ? { uid: Number(uid.stdout), gid: Number(gid.stdout) }
      : undefined;
  };
  let found = await ids();
  if (!found) {
    // Another test process may create it at the same time: only the lookup after decides.
    const made = await exec('useradd', [
      '--system',
      '--no-create-home',
      '--shell',
      '/usr/sbin/nologin',
      SYSTEM_USER,
    ]).catch((err: Error) => ({ stderr: err.message })); // no useradd (spawn ENOENT)
    found = await ids();
    if (!found) throw new Error(`gitea: cannot create the user ${SYSTEM_USER}: ${made.stderr.trim()}`);
  }
  return { ...found, name: SYSTEM_USER };
}

/**
 * The dist where the Gitea user can read it. The cache usually sits under root's 0700 home, so
 * for another user it is hard-linked (a copy across file systems) into the run's folder.
 */
async function stageDist(dist: { dir: string; bin: string }, root: string, user: RunAs) {
  if (user.uid === undefined) return dist;
  const dir = join(root, 'dist');
  const linked = await exec('cp', ['-al', dist.dir, dir]);
  if (linked.code !== 0) {
    await removeDir(dir);
    await run('cp', ['-a', dist.dir, dir]);
  }
  return { dir, bin: join(dir, 'bin', 'gitea') };
}

const randomHex = (bytes: number) => randomBytes(bytes).toString('hex');

function appIni(o: { root: string; port: number; staticDir: string; runUser: string }): string {
  const url = `http://127.0.0.1:${o.port}/`;
  return `APP_NAME = gso-test
RUN_USER = ${o.runUser}
RUN_MODE = prod
WORK_PATH = ${o.root}

[server]
PROTOCOL = http
HTTP_ADDR = 127.0.0.1
HTTP_PORT = ${o.port}
ROOT_URL = ${url}
LOCAL_ROOT_URL = ${url}
DISABLE_SSH = true
START_SSH_SERVER = false
OFFLINE_MODE = true
LFS_START_SERVER = false
STATIC_ROOT_PATH = ${o.staticDir}
APP_DATA_PATH = ${join(o.root, 'data')}

[database]
DB_TYPE = sqlite3
PATH = ${join(o.root, 'data', 'gitea.db')}

[security]
INSTALL_LOCK = true
SECRET_KEY = ${randomHex(24)}
INTERNAL_TOKEN = ${randomHex(32)}

[oauth2]
ENABLED = false

[repository]
ROOT = ${join(o.root, 'repos')}
DEFAULT_BRANCH = main

[webhook]
; loopback: the operator under test listens on 127.0.0.1 (the default refuses private addresses)
ALLOWED_HOST_LIST = loopback
DELIVER_TIMEOUT = 10

[queue]
; in memory: deliveries start at once and nothing outlives the run
TYPE = channel

[service]
DISABLE_REGISTRATION = true

[actions]
ENABLED = false

[indexer]
ISSUE_INDEXER_TYPE = db

[cron.update_checker]
ENABLED = false

[session]
PROVIDER = memory

[log]
MODE = console
LEVEL = Info
ROOT_PATH = ${join(o.root, 'log')}
logger.router.MODE =
logger.access.MODE =
`;
}

/** Last lines of a log file, for error messages (the file itself goes away with the temp dir). */
async function logTail(file: string, lines = 30): Promise<string> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text.split('\n').slice(-lines).join('\n');
}

async function version(url: string): Promise<string | undefined> {
  const res = await fetch(`${url}/api/v1/version`, { signal: AbortSignal.timeout(2000) });
  const body = (await res.json().catch(() => undefined)) as { version?: string } | undefined;
  return res.ok ? body?.version : undefined;
}

/** Gitea's JSON status, with its `status` field renamed to `state` and the creator reduced to a login. */
interface RawStatus extends Omit<CommitStatus, 'state' | 'creator'> {
  status: CommitState;
  creator?: { login?: string } | null;
}
const toStatus = ({ status, creator, ...s }: RawStatus): CommitStatus => ({
  ...s,
  state: status,
  creator: creator?.login,
});

/** Folders Gitea writes to, owned by the user it runs as. */
async function makeLayout(root: string, user: RunAs): Promise<void> {
  for (const d of ['', 'data', 'repos', 'log', 'home', 'tmp', 'custom', 'custom/conf']) {
    await mkdir(join(root, d), { recursive: true });
    if (user.uid !== undefined && user.gid !== undefined) await chown(join(root, d), user.uid, user.gid);
  }
}

/** Starts Gitea with an admin user and a token; throws (with Gitea's log) if it does not come up. */
export async function startGitea(): Promise<Gitea> {
  const built = giteaDist();
  const user = await runAs();
  const root = await tempDir('gitea');
  let svc: Service | undefined;
  // A test process that dies without stop() must not leave Gitea's files (its staged copy of the
  // binary is 100 MB): proc.ts already kills the process on 'exit' (sync: 'exit' runs no I/O).
  const onExit = () => rmSync(root, { recursive: true, force: true });
  process.once('exit', onExit);
  const stop = async () => {
    await svc?.stop();
    await removeDir(root);
    process.off('exit', onExit);
  };
  try {
    await makeLayout(root, user);
    const dist = await stageDist(built, root, user);
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const ini = join(root, 'custom', 'conf', 'app.ini');
    await writeFile(ini, appIni({ root, port, staticDir: join(dist.dir, 'static'), runUser: user.name }));
    if (user.uid !== undefined && user.gid !== undefined) await chown(ini, user.uid, user.gid);
    // Only what Gitea and the git it runs need: none of the test's own secrets or git settings.
    const env = {
      PATH: process.env.PATH,
      HOME: join(root, 'home'),
      USER: user.name,
      TMPDIR: join(root, 'tmp'),
      GITEA_WORK_DIR: root,
      GITEA_CUSTOM: join(root, 'custom'),
    };
    const spawnOpts = { env, cwd: root, uid: user.uid, gid: user.gid };
    const gitea = (...args: string[]) =>
      run(dist.bin, [...args, '--config', ini, '--work-path', root], spawnOpts);
    const server = startService('gitea', dist.bin, ['web', '--config', ini, '--work-path', root], {
      ...spawnOpts,
      logDir: root,
    });
    svc = server;
    try {
      await waitFor(`gitea on ${url}`, () => version(url), { timeoutMs: 90_000, service: server });
    } catch (err) {
      if (err instanceof Error) err.message += `\ngitea log (tail):\n${await logTail(server.logFile)}`;
      throw err;
    }
    const admin = { user: 'gso', password: randomHex(16) };
    await gitea(
      'admin',
      'user',
      'create',
      '--username',
      admin.user,
      '--password',
      admin.password,
      '--email',
      'gso@example.invalid',
      '--admin',
      '--must-change-password=false',
    );
    const token = (
      await gitea(
        'admin',
        'user',
        'generate-access-token',
        '--username',
        admin.user,
        '--token-name',
        'gso-test',
        '--scopes',
        'all',
        '--raw',
      )
    ).stdout.trim();
    return client({ url, ...admin, token, logFile: server.logFile, stop });
  } catch (err) {
    await stop();
    throw err;
  }
}

/** The API helpers around a running Gitea. */
function client(o: {
  url: string;
  user: string;
  password: string;
  token: string;
  logFile: string;
  stop: () => Promise<void>;
}): Gitea {
  const auth: GitAuth = { kind: 'http', user: o.user, password: o.token };
  async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(`${o.url}/api/v1${path}`, {
      method,
      headers: {
        authorization: `token ${o.token}`,
        'content-type': 'application/json',
        accept: 'application/json',
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`gitea ${method} ${path}: ${res.status} ${text.slice(0, 500)}`);
    return (text ? JSON.parse(text) : undefined) as T;
  }
  const repoPath = (r: GiteaRepo) => `/repos/${encodeURIComponent(r.owner)}/${encodeURIComponent(r.name)}`;
  const cloneUrl = (r: GiteaRepo, withToken = false) => {
    const u = new URL(`/${r.owner}/${r.name}.git`, o.url);
    if (withToken) [u.username, u.password] = [o.user, o.token];
    return u.href;
  };
  return {
    url: o.url,
    user: o.user,
    password: o.password,
    token: o.token,
    auth,
    logFile: o.logFile,
    api,
    async createRepo(name) {
      const r = await api<{ name: string; owner: { login: string } }>('POST', '/user/repos', {
        name,
        auto_init: false,
        default_branch: 'main',
        private: true,
      });
      return { owner: r.owner.login, name: r.name, fullName: `${r.owner.login}/${r.name}` };
    },
    cloneUrl,
    async pushFrom(gitDir, repo, branch = 'main') {
      const refspec = `+refs/heads/${branch}:refs/heads/${branch}`;
      await gitClient(['--git-dir', gitDir, 'push', '--quiet', cloneUrl(repo), refspec], auth);
    },
    async addPushWebhook(repo, url, secret) {
      const hook = await api<{ id: number }>('POST', `${repoPath(repo)}/hooks`, {
        type: 'gitea',
        config: { url, content_type: 'json', secret },
        events: ['push'],
        active: true,
      });
      return hook.id;
    },
    async setWebhookActive(repo, id, active) {
      await api('PATCH', `${repoPath(repo)}/hooks/${id}`, { active });
    },
    async setStatus(repo, sha, status) {
      return toStatus(await api<RawStatus>('POST', `${repoPath(repo)}/statuses/${sha}`, status));
    },
    async statuses(repo, sha) {
      const list = await api<RawStatus[]>('GET', `${repoPath(repo)}/statuses/${sha}?sort=oldest&limit=50`);
      return list.map(toStatus);
    },
    async combinedStatus(repo, sha) {
      const c = await api<Omit<CombinedStatus, 'statuses'> & { statuses: RawStatus[] | null }>(
        'GET',
        `${repoPath(repo)}/commits/${sha}/status`,
      );
      return {
        state: c.state,
        sha: c.sha,
        total_count: c.total_count,
        statuses: (c.statuses ?? []).map(toStatus),
      };
    },
    stop: o.stop,
  };
}
