// validate DIR: the offline check of one namespace folder (CI pre-merge); exit 1 on errors.
import { basename } from 'node:path';
import { ConfigError, type Env } from '../config.ts';
import { ManifestSetError } from '../manifests/errors.ts';
import { parseSet } from '../manifests/load.ts';
import { localFiles } from '../manifests/local.ts';
import { type Options, parse } from './command.ts';

export const name = 'validate';
export const summary =
  'check a namespace folder offline (CI pre-merge check): the validation the operator runs before ' +
  'applying; exit 1 on errors';
export const positionals = 'DIR';
export const options = {
  namespace: {
    type: 'string',
    value: 'NS',
    doc: 'the namespace the folder is for (default: the folder name)',
  },
} as const satisfies Options;
export const environment = [] as const;

export async function run(args: string[], env: Env): Promise<number> {
  const { values, positionals: given } = parse({ name, options, positionals }, args, env);
  const dir = given[0];
  if (!dir) throw new ConfigError('validate', 'needs a folder: git-sync-operator validate CLUSTER/NAMESPACE');
  const namespace = values.namespace ?? basename(dir.replace(/\/+$/, ''));
  const files = await localFiles(dir);
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
