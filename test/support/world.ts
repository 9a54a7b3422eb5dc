// A whole world for engine tests: real control plane, real git repo, real S3, and operators
// configured against them (in-process, or as a real CLI process); and what tests ask of it.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../src/config.ts';
import { clusterRole, roleBinding, serviceAccount } from '../../src/install/rbac.ts';
import { createLogger } from '../../src/log.ts';
import { Operator, type OperatorOptions } from '../../src/operator.ts';
import type { Version } from '../../src/version/types.ts';
import { type ControlPlane, startControlPlane } from '../../testbed/controlplane.ts';
import { operatorEnv } from '../../testbed/env.ts';
import { type ConfigRepo, createConfigRepo } from '../../testbed/git.ts';
import { exec, removeDir, run, tempDir, waitFor } from '../../testbed/proc.ts';
import { type S3Fixture, startS3 } from '../../testbed/s3.ts';

/** The repository's root; `bin/git-sync-operator.js` is the real CLI. */
export const root = fileURLToPath(new URL('../../', import.meta.url));
export const cliPath = join(root, 'bin', 'git-sync-operator.js');

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
  /** Waits until the namespace's Version satisfies `ok` (a failing read is retried). */
  waitVersion(ns: string, what: string, ok: (v: Version) => boolean, timeoutMs?: number): Promise<Version>;
  kubectl(...args: string[]): Promise<string>;
  /** Names of the objects of `kind` in `ns` (admin view), sorted. */
  names(ns: string, kind: string): Promise<string[]>;
  /** Runs an in-process operator loop for the duration of `fn`, then stops and closes it. */
  withOperator<T>(extra: Record<string, string>, fn: (op: Operator) => Promise<T>): Promise<T>;
  /**
   * Runs the real CLI (`bin/git-sync-operator.js`) to completion; with `timeoutMs`, a run still
   * going then is SIGKILLed and its code is null.
   */
  cli(
    args: string[],
    extra?: Record<string, string>,
    timeoutMs?: number,
  ): Promise<{ code: number | null; stdout: string; stderr: string }>;
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
  const kubectl = async (...args: string[]): Promise<string> =>
    (await run('kubectl', ['--kubeconfig', cp.kubeconfig, ...args])).stdout;
  const operator = (extra: Record<string, string> = {}, oopts: OperatorOptions = {}): Operator => {
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
  };
  const version = async (ns: string): Promise<Version | undefined> => {
    const res = await cp.request('GET', `/apis/versions.mozilla.org/v1/namespaces/${ns}/versions/${ns}`);
    return res.status === 200 ? (res.body as Version) : undefined;
  };

  return {
    cp,
    s3,
    repo,
    cluster,
    namespaces: opts.namespaces,
    env,
    logs,
    operator,
    version,
    waitVersion(ns, what, ok, timeoutMs = 90_000) {
      return waitFor(
        what,
        async () => {
          const v = await version(ns);
          return v && ok(v) ? v : undefined;
        },
        { timeoutMs, intervalMs: 100 },
      );
    },
    kubectl,
    async names(ns, kind) {
      return (await kubectl('-n', ns, 'get', kind, '-o', 'jsonpath={.items[*].metadata.name}'))
        .split(' ')
        .filter(Boolean)
        .sort();
    },
    async withOperator(extra, fn) {
      const op = operator(extra);
      const stop = new AbortController();
      const loop = op.run(stop.signal);
      try {
        return await fn(op);
      } finally {
        stop.abort();
        await loop;
        op.close();
      }
    },
    async cli(args, extra = {}, timeoutMs) {
      const dir = await tempDir('opwork');
      workDirs.push(dir);
      const e = { ...process.env, ...env(extra), GSO_WORK_DIR: dir };
      return exec(process.execPath, [cliPath, ...args], { env: e, cwd: root, timeoutMs });
    },
    async stop() {
      for (const op of operators) op.close();
      await Promise.allSettled([cp.stop(), s3.stop(), repo.stop()]);
      for (const d of workDirs) await removeDir(d);
    },
  };
}

export const condition = (v: Version | undefined, type: string) =>
  v?.status?.conditions?.find((c) => c.type === type);

/** name → resourceVersion of every object of these kinds in `ns`: equal snapshots = nothing written. */
export async function snapshot(w: World, ns: string, kinds: string): Promise<Record<string, string>> {
  const list = JSON.parse(await w.kubectl('-n', ns, 'get', kinds, '-o', 'json')) as {
    items: { kind: string; metadata: { name: string; resourceVersion: string } }[];
  };
  return Object.fromEntries(
    list.items.map((o) => [`${o.kind}/${o.metadata.name}`, o.metadata.resourceVersion]),
  );
}

/** The S3 admin key as environment: a key that may read, as CI's. */
export function adminKey(w: World): Record<string, string> {
  return { AWS_ACCESS_KEY_ID: w.s3.admin.accessKeyId, AWS_SECRET_ACCESS_KEY: w.s3.admin.secretAccessKey };
}

/** The real `git-sync-operator wait` for one (namespace, deployment, sha), with the admin key. */
export function runWait(
  w: World,
  o: { namespace: string; deployment: string; sha: string },
  more: string[] = [],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const target = ['--namespace', o.namespace, '--deployment', o.deployment, '--sha', o.sha];
  return w.cli(['wait', '--bucket', w.s3.bucket, '--cluster', w.cluster, ...target, ...more], adminKey(w));
}

/** Hand edits with kubectl (operation Update): the Deployment bedrock scaled, its ConfigMap patched. */
export async function editByHand(
  w: World,
  ns: string,
  o: { replicas: number; debug: string },
): Promise<void> {
  await w.kubectl('-n', ns, 'scale', 'deployment', 'bedrock', `--replicas=${o.replicas}`);
  const patch = JSON.stringify({ data: { DEBUG: o.debug } });
  await w.kubectl('-n', ns, 'patch', 'configmap', 'bedrock-config', '--type=merge', '-p', patch);
}

/**
 * The generated least-privilege RBAC (the ClusterRole, ServiceAccount `sa` in `saNs`, a RoleBinding
 * in each of `namespaces`); returns whom to impersonate to act as that ServiceAccount.
 */
export async function grantOperator(
  w: World,
  sa: string,
  saNs: string,
  namespaces: string[],
): Promise<{ user: string; groups: string[] }> {
  const rbac = '/apis/rbac.authorization.k8s.io/v1';
  const objects: [string, unknown][] = [
    [`${rbac}/clusterroles`, clusterRole()],
    [`/api/v1/namespaces/${saNs}/serviceaccounts`, serviceAccount(sa, saNs)],
    ...namespaces.map((ns): [string, unknown] => [
      `${rbac}/namespaces/${ns}/rolebindings`,
      roleBinding(ns, sa, saNs),
    ]),
  ];
  for (const [path, body] of objects) {
    const res = await w.cp.request('POST', path, body);
    assert.ok(res.status === 201 || res.status === 409, JSON.stringify(res.body));
  }
  return {
    user: `system:serviceaccount:${saNs}:${sa}`,
    groups: ['system:serviceaccounts', `system:serviceaccounts:${saNs}`, 'system:authenticated'],
  };
}
