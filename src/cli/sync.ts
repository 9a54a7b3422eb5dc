// sync --once: one pass over every namespace; exit 1 if any failed. --dry-run prints what would be
// applied and pruned and writes nothing.
import { ConfigError, type Env } from '../config.ts';
import type { Operator } from '../operator.ts';
import { short } from '../source/sha.ts';
import { type Options, parse } from './command.ts';
import { operatorEnvironment, operatorFromEnv } from './operator.ts';

type ReconcileResult = Awaited<ReturnType<Operator['syncOnce']>>[number];

export const name = 'sync';
export const summary = 'one pass over every namespace; exit 1 if any failed';
export const options = {
  once: { type: 'boolean', required: true, doc: 'one pass, then exit (use `run` for the loop)' },
  'dry-run': { type: 'boolean', doc: 'print what would be applied and pruned; write nothing' },
  'no-wait': { type: 'boolean', doc: 'apply and record, do not wait for rollouts' },
} as const satisfies Options;
export const environment = operatorEnvironment;

export async function run(args: string[], env: Env): Promise<number> {
  const { values } = parse({ name, options }, args, env);
  if (!values.once) throw new ConfigError('sync', 'only `sync --once` is supported; use `run` for the loop');
  const dryRun = values['dry-run'];
  const op = await operatorFromEnv(env);
  try {
    const results = await op.syncOnce({ dryRun, wait: !values['no-wait'] });
    for (const r of results) process.stdout.write(dryRun ? planLine(r) : resultLine(r));
    return results.every((r) => (dryRun ? !r.error : r.ok)) ? 0 : 1;
  } finally {
    op.close();
  }
}

function planLine(r: ReconcileResult): string {
  const head = `${r.namespace} @ ${short(r.sha)}`;
  if (r.error) return `${head}: error: ${r.error}\n`;
  const lines = [
    ...r.changed.map((c) => `  apply ${c.kind}/${c.name}\n`),
    ...r.pruned.map((c) => `  prune ${c.kind}/${c.name}\n`),
  ];
  return `${head}: ${r.changed.length} to apply, ${r.pruned.length} to prune, ${r.unchanged} unchanged\n${lines.join('')}`;
}

function resultLine(r: ReconcileResult): string {
  const head = `${r.namespace} @ ${short(r.sha)}`;
  if (r.suspended) return `${head}: suspended, nothing applied (git-sync-operator resume ${r.namespace})\n`;
  return r.ok
    ? `${head}: ${r.changed.length} applied, ${r.unchanged} unchanged, ${r.pruned.length} pruned, healthy\n`
    : `${head}: failed: ${r.error ?? 'rollout not healthy'}\n`;
}
