// Config-repo content shaped like the seed's: all-clusters/, per-cluster folders, a README.

export interface AppOptions {
  image?: string;
  replicas?: number;
  /** Extra pod spec (e.g. an unsatisfiable nodeSelector). */
  podSpec?: Record<string, unknown>;
  minReadySeconds?: number;
}

/** deploy.yaml, svc.yaml, hpa.yaml, configmap.yaml for one app in one namespace folder. */
export function appFiles(folder: string, app: string, opts: AppOptions = {}): Record<string, string> {
  const labels = { app };
  const deploy = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: app, labels },
    spec: {
      replicas: opts.replicas ?? 2,
      minReadySeconds: opts.minReadySeconds ?? 0,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          containers: [
            {
              name: app,
              image: opts.image ?? 'mozmeao/bedrock:1',
              envFrom: [{ configMapRef: { name: `${app}-config` } }],
            },
          ],
          ...opts.podSpec,
        },
      },
    },
  };
  const svc = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: app },
    spec: { selector: labels, ports: [{ port: 80, targetPort: 8000 }] },
  };
  const hpa = {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: { name: app },
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: app },
      minReplicas: 2,
      maxReplicas: 5,
      metrics: [
        {
          type: 'Resource',
          resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } },
        },
      ],
    },
  };
  const cm = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: `${app}-config` },
    data: { DEBUG: 'false' },
  };
  return {
    [`${folder}/deploy.yaml`]: yaml(deploy),
    [`${folder}/svc.yaml`]: yaml(svc),
    [`${folder}/hpa.yaml`]: yaml(hpa),
    [`${folder}/configmap.yaml`]: yaml(cm),
  };
}

/** JSON is valid YAML; one document per file keeps the fixture free of a YAML writer. */
function yaml(o: unknown): string {
  return `${JSON.stringify(o, null, 2)}\n`;
}

export function seedRepo(
  cluster: string,
  namespaces: string[],
  opts: AppOptions = {},
): Record<string, string> {
  const files: Record<string, string> = {
    'README.md': '# config repo\nEach cluster folder holds one folder per namespace.\n',
  };
  for (const ns of namespaces) {
    Object.assign(files, appFiles(`${cluster}/${ns}`, 'bedrock', opts));
    // Staging area and another cluster: the operator must never read these.
    Object.assign(files, appFiles(`all-clusters/${ns}`, 'staged-only', opts));
    Object.assign(files, appFiles(`frankfurt/${ns}`, 'other-cluster-only', opts));
  }
  return files;
}
