// Benchmark workloads: a realistic mix of ConfigMaps, Deployments, Services and HPAs.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { KubeObject } from '../src/manifests/object.ts';

/**
 * N objects: 40% ConfigMaps, 30% Deployments, 20% Services, 10% HPAs. Deployments have 0
 * replicas so the measurement is the apply path, not thousands of kwok pods (and HPAs leave a
 * zero-replica target alone).
 */
export function mix(n: number, prefix = 'app'): KubeObject[] {
  const out: KubeObject[] = [];
  const counts = { cm: Math.round(n * 0.4), deploy: Math.round(n * 0.3), svc: Math.round(n * 0.2) };
  const hpa = n - counts.cm - counts.deploy - counts.svc;
  for (let i = 0; i < counts.cm; i++) {
    out.push({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: `${prefix}-cm-${i}`, labels: { app: prefix } },
      data: { 'settings.py': `DEBUG = False\nINDEX = ${i}\n`, LOG_LEVEL: 'info', FEATURE_FLAGS: 'a,b,c' },
    });
  }
  for (let i = 0; i < counts.deploy; i++) {
    const labels = { app: `${prefix}-${i}` };
    out.push({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: `${prefix}-${i}`, labels },
      spec: {
        replicas: 0,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            containers: [
              {
                name: 'web',
                image: 'mozmeao/bedrock:2024-01-01',
                ports: [{ containerPort: 8000 }],
                resources: { requests: { cpu: '100m', memory: '128Mi' } },
                env: [{ name: 'INDEX', value: String(i) }],
              },
            ],
          },
        },
      },
    });
  }
  for (let i = 0; i < counts.svc; i++) {
    out.push({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: `${prefix}-svc-${i}` },
      spec: { selector: { app: `${prefix}-${i}` }, ports: [{ port: 80, targetPort: 8000 }] },
    });
  }
  for (let i = 0; i < hpa; i++) {
    out.push({
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      metadata: { name: `${prefix}-hpa-${i}` },
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: `${prefix}-${i}` },
        minReplicas: 1,
        maxReplicas: 3,
        metrics: [
          {
            type: 'Resource',
            resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } },
          },
        ],
      },
    });
  }
  return out;
}

/** Files of 100 YAML documents each, as a repo folder would hold. */
export function toFiles(objects: KubeObject[], folder: string): Record<string, string> {
  const files: Record<string, string> = {};
  for (let i = 0; i < objects.length; i += 100) {
    const docs = objects.slice(i, i + 100).map((o) => stringify(o));
    files[`${folder}/objects-${String(i / 100).padStart(3, '0')}.yaml`] = docs.join('---\n');
  }
  return files;
}

export async function writeDir(dir: string, objects: KubeObject[]): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const [name, text] of Object.entries(toFiles(objects, '.'))) await writeFile(join(dir, name), text);
}
