/** A Kubernetes object as it comes from git or the API (only the fields we rely on are typed). */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    resourceVersion?: string;
    generation?: number;
    uid?: string;
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

/** apiVersion/kind/name: how the inventory names an object. */
export interface ObjectRef {
  apiVersion: string;
  kind: string;
  name: string;
  /** An object of the pre or post phase (the inventory keeps it: the rollout that decides is the rest). */
  phase?: 'pre' | 'post';
}

export function refOf(o: KubeObject): ObjectRef {
  return { apiVersion: o.apiVersion, kind: o.kind, name: o.metadata.name };
}

/** Group + kind + name: identity across API versions (apps/v1 and apps/v1beta2 are one object). */
export function refKey(r: ObjectRef): string {
  const group = r.apiVersion.includes('/') ? r.apiVersion.slice(0, r.apiVersion.indexOf('/')) : '';
  return `${group}/${r.kind}/${r.name}`;
}

/**
 * Kinds that are cluster-scoped in every cluster; rejected offline (validate DIR). The apply path
 * also checks the server's discovery, which knows about CRDs.
 */
export const clusterScopedKinds: ReadonlySet<string> = new Set([
  'Namespace',
  'Node',
  'PersistentVolume',
  'ClusterRole',
  'ClusterRoleBinding',
  'CustomResourceDefinition',
  'StorageClass',
  'PriorityClass',
  'IngressClass',
  'RuntimeClass',
  'CSIDriver',
  'CSINode',
  'VolumeAttachment',
  'MutatingWebhookConfiguration',
  'ValidatingWebhookConfiguration',
  'ValidatingAdmissionPolicy',
  'ValidatingAdmissionPolicyBinding',
  'APIService',
  'CertificateSigningRequest',
  'FlowSchema',
  'PriorityLevelConfiguration',
]);
