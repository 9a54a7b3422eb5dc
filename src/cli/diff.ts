// diff [DIR | --sha SHA]: what applying git would change in the cluster, field by field, and what
// would be pruned; writes nothing. Exit 0 no difference, 1 differences, 2 errors (a PR check).
import { basename, resolve } from 'node:path';
import { groups, type VariableName } from '../config/variables.ts';
import type { Env } from '../config.ts';
import { type Options, parse, UsageError } from './command.ts';
import type { DiffSource } from './diff-set.ts';

export const name = 'diff';
export const summary =
  'what applying git (a folder, a commit or the branch head) would change in the cluster, field by ' +
  'field, and what it would prune; writes nothing; exit 0 none, 1 differences, 2 errors';
export const positionals = '[DIR]';
export const options = {
  namespace: {
    type: 'string',
    value: 'NS',
    multiple: true,
    doc: 'a namespace to compare (default: MANAGED_NAMESPACES; with DIR: the folder name)',
  },
  sha: {
    type: 'string',
    value: 'SHA',
    doc: 'compare this commit of CONFIG_REPO (its full id) instead of the head of CONFIG_BRANCH',
  },
} as const satisfies Options;

const gitVariables: VariableName[] = [
  'CONFIG_REPO',
  'CONFIG_BRANCH',
  'CLUSTER_NAME',
  'MANAGED_NAMESPACES',
  'POD_NAMESPACE',
  'GIT_SSH_KEY_FILE',
  'GIT_SSH_KNOWN_HOSTS',
  'GSO_WORK_DIR',
];
export const environment = [
  ...gitVariables,
  'FORCE_CONFLICTS',
  'APPLY_CONCURRENCY',
  'LOG_LEVEL',
  ...groups('kube', 'host'),
] as const satisfies readonly VariableName[];

export async function run(args: string[], env: Env): Promise<number> {
  const { values, positionals: given } = parse({ name, options, positionals }, args, env);
  if (given.length > 1) throw new UsageError(name, 'takes one folder: git-sync-operator diff [DIR]');
  const dir = given[0];
  let source: DiffSource;
  if (dir === undefined) {
    source = { sha: values.sha, namespaces: values.namespace };
  } else {
    if (values.sha) throw new UsageError(name, 'compares a folder or a commit (--sha), not both');
    if (values.namespace.length > 1)
      throw new UsageError(name, 'a folder is one namespace: give one --namespace');
    source = { dir, namespace: values.namespace[0] ?? basename(resolve(dir)) };
  }
  for (const ns of 'dir' in source ? [source.namespace] : source.namespaces)
    if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(ns))
      throw new UsageError(
        name,
        `"${ns}" is not a namespace name (lowercase DNS label): give --namespace NS`,
      );
  if ('sha' in source && source.sha !== undefined && !/^[0-9a-f]{40}([0-9a-f]{24})?$/.test(source.sha))
    throw new UsageError(name, `--sha needs a full commit id (40 hex digits: git rev-parse ${source.sha})`);
  // The Kubernetes client and the sync stages load only here.
  const { diff } = await import('./diff-set.ts');
  return diff(source, env);
}
