// A whole world for engine tests: real control plane, real git repo, real S3, and operators
// configured against them (in-process, or as a real CLI process).
import { Writable } from 'node:stream';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';
import { Operator, type OperatorOptions } from '../../src/operator.ts';
import type { Version } from '../../src/version/types.ts';
import { type ControlPlane, startControlPlane } from '../cluster/controlplane.ts';
import { type ConfigRepo, createConfigRepo } from '../fixtures/git.ts';
import { type S3Fixture, startS3 } from '../fixtures/s3.ts';
import { operatorEnv } from './env.ts';
import { removeDir, run, tempDir, waitFor } from './proc.ts';

export interface World {
  cp: ControlPlane;
  s3: S3Fixture;
  repo: ConfigRepo;
  cluster: string;
  namespaces: string[];
  /** Environment for an operator process (putOnly S3 keys, as the seed's IAM policy). */
  env(extra?: Record<string, string>): Record<string, string>;
  /** An in-process operator; its log lines are collected in `logs`. */
  operator(extra?: Record<string, string>, opts?: OperatorOptions): Operator;
  logs: string[];
  version(ns: string): Promise<Version | undefined>;
  kubectl(...args: string[]): Promise<string>;
  /** Runs the real CLI (`bin/git-sync-operator.js`) to completion. */
  cli(
    args: string[],
    extra?: Record<string, string>,
  ): Promise<{ code: number; stdout: string; stderr: string }>;
  stop(): Promise<void>;
}

export async function startWorld(opts: {
  cluster?: string;
  namespaces: string[];
  files: Record<string, string>;
}): Promise<World> {
  const cluster = opts.cluster ?? 'iowa-a';
  const [cp, s3, repo] = await Promise.all([
    startControlPlane(),
    startS3({ bucket: 'deploys' }),
    createConfigRepo(opts.files),
  ]);
  for (const ns of opts.namespaces) await cp.createNamespace(ns);
  const workDirs: string[] = [];
  const logs: string[] = [];
  const operators: Operator[] = [];

  const env = (extra: Record<string, string> = {}): Record<string, string> => ({
    ...operatorEnv({ repo, s3, cp, cluster, namespaces: opts.namespaces }),
    ROLLOUT_TIMEOUT: '60',
    ...extra,
  });

  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      logs.push(...chunk.toString().split('\n').filter(Boolean));
      cb();
    },
  });

  return {
    cp,
    s3,
    repo,
    cluster,
    namespaces: opts.namespaces,
    env,
    logs,
    operator(extra = {}, oopts = {}) {
      const e = env(extra);
      const workDir = `${cp.dir}/op-${operators.length}`;
      workDirs.push(workDir);
      const op = new Operator(loadConfig({ ...e, GSO_WORK_DIR: workDir }), createLogger('debug', sink), {
        kubeconfig: cp.kubeconfig,
        env: e,
        ...oopts,
      });
      operators.push(op);
      return op;
    },
    async version(ns) {
      const res = await cp.request('GET', `/apis/versions.mozilla.org/v1/namespaces/${ns}/versions/${ns}`);
      return res.status === 200 ? (res.body as Version) : undefined;
    },
    async kubectl(...args) {
      return (await run('kubectl', ['--kubeconfig', cp.kubeconfig, ...args])).stdout;
    },
    async cli(args, extra = {}) {
      const dir = await tempDir('opwork');
      workDirs.push(dir);
      const e = { ...process.env, ...env(extra), GSO_WORK_DIR: dir };
      try {
        const { stdout, stderr } = await run(process.execPath, ['bin/git-sync-operator.js', ...args], {
          env: e,
        });
        return { code: 0, stdout, stderr };
      } catch (err) {
        const x = err as { code: number; stdout: string; stderr: string };
        return { code: x.code, stdout: x.stdout, stderr: x.stderr };
      }
    },
    async stop() {
      for (const op of operators) op.close();
      await Promise.allSettled([cp.stop(), s3.stop(), repo.stop()]);
      for (const d of workDirs) await removeDir(d);
    },
  };
}

/** Waits until the namespace's Version satisfies `ok`. */
export function waitVersion(
  w: World,
  ns: string,
  what: string,
  ok: (v: Version) => boolean,
  timeoutMs = 60_000,
): Promise<Version> {
  return waitFor(
    what,
    async () => {
      const v = await w.version(ns);
      return v && ok(v) ? v : undefined;
    },
    { timeoutMs, intervalMs: 100 },
  );
}

/** Names of the objects of `kind` in `ns` (admin view), sorted. */
export async function names(w: World, ns: string, kind: string): Promise<string[]> {
  return (await w.kubectl('-n', ns, 'get', kind, '-o', 'jsonpath={.items[*].metadata.name}'))
    .split(' ')
    .filter(Boolean)
    .sort();
}

/** Runs an in-process operator loop for the duration of `fn`, then stops and closes it. */
export async function withOperator<T>(
  w: World,
  extra: Record<string, string>,
  fn: (op: Operator) => Promise<T>,
): Promise<T> {
  const op = w.operator(extra);
  const stop = new AbortController();
  const loop = op.run(stop.signal);
  try {
    return await fn(op);
  } finally {
    stop.abort();
    await loop;
    op.close();
  }
}
