// install: print (or --apply) the Version CRD, the least-privilege ClusterRole and, per namespace,
// the ServiceAccount, RoleBinding and operator Deployment; or, with --operator-namespace, one
// central Deployment (sharded over --replicas) for all of them. Nothing here needs the cluster
// unless --apply, so it starts at once.

import { groups } from '../config/variables.ts';
import { ConfigError, type Env, loadConfig } from '../config.ts';
import { centralObjects } from '../install/central.ts';
import {
  clusterObjects,
  defaultImage,
  type InstallOptions,
  namespaceObjects,
  toYaml,
} from '../install/manifests.ts';
import { need, type Options, parse, UsageError, type Values } from './command.ts';

export const name = 'install';
export const summary =
  'print (or apply) the Version CRD, least-privilege RBAC and the operator Deployment: one in each ' +
  'namespace, or one central Deployment (--operator-namespace) for all of them';
export const options = {
  namespace: {
    type: 'string',
    value: 'NS',
    multiple: true,
    required: true,
    doc: 'a namespace to manage; once per namespace (not needed with --crd-only)',
  },
  'cluster-name': {
    type: 'string',
    value: 'NAME',
    required: true,
    doc: "the operator's CLUSTER_NAME: this cluster's folder in the repo",
  },
  'config-repo': { type: 'string', value: 'URL', required: true, doc: 'the CONFIG_REPO git URL' },
  'config-branch': {
    type: 'string',
    value: 'BRANCH',
    doc: "CONFIG_BRANCH (default: the remote's default branch)",
  },
  's3-bucket': { type: 'string', value: 'BUCKET', doc: 'S3_BUCKET for completion files (default: none)' },
  image: { type: 'string', value: 'IMAGE', default: defaultImage, doc: 'the operator image' },
  'aws-secret': {
    type: 'string',
    value: 'NAME',
    default: 'git-sync-operator-aws',
    doc: 'the Secret the Deployment takes AWS_* keys from (created by you)',
  },
  'notify-secret': {
    type: 'string',
    value: 'NAME',
    default: 'git-sync-operator-notify',
    doc: 'the Secret whose keys set commit statuses, the webhook and Slack (COMMIT_STATUS_TOKEN, …; optional)',
  },
  'operator-namespace': {
    type: 'string',
    value: 'NS',
    doc:
      'install one central operator Deployment here, managing every --namespace (RoleBindings there, ' +
      'its Leases here); without it, each namespace gets its own operator',
  },
  replicas: {
    type: 'string',
    value: 'N',
    default: '1',
    doc: 'replicas of the central Deployment; above 1 they split the namespaces into N shards (SHARDS=N)',
  },
  'crd-only': { type: 'boolean', doc: 'only the Version CRD' },
  apply: { type: 'boolean', doc: 'apply with your kubeconfig instead of printing' },
} as const satisfies Options;
/** Read with --apply only. */
export const environment = groups('kube');

export async function run(args: string[], env: Env): Promise<number> {
  const { values } = parse({ name, options }, args, env);
  const objects = values['crd-only'] ? clusterObjects().slice(0, 1) : allObjects(values);
  if (!values.apply) {
    process.stdout.write(toYaml(objects));
    return 0;
  }
  const [{ KubeClient }, { applyInstallObject }] = await Promise.all([
    import('../kube/client.ts'),
    import('../install/apply.ts'),
  ]);
  const client = new KubeClient({ kubeconfig: env.KUBECONFIG, env });
  try {
    for (const o of objects) process.stdout.write(`${await applyInstallObject(client, o)}\n`);
  } finally {
    client.close();
  }
  return 0;
}

function allObjects(values: Values<typeof options>): Record<string, unknown>[] {
  if (values.namespace.length === 0)
    throw new ConfigError('--namespace', 'is required (once per namespace to manage)');
  const replicas = replicaCount(values.replicas);
  const central = values['operator-namespace'];
  if (replicas > 1 && central === undefined)
    throw new UsageError(
      name,
      '--replicas above 1 needs --operator-namespace NS: a per-namespace operator has one namespace, nothing to shard',
    );
  const opts: InstallOptions = {
    namespaces: values.namespace,
    clusterName: need(values['cluster-name'], '--cluster-name'),
    configRepo: need(values['config-repo'], '--config-repo'),
    configBranch: values['config-branch'],
    s3Bucket: values['s3-bucket'],
    image: values.image,
    awsSecret: values['aws-secret'],
    notifySecret: values['notify-secret'],
  };
  if (central !== undefined && !dnsLabel.test(central))
    throw new ConfigError(
      '--operator-namespace',
      `"${central}" is not a valid namespace name (lowercase DNS label)`,
    );
  if (central !== undefined && values.namespace.includes(central))
    throw new UsageError(
      name,
      `--operator-namespace ${central} is also a --namespace: keep the operator in a namespace of its own (it would get the ClusterRole there, not only its Leases)`,
    );
  // The same checks as the operator's own start: a bad value fails here, not in the pod.
  loadConfig({
    CONFIG_REPO: opts.configRepo,
    CLUSTER_NAME: opts.clusterName,
    MANAGED_NAMESPACES: values.namespace.join(','),
    SHARDS: String(replicas),
  });
  const objects = clusterObjects();
  if (central !== undefined) objects.push(...centralObjects({ operatorNamespace: central, replicas }, opts));
  else for (const ns of values.namespace) objects.push(...namespaceObjects(ns, opts));
  return objects;
}

/** A namespace name, as config.ts checks MANAGED_NAMESPACES. */
const dnsLabel = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

function replicaCount(raw: string): number {
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(n) || n < 1)
    throw new UsageError(name, `--replicas "${raw}" must be a positive integer (1 for one operator)`);
  return n;
}
