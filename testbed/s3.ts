// S3 server: a MinIO server on 127.0.0.1 with one bucket, an admin, a PutObject-only user (the
// operator's policy) and a GetObject-only user (CI's policy).
// The binaries are Go-built by testbed/build.sh (npm run build:binaries) into a version-keyed cache.
import { randomBytes } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { componentDir, versions } from './binaries.ts';
import { freePort, removeDir, run, type Service, startService, tempDir, waitFor } from './proc.ts';

export interface MinioBinaries {
  minio: string;
  mc: string;
}

/**
 * Paths of the cached minio and mc binaries for the versions pinned in testbed/versions.sh.
 * Throws (never skips) when a build is missing or unfinished.
 */
export function minioBinaries(): MinioBinaries {
  const locate = (name: 'minio' | 'mc'): string => {
    const version = versions()[name];
    const dir = componentDir(name);
    const bin = join(dir, 'bin', name);
    if (!existsSync(join(dir, '.complete')) || !existsSync(bin)) {
      throw new Error(
        `${name} ${version} is not built (${bin} or ${dir}/.complete is missing): ` +
          'run `npm run build:binaries` (or `bash testbed/build.sh minio mc`), ' +
          'or wait for a build that is already running',
      );
    }
    return bin;
  };
  return { minio: locate('minio'), mc: locate('mc') };
}

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
}

export interface S3Fixture {
  /** `http://127.0.0.1:PORT` (use path-style addressing). */
  readonly endpoint: string;
  readonly region: 'us-east-1';
  readonly bucket: string;
  /** The MinIO root user: may do anything. */
  readonly admin: S3Credentials;
  /** May only s3:PutObject into `bucket/*` (the IAM policy the operator is documented to need). */
  readonly putOnly: S3Credentials;
  /**
   * May only s3:GetObject on `bucket/*`, no s3:ListBucket (the policy CI's `wait` is documented to
   * need). MinIO answers it 404 NoSuchKey for a missing key; AWS answers 403 (see aws-like-s3.ts).
   */
  readonly getOnly: S3Credentials;
  /** A path-style client for `endpoint` (default: admin); destroyed by stop(). */
  client(creds?: S3Credentials, config?: Partial<S3ClientConfig>): S3Client;
  /** The object's body as UTF-8, or undefined when there is no such key (handy inside waitFor). */
  getObject(key: string): Promise<string | undefined>;
  putObject(key: string, body: string | Uint8Array): Promise<void>;
  /** All keys under `prefix`, sorted (every page). */
  listKeys(prefix?: string): Promise<string[]>;
  /** Stops MinIO (SIGTERM) but keeps port and data: an outage. */
  stopServer(): Promise<void>;
  /** Starts MinIO again on the same port and data dir and waits until it is ready. */
  startServer(): Promise<void>;
  /**
   * Freezes MinIO (SIGSTOP): connections are accepted (by the kernel) but never answered, like a hung
   * server. Resolves once every thread of MinIO is stopped: kill(2) only queues SIGSTOP, and until
   * the threads have acted on it MinIO may still answer.
   */
  pause(): Promise<void>;
  /** Thaws MinIO (SIGCONT; kill(2) itself makes every stopped thread runnable again). */
  resume(): void;
  /** Stops MinIO, destroys clients, removes the temp dir. */
  stop(): Promise<void>;
}

export interface StartS3Options {
  /** Default `gso-status`. */
  bucket?: string;
}

const randomHex = (bytes: number) => randomBytes(bytes).toString('hex');

/** The one statement a restricted user gets: `action` on every key of the bucket. */
function objectPolicy(bucket: string, action: 's3:PutObject' | 's3:GetObject'): string {
  const statement = { Effect: 'Allow', Action: [action], Resource: [`arn:aws:s3:::${bucket}/*`] };
  return `${JSON.stringify({ Version: '2012-10-17', Statement: [statement] }, null, 2)}\n`;
}

async function ready(endpoint: string): Promise<true | undefined> {
  const res = await fetch(`${endpoint}/minio/health/ready`, { signal: AbortSignal.timeout(2000) });
  await res.body?.cancel();
  return res.ok ? true : undefined;
}

/** Last lines of a log file, for error messages (the file itself goes away with the temp dir). */
async function logTail(file: string, lines = 30): Promise<string> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text.split('\n').slice(-lines).join('\n');
}

/** Starts MinIO with a bucket, an admin, a put-only and a get-only user. Throws if anything is missing. */
export async function startS3(opts: StartS3Options = {}): Promise<S3Fixture> {
  const bins = minioBinaries();
  const bucket = opts.bucket ?? 'gso-status';
  const root = await tempDir('s3');
  const dataDir = join(root, 'data');
  const [port, consolePort] = [await freePort(), await freePort()];
  const endpoint = `http://127.0.0.1:${port}`;
  const region = 'us-east-1' as const;
  const admin: S3Credentials = { accessKeyId: `admin-${randomHex(4)}`, secretAccessKey: randomHex(16) };
  const putOnly: S3Credentials = { accessKeyId: `putonly-${randomHex(4)}`, secretAccessKey: randomHex(16) };
  const getOnly: S3Credentials = { accessKeyId: `getonly-${randomHex(4)}`, secretAccessKey: randomHex(16) };
  const clients = new Set<S3Client>();
  let minio: Service | undefined;
  /** Set once the put-only user exists: restarts then wait for IAM to load it. */
  let usersCreated = false;

  // A test process that dies without stop() must not leave MinIO running (sync: 'exit' runs no I/O).
  const onExit = () => {
    minio?.child.kill('SIGKILL');
    rmSync(root, { recursive: true, force: true });
  };
  process.once('exit', onExit);

  async function startServer(): Promise<void> {
    if (minio && minio.child.exitCode === null && minio.child.signalCode === null) return;
    const env = {
      ...process.env,
      MINIO_ROOT_USER: admin.accessKeyId,
      MINIO_ROOT_PASSWORD: admin.secretAccessKey,
    };
    const args = [
      'server',
      dataDir,
      '--address',
      `127.0.0.1:${port}`,
      '--console-address',
      `127.0.0.1:${consolePort}`,
    ];
    const svc = startService('minio', bins.minio, [...args, '--certs-dir', join(root, 'certs')], {
      logDir: root,
      env,
    });
    minio = svc;
    try {
      await waitFor(`minio on ${endpoint}`, () => ready(endpoint), { timeoutMs: 60_000, service: svc });
      // After a restart /minio/health/ready answers before IAM has loaded its users: until then
      // the put-only user gets XMinioIAMNotInitialized. Wait until that user can write again.
      if (usersCreated) {
        const probe = client(putOnly, { maxAttempts: 1 });
        await waitFor(
          'minio IAM loaded',
          async () => {
            await probe.send(new PutObjectCommand({ Bucket: bucket, Key: '.gso-iam-probe', Body: '' }));
            return true;
          },
          { timeoutMs: 60_000, service: svc },
        );
      }
    } catch (err) {
      if (err instanceof Error) err.message += `\nminio log (tail):\n${await logTail(svc.logFile)}`;
      throw err;
    }
  }

  async function stopServer(): Promise<void> {
    minio?.child.kill('SIGCONT'); // a paused process would not act on SIGTERM
    await minio?.stop();
  }

  function client(creds: S3Credentials = admin, config: Partial<S3ClientConfig> = {}): S3Client {
    const c = new S3Client({ endpoint, region, forcePathStyle: true, credentials: creds, ...config });
    clients.add(c);
    return c;
  }

  async function stop(): Promise<void> {
    for (const c of clients) c.destroy();
    clients.clear();
    await stopServer();
    await removeDir(root);
    process.off('exit', onExit);
  }

  try {
    await mkdir(dataDir, { recursive: true });
    await startServer();
    await client().send(new CreateBucketCommand({ Bucket: bucket }));
    await createUsers({ mc: bins.mc, root, endpoint, admin, putOnly, getOnly, bucket });
    usersCreated = true;
  } catch (err) {
    await stop();
    throw err;
  }

  const adminClient = client();
  return {
    endpoint,
    region,
    bucket,
    admin,
    putOnly,
    getOnly,
    client,
    async getObject(key) {
      try {
        const res = await adminClient.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        return await res.Body?.transformToString('utf8');
      } catch (err) {
        if (err instanceof Error && err.name === 'NoSuchKey') return undefined;
        throw err;
      }
    },
    async putObject(key, body) {
      await adminClient.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
    },
    async listKeys(prefix = '') {
      const keys: string[] = [];
      let token: string | undefined;
      do {
        const page = await adminClient.send(
          new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
        );
        for (const o of page.Contents ?? []) if (o.Key) keys.push(o.Key);
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
      return keys.sort();
    },
    stopServer,
    startServer,
    async pause() {
      const child = minio?.child;
      if (!child?.pid || child.exitCode !== null || child.signalCode !== null) return;
      const pid = child.pid;
      child.kill('SIGSTOP');
      await waitFor('minio stopped by SIGSTOP', async () => ((await allStopped(pid)) ? true : undefined), {
        timeoutMs: 10_000,
        intervalMs: 1,
      });
    },
    resume() {
      minio?.child.kill('SIGCONT');
    },
    stop,
  };
}

/**
 * True when every thread of `pid` is in the stopped state ('T' in /proc/PID/task/TID/stat).
 *
 * SIGSTOP is asynchronous: kill(2) queues it and wakes one thread; that thread stops the others
 * only once it is scheduled, and meanwhile the rest keep running — accept, read, answer. On a busy
 * machine that window lasts milliseconds, long enough for a request sent right after kill() to be
 * answered. Only when all threads are stopped can nothing more be answered.
 */
async function allStopped(pid: number): Promise<boolean> {
  const tasks = await readdir(`/proc/${pid}/task`);
  const states = await Promise.all(
    tasks.map(async (tid) => {
      // "TID (comm) S …": comm may hold spaces and parentheses, the state follows the last ')'.
      const stat = await readFile(`/proc/${pid}/task/${tid}/stat`, 'utf8').catch(() => '');
      return stat ? stat[stat.lastIndexOf(')') + 2] : 'gone'; // a thread that exited meanwhile
    }),
  );
  return states.some((s) => s === 'T') && states.every((s) => s === 'T' || s === 'gone' || s === 'Z');
}

/** MinIO's admin API encrypts its payloads, so users and policies go through `mc`. */
async function createUsers(o: {
  mc: string;
  root: string;
  endpoint: string;
  admin: S3Credentials;
  putOnly: S3Credentials;
  getOnly: S3Credentials;
  bucket: string;
}): Promise<void> {
  const env = { ...process.env, MC_CONFIG_DIR: join(o.root, 'mc') };
  const mc = (...args: string[]) => run(o.mc, ['--no-color', ...args], { env });
  await mc('alias', 'set', 'gso', o.endpoint, o.admin.accessKeyId, o.admin.secretAccessKey);
  const users = [
    { name: 'gso-put-only', creds: o.putOnly, action: 's3:PutObject' },
    { name: 'gso-get-only', creds: o.getOnly, action: 's3:GetObject' },
  ] as const;
  for (const u of users) {
    const policyFile = join(o.root, `${u.name}-policy.json`);
    await writeFile(policyFile, objectPolicy(o.bucket, u.action));
    await mc('admin', 'user', 'add', 'gso', u.creds.accessKeyId, u.creds.secretAccessKey);
    await mc('admin', 'policy', 'create', 'gso', u.name, policyFile);
    await mc('admin', 'policy', 'attach', 'gso', u.name, '--user', u.creds.accessKeyId);
  }
}
