// install: print (or --apply) the Version CRD, the least-privilege ClusterRole and, per namespace,
// the ServiceAccount, RoleBinding and operator Deployment. Nothing here needs the cluster unless
// --apply, so it starts at once.

import { groups } from '../config/variables.ts';
import { ConfigError, type Env, loadConfig } from '../config.ts';
import { clusterObjects, defaultImage, namespaceObjects, toYaml } from '../install/manifests.ts';
import { need, type Options, parse, type Values } from './command.ts';

export const name = 'install';
export const summary =
  'print (or apply) the Version CRD, least-privilege RBAC and the operator Deployment of each namespace';
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
  const opts = {
    namespaces: values.namespace,
    clusterName: need(values['cluster-name'], '--cluster-name'),
    configRepo: need(values['config-repo'], '--config-repo'),
    configBranch: values['config-branch'],
    s3Bucket: values['s3-bucket'],
    image: values.image,
    awsSecret: values['aws-secret'],
    notifySecret: values['notify-secret'],
  };
  // The same checks as the operator's own start: a bad value fails here, not in the pod.
  loadConfig({
    CONFIG_REPO: opts.configRepo,
    CLUSTER_NAME: opts.clusterName,
    MANAGED_NAMESPACES: values.namespace.join(','),
  });
  const objects = clusterObjects();
  for (const ns of values.namespace) objects.push(...namespaceObjects(ns, opts));
  return objects;
}
