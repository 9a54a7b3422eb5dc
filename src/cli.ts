// git-sync-operator <command>: run | sync --once [--dry-run] | validate DIR
import { readdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from './config.ts';
import { createLogger } from './log.ts';
import { ManifestSetError } from './manifests/errors.ts';
import { parseSet } from './manifests/load.ts';
import { Operator } from './operator.ts';
import { registerSecret } from './source/redact.ts';

const usage = `usage: git-sync-operator <command>
  run                      follow CONFIG_REPO and keep MANAGED_NAMESPACES in sync (long-running)
  sync --once [--dry-run]  one pass over every namespace; exit 1 if any failed
  validate DIR [--namespace NS]
                           check a namespace folder offline (CI pre-merge check); exit 1 on errors
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

function operatorFromEnv(): Operator {
  for (const name of ['AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'WEBHOOK_SECRET'])
    registerSecret(process.env[name]);
  const config = loadConfig();
  return new Operator(config, createLogger());
}

async function runLoop(): Promise<number> {
  const op = operatorFromEnv();
  const stop = new AbortController();
  const onSignal = () => {
    op.deps.log.info('shutting down: finishing the current write');
    stop.abort();
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  await op.run(stop.signal);
  op.close();
  return 0;
}

async function syncOnce(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { once: { type: 'boolean' }, 'dry-run': { type: 'boolean' } },
  });
  if (!values.once) throw new ConfigError('sync', 'only `sync --once` is supported; use `run` for the loop');
  const op = operatorFromEnv();
  try {
    const results = await op.syncOnce({ dryRun: values['dry-run'] ?? false });
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
    if (set.objects.length === 0) throw new ConfigError('validate', `${dir} has no objects`);
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
