// Least-privilege RBAC: one ClusterRole (bound per namespace by RoleBindings, so it grants
// nothing cluster-wide), covering exactly what apply, prune, health, Version, events and leader
// election need.

export const clusterRoleName = 'git-sync-operator';

const crud = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'];

/** The kinds a config folder may hold; add a rule here to let the operator manage another kind. */
export const managedResources: { apiGroups: string[]; resources: string[] }[] = [
  {
    apiGroups: [''],
    resources: ['configmaps', 'secrets', 'services', 'serviceaccounts', 'persistentvolumeclaims'],
  },
  { apiGroups: ['apps'], resources: ['deployments', 'statefulsets', 'daemonsets'] },
  { apiGroups: ['batch'], resources: ['jobs', 'cronjobs'] },
  { apiGroups: ['autoscaling'], resources: ['horizontalpodautoscalers'] },
  { apiGroups: ['networking.k8s.io'], resources: ['ingresses', 'networkpolicies'] },
  { apiGroups: ['policy'], resources: ['poddisruptionbudgets'] },
];

/** Leader and shard Leases: read by name, written on the read resourceVersion (never listed). */
const leaseRule = () => ({
  apiGroups: ['coordination.k8s.io'],
  resources: ['leases'],
  verbs: ['get', 'create', 'update'],
});

export function clusterRole(): Record<string, unknown> {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name: clusterRoleName },
    rules: [
      ...managedResources.map((r) => ({ ...r, verbs: crud })),
      {
        apiGroups: ['versions.mozilla.org'],
        resources: ['versions'],
        verbs: ['get', 'list', 'watch', 'create', 'update', 'patch'],
      },
      {
        apiGroups: ['versions.mozilla.org'],
        resources: ['versions/status'],
        verbs: ['get', 'update', 'patch'],
      },
      { apiGroups: ['', 'events.k8s.io'], resources: ['events'], verbs: ['create', 'patch'] },
      // Read only: a failed pre Job is reported in its pod's words.
      { apiGroups: [''], resources: ['pods'], verbs: ['list'] },
      leaseRule(),
    ],
  };
}

export function serviceAccount(name: string, namespace: string): Record<string, unknown> {
  return { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace } };
}

/** Grants the ClusterRole to a ServiceAccount inside one namespace only. */
export function roleBinding(namespace: string, saName: string, saNamespace: string): Record<string, unknown> {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name: 'git-sync-operator', namespace },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: clusterRoleName },
    subjects: [{ kind: 'ServiceAccount', name: saName, namespace: saNamespace }],
  };
}

/** The Role (and its binding) of a central operator's own namespace. */
export const leaseRoleName = 'git-sync-operator-leases';

/**
 * What a central operator needs where it runs: its leader or shard Leases, nothing else. Binding
 * the ClusterRole there instead would let it write every Secret and Deployment of that namespace;
 * its events go to the Versions of the managed namespaces, so none are written here.
 */
export function leaseRole(namespace: string): Record<string, unknown> {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: { name: leaseRoleName, namespace },
    rules: [leaseRule()],
  };
}

export function leaseRoleBinding(namespace: string, saName: string): Record<string, unknown> {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name: leaseRoleName, namespace },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: leaseRoleName },
    subjects: [{ kind: 'ServiceAccount', name: saName, namespace }],
  };
}
