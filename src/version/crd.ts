// The Version CRD (versions.versions.mozilla.org), created by the operator when it may.
import { ApiError, type KubeClient } from '../kube/client.ts';

export const group = 'versions.mozilla.org';
export const apiVersion = `${group}/v1`;
export const crdName = `versions.${group}`;

export function versionCrd(): Record<string, unknown> {
  const column = (name: string, jsonPath: string, type = 'string') => ({ name, jsonPath, type });
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: crdName },
    spec: {
      group,
      scope: 'Namespaced',
      names: {
        plural: 'versions',
        singular: 'version',
        kind: 'Version',
        listKind: 'VersionList',
        shortNames: ['ver', 'vers'],
      },
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: [
            column('Applied', '.applied'),
            column('Deployed', '.deployed'),
            column('Ready', '.status.conditions[?(@.type=="Ready")].status'),
            column('Age', '.metadata.creationTimestamp', 'date'),
          ],
          schema: {
            openAPIV3Schema: {
              type: 'object',
              description: 'What git-sync-operator applied to, and saw healthy in, this namespace.',
              properties: {
                apiVersion: { type: 'string' },
                kind: { type: 'string' },
                metadata: { type: 'object' },
                applied: { type: 'string', description: 'Short sha whose manifests were applied.' },
                deployed: { type: 'string', description: 'Short sha at which every workload was healthy.' },
                status: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
              },
            },
          },
        },
      ],
    },
  };
}

const crdsPath = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions';

/** Creates the CRD if missing; without permission, says how to install it instead. */
export async function ensureCrd(client: KubeClient): Promise<void> {
  const path = `${crdsPath}/${crdName}`;
  if (await crdPresent(client, path)) return;
  if (await createCrd(client)) await untilEstablished(client, path);
}

/** True when the CRD exists, or when we may not read CRDs (then Version calls will say if it is missing). */
async function crdPresent(client: KubeClient, path: string): Promise<boolean> {
  try {
    await client.json('GET', path);
    return true;
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    if (err.status === 403) return true; // may not read CRDs: assume installed
    if (err.status !== 404) throw err;
    return false;
  }
}

/** False on 409: it exists already (another replica made it), so there is nothing to wait for. */
async function createCrd(client: KubeClient): Promise<boolean> {
  try {
    await client.json('POST', crdsPath, { body: versionCrd() });
    return true;
  } catch (err) {
    if (err instanceof ApiError && err.status === 409) return false;
    if (err instanceof ApiError && err.status === 403) {
      throw new Error(
        `the Version CRD ${crdName} is not installed and this operator may not create it; install it with: git-sync-operator install --crd-only | kubectl apply -f -`,
      );
    }
    throw err;
  }
}

/** Waits until the new resource is served (100 polls, 100 ms apart, at most). */
async function untilEstablished(client: KubeClient, path: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const crd = await client.json<{ status?: { conditions?: { type: string; status: string }[] } }>(
      'GET',
      path,
    );
    if (crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) return;
    await new Promise((r) => setTimeout(r, 100));
  }
}
