// The central installation: one operator Deployment in its own namespace manages every listed
// namespace, through a RoleBinding of the ClusterRole in each; in its own namespace it may only
// hold its Leases. With replicas above 1 the replicas split the namespaces by shard.
import { type InstallOptions, operatorDeployment } from './manifests.ts';
import { leaseRole, leaseRoleBinding, roleBinding, serviceAccount } from './rbac.ts';

export const centralSaName = 'git-sync-operator';

export interface Central {
  /** Where the Deployment, its ServiceAccount and its Leases live. */
  operatorNamespace: string;
  replicas: number;
}

/** RBAC before the Deployment, so its pods start with their rights in place. */
export function centralObjects(c: Central, o: InstallOptions): Record<string, unknown>[] {
  const ns = c.operatorNamespace;
  const managed = [...new Set(o.namespaces)];
  const placement = { namespace: ns, serviceAccount: centralSaName, managed, replicas: c.replicas };
  return [
    serviceAccount(centralSaName, ns),
    leaseRole(ns),
    leaseRoleBinding(ns, centralSaName),
    ...managed.map((m) => roleBinding(m, centralSaName, ns)),
    operatorDeployment(placement, o),
  ];
}
