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
export function rawApply(target: ApiTarget, namespace: string, objects: KubeObject[], concurrency: number) {
  return rawRequests(target, objects, concurrency, (o) => applyCall(o, namespace, ''));
}

/**
 * The same PATCHes with `dryRun=All` (the apiserver validates and admits, stores nothing): the
 * operator's whole-set dry-run before it applies.
 */
export function rawDryRun(target: ApiTarget, namespace: string, objects: KubeObject[], concurrency: number) {
  return rawRequests(target, objects, concurrency, (o) => applyCall(o, namespace, '&dryRun=All'));
}

const applyCall = (o: KubeObject, namespace: string, query: string): Call => ({
  method: 'PATCH',
  path: `${pathOf(o, namespace)}?fieldManager=floor&force=true${query}`,
  body: JSON.stringify(o),
  type: 'application/apply-patch+yaml',
});

/** Seconds to DELETE every object with `concurrency` requests in flight (the prune floor). */
export function rawDelete(target: ApiTarget, namespace: string, objects: KubeObject[], concurrency: number) {
  return rawRequests(target, objects, concurrency, (o) => ({
    method: 'DELETE',
    path: pathOf(o, namespace),
    body: JSON.stringify({ propagationPolicy: 'Background' }),
    type: 'application/json',
  }));
}

const pathOf = (o: KubeObject, namespace: string) =>
  `${(plural[o.kind] as string).replace('NS', namespace)}${o.metadata.name}`;

interface Call {
  method: string;
  path: string;
  body: string;
  type: string;
}

/** Seconds to send one request per object, `concurrency` in flight, over keep-alive connections. */
async function rawRequests(
  { server, ca, token }: ApiTarget,
  objects: KubeObject[],
  concurrency: number,
  call: (o: KubeObject) => Call,
): Promise<number> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency, ca });
  const start = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < objects.length) {
      const o = objects[next++] as KubeObject;
      const c = call(o);
      await new Promise<void>((resolve, reject) => {
        const req = request(
          `${server}${c.path}`,
          {
            method: c.method,
            agent,
            headers: {
              authorization: `Bearer ${token}`,
              'content-type': c.type,
              'content-length': Buffer.byteLength(c.body),
            },
          },
          (res) => {
            res.resume();
            res.on('end', () =>
              (res.statusCode ?? 0) < 300
                ? resolve()
                : reject(new Error(`${c.method} ${o.kind}/${o.metadata.name}: ${res.statusCode}`)),
            );
          },
        );
        req.on('error', reject);
        req.end(c.body);
      });
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - start) / 1000;
  agent.destroy();
  return seconds;
}
