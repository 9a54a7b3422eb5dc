// The config repo: cheap ls-remote for the idle loop, one shallow fetch per moved head, and
// read access to the fetched tree without a work tree (git objects only; nothing from git ever
// reaches a shell: every git call is an argument array). A fetch brings the commit's trees, then
// the files of the caller's folders in one batch, not every cluster's (partial.ts).
import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { type Env, hostEnv } from '../config.ts';
import type { Logger } from '../log.ts';
import { limits } from '../manifests/limits.ts';
import { isoSeconds } from '../time.ts';
import { GitExit, runGitOutput } from './exec.ts';
import {
  covered,
  filterIgnored,
  filterIgnoredMessage,
  missingOids,
  treesOnly,
  wantRefused,
  wantRefusedMessage,
} from './partial.ts';
import { displayUrl, redact } from './redact.ts';

/** At most this much of a commit's files is read ahead with its listing (the rest when asked for). */
const preloadBytes = 64 * 1024 * 1024;

export class SourceError extends Error {
  constructor(
    message: string,
    readonly reason: 'Unreachable' | 'AuthFailed' | 'BranchNotFound' | 'GitError',
  ) {
    super(message);
    this.name = 'SourceError';
  }
}

export interface SourceOptions {
  url: string;
  branch: string | undefined;
  /** Bare repository used as the local cache. */
  cacheDir: string;
  sshKeyFile?: string | undefined;
  sshKnownHostsFile?: string | undefined;
  timeoutMs?: number;
  /** PATH and HOME for git and ssh are taken from here (default: the process's, see hostEnv). */
  env?: Env;
  /**
   * The folders whose files this caller reads: their blobs come with each fetched commit, in one
   * batch. Another folder's come (in one batch too) when it is first listed.
   */
  folders?: readonly string[] | undefined;
  /** Where the one-time notice about a server without filters goes. */
  log?: Pick<Logger, 'warn'> | undefined;
}

export interface Head {
  sha: string;
  branch: string;
}

export interface TreeEntry {
  mode: string;
  type: 'blob' | 'tree' | 'commit';
  oid: string;
  size: number;
  path: string;
}

export interface Commit {
  sha: string;
  author: string;
  /** The subject line. */
  message: string;
  /** Committer time (UTC, seconds). */
  committedAt?: string;
  /** When this operator first saw it as the head. */
  seenAt?: string;
}

export class GitSource {
  private ready: Promise<void> | undefined;
  /** Bytes git reported moving, for the idle-cost benchmark and metrics. */
  lsRemoteCount = 0;
  fetchCount = 0;
  /** Batched fetches of a folder's files (at most one per fetched commit for the caller's folders). */
  blobFetchCount = 0;
  /** The server will not send files by id: every commit is fetched whole. */
  private wholeTree = false;
  private readonly noticed = new Set<string>();
  /** The caller's folders listed at one commit, shared by every namespace's read of it. */
  private listing: { sha: string; entries: Promise<Map<string, TreeEntry[]>> } | undefined;
  /** Files of the listed folders read with the listing, until each is asked for once. */
  private readonly preloaded = new Map<string, { blob: Buffer; uses: number }>();
  /** Blobs asked for in this turn of the event loop, read together. */
  private batch: { wanted: Set<string>; read: Promise<Map<string, Buffer>> } | undefined;

  constructor(private readonly opts: SourceOptions) {}

  /** The branch head on the remote: one `git ls-remote`, the only cost of an idle interval. */
  async head(): Promise<Head> {
    this.lsRemoteCount++;
    const branch = this.opts.branch;
    const args = ['ls-remote', '--symref', '--', this.remote(), branch ? `refs/heads/${branch}` : 'HEAD'];
    const out = await this.git(args, { cwd: await this.cache() });
    if (branch) {
      const line = out.split('\n').find((l) => l.endsWith(`\trefs/heads/${branch}`));
      if (!line)
        throw new SourceError(
          `branch "${branch}" not found in ${displayUrl(this.opts.url)}`,
          'BranchNotFound',
        );
      return { sha: line.slice(0, line.indexOf('\t')), branch };
    }
    const sym = /^ref: refs\/heads\/(\S+)\tHEAD$/m.exec(out);
    const sha = /^([0-9a-f]{40,64})\tHEAD$/m.exec(out);
    if (!sym?.[1] || !sha?.[1]) {
      throw new SourceError(
        `${displayUrl(this.opts.url)} has no default branch (empty repository?)`,
        'BranchNotFound',
      );
    }
    return { sha: sha[1], branch: sym[1] };
  }

  /** One shallow fetch of the branch; returns the sha actually fetched (the head may have moved). */
  async fetch(head: Head): Promise<string> {
    this.fetchCount++;
    const ref = `refs/remotes/origin/${head.branch}`;
    // '+' follows force-pushes; --depth=1 keeps the cache small whatever the history.
    const spec = `+refs/heads/${head.branch}:${ref}`;
    await this.fetchTrees(spec);
    await this.fetchFolders(await this.resolve(ref), spec, this.opts.folders ?? []);
    // Read again: a whole-tree refetch (fetchFolders' fallback) may have brought a newer head.
    return this.resolve(ref);
  }

  /**
   * One shallow fetch of a commit by its full id, any commit the remote has (`diff --sha`; git's
   * protocol v2 serves any reachable commit). Returns the sha fetched.
   */
  async fetchCommit(sha: string): Promise<string> {
    if (!/^[0-9a-f]{40}([0-9a-f]{24})?$/.test(sha))
      throw new SourceError(`"${sha}" is not a full commit id (40 hex digits)`, 'GitError');
    this.fetchCount++;
    await this.fetchTrees(sha);
    const full = await this.resolve(sha);
    await this.fetchFolders(full, sha, this.opts.folders ?? []);
    return full;
  }

  /** The commit and its trees (all of it when the server ignores the filter). */
  private async fetchTrees(spec: string, refetch = false): Promise<void> {
    const args = ['fetch', '--quiet', '--no-tags', '--depth=1', this.wholeTree ? '--no-filter' : treesOnly];
    if (refetch) args.push('--refetch');
    const { stderr } = await this.run([...args, '--', this.remote(), spec], { cwd: await this.cache() });
    // The whole tree came: correct, only dearer. Filtered again next time, in case the server changed.
    if (!this.wholeTree && filterIgnored(stderr)) this.notice(filterIgnoredMessage);
  }

  /**
   * The files under `folders` at `sha` that the cache lacks, in one fetch (what git's lazy fetch
   * would do one blob per round-trip when a blob is first read). `spec` is fetched again whole if
   * the server refuses to send files by id.
   */
  private async fetchFolders(sha: string, spec: string, folders: readonly string[]): Promise<void> {
    if (folders.length === 0 || this.wholeTree) return;
    const cwd = await this.cache();
    // --missing=print lists without fetching; the pathspecs limit the walk to the folders.
    const listed = await this.git(
      ['rev-list', '--objects', '--missing=print', '--no-object-names', `${sha}^{tree}`, '--'].concat(
        folders.map((f) => `${f}/`),
      ),
      { cwd },
    );
    const missing = missingOids(listed);
    if (missing.length === 0) return;
    this.blobFetchCount++;
    try {
      // As git's own promisor fetch: ids on stdin, no negotiation (the server sends just these).
      await this.git(
        [
          '-c',
          'fetch.negotiationAlgorithm=noop',
          'fetch',
          '--quiet',
          '--no-tags',
          '--no-write-fetch-head',
        ].concat(['--recurse-submodules=no', treesOnly, '--stdin', this.remote()]),
        { cwd, input: `${missing.join('\n')}\n` },
      );
    } catch (err) {
      if (!(err instanceof SourceError && wantRefused(err.message))) throw err;
      this.wholeTree = true;
      this.notice(wantRefusedMessage);
      await this.fetchTrees(spec, true);
    }
  }

  private async resolve(rev: string): Promise<string> {
    return (await this.git(['rev-parse', '--verify', `${rev}^{commit}`], { cwd: await this.cache() })).trim();
  }

  /** Logs `message` once per source (it repeats with every fetch otherwise). */
  private notice(message: string): void {
    if (this.noticed.has(message)) return;
    this.noticed.add(message);
    this.opts.log?.warn(message);
  }

  async commit(sha: string): Promise<Commit> {
    const out = await this.git(['log', '-1', '--format=%H%n%an <%ae>%n%ct%n%s', sha, '--'], {
      cwd: await this.cache(),
    });
    const [full = sha, author = '', ct = '', message = ''] = out.split('\n');
    const committedAt = Number(ct) > 0 ? isoSeconds(new Date(Number(ct) * 1000)) : undefined;
    return { sha: full, author, message, ...(committedAt ? { committedAt } : {}) };
  }

  /**
   * Entries under a folder at a commit, recursively, with sizes (no blob is read). The caller's
   * folders are listed together, one `ls-tree` per commit for all of them (a thousand namespaces:
   * one git process, not a thousand).
   */
  async list(sha: string, folder: string): Promise<TreeEntry[]> {
    const folders = this.opts.folders ?? [];
    if (folders.includes(folder)) {
      if (this.listing?.sha !== sha) {
        const entries = this.listTree(sha, folders).then(async (all) => {
          await this.preload(all);
          return byFolder(all, folders);
        });
        this.listing = { sha, entries };
        entries.catch(() => {
          if (this.listing?.entries === entries) this.listing = undefined; // tried again next time
        });
      }
      return (await this.listing.entries).get(folder) ?? [];
    }
    // Before ls-tree -l, which would fetch each missing blob on its own to learn its size.
    if (!covered(folders, folder)) await this.fetchFolders(sha, sha, [folder]);
    return this.listTree(sha, [folder]);
  }

  private async listTree(sha: string, folders: readonly string[]): Promise<TreeEntry[]> {
    const out = await this.git(
      ['ls-tree', '-r', '-l', '-z', '--full-tree', sha, '--', ...folders.map((f) => `${f}/`)],
      { cwd: await this.cache() },
    );
    return out.split('\0').filter(Boolean).map(treeEntry);
  }

  /**
   * The files of every listed folder at a commit, read in one `git cat-file --batch` (a thousand
   * namespaces: one git process, not a thousand; forking a process of a few hundred MiB costs
   * milliseconds each). Each is handed out once and forgotten; files too big for a manifest, or
   * past `preloadBytes` in all, are left to be read when asked for.
   */
  private async preload(entries: readonly TreeEntry[]): Promise<void> {
    this.preloaded.clear();
    // Files with the same content in several folders are one blob: it is kept until each has read it.
    const uses = new Map<string, number>();
    let bytes = 0;
    for (const e of entries) {
      // What a folder's read takes: manifests and symlinks (a README is never read).
      const wanted = e.mode === '120000' || /\.(ya?ml|json)$/i.test(e.path);
      if (e.type !== 'blob' || !wanted || e.size > limits.fileBytes) continue;
      const n = uses.get(e.oid) ?? 0;
      if (n === 0 && bytes + e.size > preloadBytes) continue;
      if (n === 0) bytes += e.size;
      uses.set(e.oid, n + 1);
    }
    if (uses.size === 0) return;
    for (const [oid, blob] of await this.catFile([...uses.keys()]))
      this.preloaded.set(oid, { blob, uses: uses.get(oid) ?? 1 });
  }

  /**
   * Reads blobs: those preloaded with their folder's listing, and the rest in one
   * `git cat-file --batch` per turn of the event loop (callers side by side share it).
   */
  async readBlobs(oids: readonly string[]): Promise<Map<string, Buffer>> {
    const result = new Map<string, Buffer>();
    const rest: string[] = [];
    for (const oid of oids) {
      const p = this.preloaded.get(oid);
      if (!p) {
        rest.push(oid);
        continue;
      }
      result.set(oid, p.blob);
      if (--p.uses <= 0) this.preloaded.delete(oid);
    }
    if (rest.length === 0) return result;
    for (const [oid, blob] of await this.readBatched(rest)) result.set(oid, blob);
    return result;
  }

  private async readBatched(oids: readonly string[]): Promise<Map<string, Buffer>> {
    let batch = this.batch;
    if (!batch) {
      const wanted = new Set<string>();
      const read = new Promise<void>((r) => setImmediate(r)).then(() => {
        this.batch = undefined;
        return this.catFile([...wanted]);
      });
      batch = { wanted, read };
      this.batch = batch;
    }
    for (const o of oids) batch.wanted.add(o);
    const all = await batch.read;
    const result = new Map<string, Buffer>();
    for (const oid of oids) {
      const blob = all.get(oid);
      if (!blob) throw new SourceError(`git object ${oid} is missing`, 'GitError');
      result.set(oid, blob);
    }
    return result;
  }

  /** One `git cat-file --batch` for `oids`; a missing object is left out of the map. */
  private async catFile(oids: readonly string[]): Promise<Map<string, Buffer>> {
    const out = await this.gitRaw(['cat-file', '--batch'], {
      cwd: await this.cache(),
      input: `${oids.join('\n')}\n`,
    });
    const result = new Map<string, Buffer>();
    let pos = 0;
    while (pos < out.length) {
      const nl = out.indexOf(10, pos);
      const [oid = '', type = '', size = ''] = out.subarray(pos, nl).toString().split(' ');
      if (type === 'missing') {
        pos = nl + 1;
        continue;
      }
      const n = Number(size);
      result.set(oid, out.subarray(nl + 1, nl + 1 + n));
      pos = nl + 1 + n + 1;
    }
    return result;
  }

  /** The remote's name; its URL is in git's environment (env()), neither in argv nor on disk. */
  private remote(): string {
    return 'origin';
  }

  private async cache(): Promise<string> {
    this.ready ??= (async () => {
      await mkdir(this.opts.cacheDir, { recursive: true });
      const exists = await stat(join(this.opts.cacheDir, 'HEAD')).then(
        () => true,
        () => false,
      );
      if (!exists)
        await this.git(['init', '--quiet', '--bare', this.opts.cacheDir], { cwd: this.opts.cacheDir });
    })();
    try {
      await this.ready;
    } catch (err) {
      this.ready = undefined;
      throw err;
    }
    return this.opts.cacheDir;
  }

  private async git(args: string[], opts: { cwd: string; input?: string }): Promise<string> {
    return (await this.gitRaw(args, opts)).toString('utf8');
  }

  private async gitRaw(args: string[], opts: { cwd: string; input?: string }): Promise<Buffer> {
    return (await this.run(args, opts)).stdout;
  }

  /** git's stdout and, of a successful run, its stderr (warnings); a failure is a SourceError. */
  private async run(
    args: string[],
    opts: { cwd: string; input?: string },
  ): Promise<{ stdout: Buffer; stderr: string }> {
    const timeoutMs = this.opts.timeoutMs ?? 120_000;
    try {
      return await runGitOutput(args, { ...opts, env: this.env(), timeoutMs });
    } catch (err) {
      if (!(err instanceof GitExit)) throw err;
      if (err.notFound) throw new SourceError(`cannot run git: ${err.stderr} (install git)`, 'GitError');
      const why = err.timedOut ? `timed out after ${timeoutMs / 1000} s` : oneLine(err.stderr);
      const verb = args[0] === '-c' ? args[2] : args[0];
      throw classify(`git ${verb} ${displayUrl(this.opts.url)}: ${redact(why ?? 'failed')}`);
    }
  }

  /** git's environment: no prompts, no user config, ssh with our key and strict host checking. */
  private env(): NodeJS.ProcessEnv {
    const host = this.opts.env ?? hostEnv();
    const env: NodeJS.ProcessEnv = {
      PATH: host.PATH,
      HOME: host.HOME,
      GIT_TERMINAL_PROMPT: '0',
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_CONFIG_GLOBAL: '/dev/null',
      GIT_ASKPASS: 'true',
      SSH_ASKPASS: 'true',
      LC_ALL: 'C',
      // The remote 'origin' (also for git's own promisor fetches): its URL may hold a token.
      GIT_CONFIG_COUNT: '1',
      GIT_CONFIG_KEY_0: 'remote.origin.url',
      GIT_CONFIG_VALUE_0: this.opts.url,
    };
    const ssh = ['ssh', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=yes'];
    // Paths come from validated configuration (plain characters only), never from git or the API.
    if (this.opts.sshKeyFile) ssh.push('-o', 'IdentitiesOnly=yes', '-i', this.opts.sshKeyFile);
    if (this.opts.sshKnownHostsFile) ssh.push('-o', `UserKnownHostsFile=${this.opts.sshKnownHostsFile}`);
    env.GIT_SSH_COMMAND = ssh.join(' ');
    return env;
  }
}

function classify(message: string): SourceError {
  if (
    // "returned error: 401", not any 401: the URL's port (127.0.0.1:40135) may contain one.
    /Authentication failed|Permission denied|could not read Username|returned error: 40[13]\b|Host key verification failed/i.test(
      message,
    )
  ) {
    return new SourceError(message, 'AuthFailed');
  }
  if (/couldn't find remote ref|not found|does not appear to be a git repository/i.test(message)) {
    return new SourceError(message, 'BranchNotFound');
  }
  if (
    /Could not resolve|Connection refused|Failed to connect|Couldn't connect|timed out|unable to access|Could not read from remote/i.test(
      message,
    )
  ) {
    return new SourceError(message, 'Unreachable');
  }
  return new SourceError(message, 'GitError');
}

/** git's stderr as one line: its messages (fatal:, error:, ssh's) joined, boilerplate dropped. */
function oneLine(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter(
      (l) =>
        l && !/^Please make sure you have the correct access rights|^and the repository exists\.$/.test(l),
    );
  return lines.join(' ').slice(0, 500) || 'failed';
}

function treeEntry(rec: string): TreeEntry {
  const tab = rec.indexOf('\t');
  const [mode = '', type = '', oid = '', size = ''] = rec.slice(0, tab).split(/ +/);
  return { mode, type: type as TreeEntry['type'], oid, size: Number(size) || 0, path: rec.slice(tab + 1) };
}

/** Entries grouped by the folder (of `folders`) each lies under, the nearest one. */
function byFolder(entries: readonly TreeEntry[], folders: readonly string[]): Map<string, TreeEntry[]> {
  const known = new Set(folders);
  const out = new Map<string, TreeEntry[]>();
  for (const e of entries) {
    let dir = e.path;
    for (let cut = dir.lastIndexOf('/'); cut > 0; cut = dir.lastIndexOf('/')) {
      dir = dir.slice(0, cut);
      if (!known.has(dir)) continue;
      const list = out.get(dir);
      if (list) list.push(e);
      else out.set(dir, [e]);
      break;
    }
  }
  return out;
}
