// The floor: the same objects as raw server-side-apply PATCHes over keep-alive connections.
import { Agent, request } from 'node:https';
import type { KubeObject } from '../src/manifests/object.ts';

const plural: Record<string, string> = {
  ConfigMap: '/api/v1/namespaces/NS/configmaps/',
  Service: '/api/v1/namespaces/NS/services/',
  Deployment: '/apis/apps/v1/namespaces/NS/deployments/',
  HorizontalPodAutoscaler: '/apis/autoscaling/v2/namespaces/NS/horizontalpodautoscalers/',
};

/** Where and as whom to PATCH: the apiserver's URL, its CA and a bearer token. */
export interface ApiTarget {
  server: string;
  ca: Buffer;
  token: string;
}

/** Seconds to PATCH every object with `concurrency` requests in flight. */
export async function rawApply(
  { server, ca, token }: ApiTarget,
  namespace: string,
  objects: KubeObject[],
  concurrency: number,
): Promise<number> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency, ca });
  const start = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < objects.length) {
      const o = objects[next++] as KubeObject;
      const path = `${(plural[o.kind] as string).replace('NS', namespace)}${o.metadata.name}?fieldManager=floor&force=true`;
      const body = JSON.stringify(o);
      await new Promise<void>((resolve, reject) => {
        const req = request(
          `${server}${path}`,
          {
            method: 'PATCH',
            agent,
            headers: {
              authorization: `Bearer ${token}`,
              'content-type': 'application/apply-patch+yaml',
              'content-length': Buffer.byteLength(body),
            },
          },
          (res) => {
            res.resume();
            res.on('end', () =>
              (res.statusCode ?? 0) < 300
                ? resolve()
                : reject(new Error(`${o.kind}/${o.metadata.name}: ${res.statusCode}`)),
            );
          },
        );
        req.on('error', reject);
        req.end(body);
      });
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - start) / 1000;
  agent.destroy();
  return seconds;
}
