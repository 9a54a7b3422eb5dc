// git-sync-operator <command>: run | sync --once [--dry-run] | validate DIR
import { readdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import { exitCode, parseDuration } from './ci/outcome.ts';
import { ConfigError, loadConfig } from './config.ts';
import { clusterObjects, defaultImage, namespaceObjects, toYaml } from './install/manifests.ts';
import { createLogger } from './log.ts';
import { ManifestSetError } from './manifests/errors.ts';
import { parseSet } from './manifests/load.ts';
import type { Operator } from './operator.ts';
import { loopAlive, startServer } from './server.ts';
import { registerSecret } from './source/redact.ts';

// Heavy modules (the AWS SDK ~0.2 s; @kubernetes/client-node ~0.8 s, only for exec/auth-provider
// kubeconfigs) load only in the commands that use them, so `validate` and `install` start at once.
const operatorModule = () => import('./operator.ts');
const ciWait = () => import('./ci/wait.ts');
const s3ClientModule = () => import('./notify/s3-client.ts');

const usage = `usage: git-sync-operator <command>
  run                      follow CONFIG_REPO and keep MANAGED_NAMESPACES in sync (long-running)
  sync --once [--dry-run] [--no-wait]
                           one pass over every namespace; exit 1 if any failed
                           (--no-wait: apply and record, do not wait for rollouts)
  validate DIR [--namespace NS]
                           check a namespace folder offline (CI pre-merge check); exit 1 on errors
  install --namespace NS [--namespace NS2 …] --cluster-name C --config-repo URL [--s3-bucket B]
          [--image IMG] [--aws-secret NAME] [--crd-only] [--apply]
                           print (or apply) the CRD, least-privilege RBAC and the operator Deployment
  wait --bucket B --cluster C --namespace NS --deployment D --sha SHA [--timeout 15m] [--interval 5s]
                           CI: wait for the S3 file; exit 0 deployed, 1 failed, 2 bad input or
                           credentials, 124 timed out
  promote --repo DIR --namespace NS --clusters a,b,c [--push] [--wait --bucket B [--timeout 15m]]
                           CI: copy all-clusters/NS/ into each cluster's folder in turn, waiting between
Configuration is by environment: CONFIG_REPO, CONFIG_BRANCH, MANAGED_NAMESPACES, CLUSTER_NAME,
S3_BUCKET, GIT_SYNC_INTERVAL, ROLLOUT_TIMEOUT, KUBECONFIG, AWS_* (see README.md).`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'run':
      return runLoop();
    case 'sync':
      return syncOnce(rest);
    case 'validate':
      return validate(rest);
    case 'wait':
      return waitCommand(rest);
    case 'install':
      return installCommand(rest);
    case 'promote':
      return promoteCommand(rest);
    case '--help':
    case '-h':
    case 'help':
    case undefined:
      process.stdout.write(`${usage}\n`);
      return command ? 0 : 2;
    default:
      process.stderr.write(`unknown command "${command}"\n${usage}\n`);
      return 2;
  }
}

async function operatorFromEnv(): Promise<Operator> {
  for (const name of ['AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'WEBHOOK_SECRET'])
    registerSecret(process.env[name]);
  const config = loadConfig();
  const { Operator } = await operatorModule();
  return new Operator(config, createLogger());
}

async function runLoop(): Promise<number> {
  const op = await operatorFromEnv();
  const { config } = op;
  const { server, port } = await startServer(
    {
      metrics: op.metrics,
      log: op.deps.log,
      ready: () => op.ready,
      healthy: () => loopAlive(op),
      wake: () => op.wake(),
      webhookSecret: config.webhookSecret,
    },
    config.listen.host,
    config.listen.port,
  );
  op.deps.log.info({ port, namespaces: config.managedNamespaces, cluster: config.clusterName }, 'started');
  const stop = new AbortController();
  const onSignal = (signal: string) => {
    op.deps.log.info(`${signal}: finishing the current write, then stopping`);
    stop.abort();
  };
  process.once('SIGTERM', () => onSignal('SIGTERM'));
  process.once('SIGINT', () => onSignal('SIGINT'));
  const outcome = await op.run(stop.signal);
  server.close();
  op.close();
  // Losing the lease means another replica leads now: exit so Kubernetes restarts us as a follower.
  return outcome === 'lost-lease' ? 1 : 0;
}

async function syncOnce(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { once: { type: 'boolean' }, 'dry-run': { type: 'boolean' }, 'no-wait': { type: 'boolean' } },
  });
  if (!values.once) throw new ConfigError('sync', 'only `sync --once` is supported; use `run` for the loop');
  const op = await operatorFromEnv();
  try {
    const results = await op.syncOnce({ dryRun: values['dry-run'] ?? false, wait: !values['no-wait'] });
    for (const r of results) {
      const sha = r.sha.slice(0, 7);
      if (values['dry-run']) {
        const lines = [
          ...r.changed.map((c) => `  apply ${c.kind}/${c.name}`),
          ...r.pruned.map((c) => `  prune ${c.kind}/${c.name}`),
        ];
        process.stdout.write(
          r.error
            ? `${r.namespace} @ ${sha}: error: ${r.error}\n`
            : `${r.namespace} @ ${sha}: ${r.changed.length} to apply, ${r.pruned.length} to prune, ${r.unchanged} unchanged\n${lines.join('\n')}${lines.length ? '\n' : ''}`,
        );
      } else {
        process.stdout.write(
          r.ok
            ? `${r.namespace} @ ${sha}: ${r.changed.length} applied, ${r.unchanged} unchanged, ${r.pruned.length} pruned, healthy\n`
            : `${r.namespace} @ ${sha}: failed: ${r.error ?? 'rollout not healthy'}\n`,
        );
      }
    }
    return results.every((r) => (values['dry-run'] ? !r.error : r.ok)) ? 0 : 1;
  } finally {
    op.close();
  }
}

async function validate(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { namespace: { type: 'string' } },
  });
  const dir = positionals[0];
  if (!dir) throw new ConfigError('validate', 'needs a folder: git-sync-operator validate CLUSTER/NAMESPACE');
  const namespace = values.namespace ?? basename(dir.replace(/\/+$/, ''));
  const names = (await readdir(dir, { withFileTypes: true }))
    .filter((e) => e.isFile() && !e.name.startsWith('.') && /\.(ya?ml|json)$/i.test(e.name))
    .map((e) => e.name)
    .sort();
  const files = await Promise.all(
    names.map(async (n) => ({ path: join(dir, n), text: await readFile(join(dir, n), 'utf8') })),
  );
  try {
    const set = parseSet(dir, namespace, files);
    process.stdout.write(
      `${dir}: ${set.objects.length} objects in ${files.length} files are valid for namespace ${namespace}\n`,
    );
    return 0;
  } catch (err) {
    if (!(err instanceof ManifestSetError)) throw err;
    for (const e of err.errors) process.stderr.write(`${e.message}\n`);
    return 1;
  }
}

async function installCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      namespace: { type: 'string', multiple: true, default: [] },
      'cluster-name': { type: 'string' },
      'config-repo': { type: 'string' },
      'config-branch': { type: 'string' },
      's3-bucket': { type: 'string' },
      image: { type: 'string', default: defaultImage },
      'aws-secret': { type: 'string', default: 'git-sync-operator-aws' },
      'crd-only': { type: 'boolean', default: false },
      apply: { type: 'boolean', default: false },
    },
  });
  let objects = clusterObjects();
  if (values['crd-only']) objects = objects.slice(0, 1);
  else {
    if (values.namespace.length === 0)
      throw new ConfigError('--namespace', 'is required (once per namespace to manage)');
    const opts = {
      namespaces: values.namespace,
      clusterName: need(values['cluster-name'], '--cluster-name'),
      configRepo: need(values['config-repo'], '--config-repo'),
      configBranch: values['config-branch'],
      s3Bucket: values['s3-bucket'],
      image: values.image,
      awsSecret: values['aws-secret'],
    };
    loadConfig({
      CONFIG_REPO: opts.configRepo,
      CLUSTER_NAME: opts.clusterName,
      MANAGED_NAMESPACES: values.namespace.join(','),
    });
    for (const ns of values.namespace) objects.push(...namespaceObjects(ns, opts));
  }
  if (!values.apply) {
    process.stdout.write(toYaml(objects));
    return 0;
  }
  const [{ KubeClient }, { applyInstallObject }] = await Promise.all([
    import('./kube/client.ts'),
    import('./install/apply.ts'),
  ]);
  const client = new KubeClient();
  try {
    for (const o of objects) {
      const r = await applyInstallObject(client, o);
      process.stdout.write(`${r}\n`);
    }
  } finally {
    client.close();
  }
  return 0;
}

const waitOptions = {
  bucket: { type: 'string' },
  timeout: { type: 'string', default: '15m' },
  interval: { type: 'string', default: '5s' },
} as const;

function durations(values: { timeout: string; interval: string }): { timeoutMs: number; intervalMs: number } {
  const timeoutMs = parseDuration(values.timeout);
  const intervalMs = parseDuration(values.interval);
  if (timeoutMs === undefined)
    throw new ConfigError('--timeout', `"${values.timeout}" is not a duration (e.g. 15m, 90s)`);
  if (intervalMs === undefined)
    throw new ConfigError('--interval', `"${values.interval}" is not a duration (e.g. 5s)`);
  return { timeoutMs, intervalMs };
}

function need(value: string | undefined, flag: string): string {
  if (!value) throw new ConfigError(flag, 'is required');
  return value;
}

async function waitCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      ...waitOptions,
      cluster: { type: 'string' },
      namespace: { type: 'string' },
      deployment: { type: 'string' },
      sha: { type: 'string' },
    },
  });
  const sha = need(values.sha, '--sha');
  if (!/^[0-9a-f]{7,64}$/.test(sha))
    throw new ConfigError('--sha', `"${sha}" is not a hex commit sha (7 or more characters)`);
  const target = {
    bucket: need(values.bucket ?? process.env.S3_BUCKET, '--bucket'),
    cluster: need(values.cluster ?? process.env.CLUSTER_NAME, '--cluster'),
    namespace: need(values.namespace, '--namespace'),
    deployment: need(values.deployment, '--deployment'),
    sha,
  };
  const times = durations(values);
  // Never echoed; redacted should an S3 or SDK message ever carry them.
  registerSecret(process.env.AWS_SECRET_ACCESS_KEY);
  registerSecret(process.env.AWS_SESSION_TOKEN);
  const [{ waitForDeploy, describeTimeout, WaitRejectedError }, { s3Client }] = await Promise.all([
    ciWait(),
    s3ClientModule(),
  ]);
  let outcome: Awaited<ReturnType<typeof waitForDeploy>>;
  try {
    // One HTTP request per GET: the poll loop is the retry, and counts what S3 answered.
    outcome = await waitForDeploy(s3Client(process.env, { maxAttempts: 1 }), target, times);
  } catch (err) {
    if (!(err instanceof WaitRejectedError)) throw err;
    process.stderr.write(`${err.message}\n`); // "wait: S3 rejected … : check …"
    return exitCode.rejected;
  }
  if (outcome.state === 'deployed')
    process.stdout.write(`deployed: s3://${target.bucket}/${outcome.key} at ${outcome.at}\n`);
  if (outcome.state === 'failed') process.stderr.write(`failed: ${outcome.reason}\n`);
  if (outcome.state === 'timeout')
    process.stderr.write(`${describeTimeout(outcome, target.bucket, values.timeout)}\n`);
  return exitCode[outcome.state];
}

async function promoteCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      ...waitOptions,
      repo: { type: 'string', default: '.' },
      namespace: { type: 'string' },
      clusters: { type: 'string' },
      push: { type: 'boolean', default: false },
      wait: { type: 'boolean', default: false },
    },
  });
  const namespace = need(values.namespace, '--namespace');
  const clusters = need(values.clusters, '--clusters')
    .split(',')
    .map((c) => c.trim())
    .filter(Boolean);
  const bucket = values.wait ? need(values.bucket ?? process.env.S3_BUCKET, '--bucket') : '';
  const times = durations(values);
  const [{ promote, PromoteError }, { waitForDeploy }, { s3Client }] = await Promise.all([
    import('./ci/promote.ts'),
    ciWait(),
    s3ClientModule(),
  ]);
  const s3 = values.wait ? s3Client() : undefined;
  try {
    await promote({
      repo: values.repo,
      namespace,
      clusters,
      push: values.push,
      log: (line) => process.stdout.write(`${line}\n`),
      ...(s3
        ? {
            wait: async (cluster: string, deployment: string, sha: string) =>
              (await waitForDeploy(s3, { bucket, cluster, namespace, deployment, sha }, times)).state,
          }
        : {}),
    });
    return 0;
  } catch (err) {
    if (err instanceof PromoteError) {
      process.stderr.write(`promote: ${err.message}\n`);
      return exitCode[err.state];
    }
    throw err;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof ConfigError) {
      process.stderr.write(`git-sync-operator: ${err.message}\n`);
      process.exitCode = 2;
    } else {
      process.stderr.write(`git-sync-operator: ${(err as Error).message}\n`);
      process.exitCode = 1;
    }
  },
);
