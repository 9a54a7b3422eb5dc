// A real local Kubernetes control plane: etcd, kube-apiserver, kube-controller-manager,
// kube-scheduler and kwok (fake nodes whose pods become Running and Ready), on free loopback ports.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { binary } from './binaries.ts';
import { writeKwokStages } from './kwok-stages.ts';
import { freePort, removeDir, type Service, startService, tempDir, waitFor } from './proc.ts';

export interface ControlPlaneOptions {
  /** Number of kwok fake nodes. */
  nodes?: number;
  /** etcd without fsync: fine for tests, stated wherever a benchmark figure depends on it. */
  unsafeNoFsync?: boolean;
  /** Keep the data dir after stop (for debugging). */
  keep?: boolean;
  /** Extra kube-controller-manager flags (the benchmark quiets periodic controllers). */
  controllerManagerArgs?: string[];
  /** Extra kube-scheduler flags (the benchmark raises its client QPS for a thousand pods). */
  schedulerArgs?: string[];
}

export interface ControlPlane {
  /** https://127.0.0.1:PORT */
  readonly server: string;
  /** kubeconfig file with an admin (system:masters) token user. */
  readonly kubeconfig: string;
  readonly token: string;
  /** PEM of the apiserver's self-signed serving certificate (trusted by the kubeconfig). */
  readonly caFile: string;
  readonly dir: string;
  readonly services: readonly Service[];
  /** Makes a namespace and waits until its default ServiceAccount exists (pods need it). */
  createNamespace(name: string): Promise<void>;
  /** A request to the apiserver as admin; returns the parsed JSON body. */
  request(method: string, path: string, body?: unknown, contentType?: string): Promise<ApiResponse>;
  /** An outage: kills kube-apiserver, then etcd (data dir, ports, certs and token are kept). */
  stopApiserver(): Promise<void>;
  /** Starts etcd and kube-apiserver again on the same ports, data dir, certs and token; waits for /readyz. */
  startApiserver(): Promise<void>;
  stop(): Promise<void>;
}

export interface ApiResponse {
  status: number;
  body: unknown;
}

export async function startControlPlane(opts: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const dir = await tempDir('cluster');
  const services: Service[] = [];
  const stopAll = async () => {
    for (const s of [...services].reverse()) await s.stop();
    if (!opts.keep) await removeDir(dir);
  };
  try {
    return await boot(dir, services, opts, stopAll);
  } catch (err) {
    // The data dir (and the logs in it) go away with stopAll: keep the tail of the failed log.
    const failed = services.find((s) => err instanceof Error && err.message.startsWith(s.name));
    if (failed && err instanceof Error) {
      const tail = (await readFile(failed.logFile, 'utf8').catch(() => ''))
        .trim()
        .split('\n')
        .slice(-15)
        .join('\n');
      err.message += `\n--- ${failed.name} log (tail) ---\n${tail}`;
    }
    await stopAll();
    throw err;
  }
}

async function boot(
  dir: string,
  services: Service[],
  opts: ControlPlaneOptions,
  stop: () => Promise<void>,
): Promise<ControlPlane> {
  const logDir = dir;
  const [etcdPort, etcdPeer, apiPort, kcmPort, schedPort, kwokPort] = await Promise.all(
    Array.from({ length: 6 }, freePort),
  );

  // etcd
  const etcdUrl = `http://127.0.0.1:${etcdPort}`;
  const startEtcd = () =>
    startService(
      'etcd',
      binary('etcd'),
      [
        '--data-dir',
        join(dir, 'etcd'),
        '--listen-client-urls',
        etcdUrl,
        '--advertise-client-urls',
        etcdUrl,
        '--listen-peer-urls',
        `http://127.0.0.1:${etcdPeer}`,
        '--initial-advertise-peer-urls',
        `http://127.0.0.1:${etcdPeer}`,
        '--initial-cluster',
        `default=http://127.0.0.1:${etcdPeer}`,
        ...(opts.unsafeNoFsync === false ? [] : ['--unsafe-no-fsync']),
      ],
      { logDir },
    );
  const etcdHealthy = (etcd: Service) =>
    waitFor('etcd health', async () => ((await fetch(`${etcdUrl}/health`)).ok ? true : undefined), {
      service: etcd,
      timeoutMs: 30_000,
    });
  const etcd = startEtcd();
  services.push(etcd);
  await etcdHealthy(etcd);

  // Credentials: service-account signing key and an admin token.
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const saPub = join(dir, 'sa.pub');
  const saKey = join(dir, 'sa.key');
  await writeFile(saPub, publicKey.export({ type: 'spki', format: 'pem' }));
  await writeFile(saKey, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  const token = randomBytes(24).toString('hex');
  const tokenFile = join(dir, 'tokens.csv');
  await writeFile(tokenFile, `${token},admin,admin-uid,"system:masters"\n`, { mode: 0o600 });

  // kube-apiserver
  const certDir = join(dir, 'pki');
  const startApi = () =>
    startService(
      'kube-apiserver',
      binary('kube-apiserver'),
      [
        `--etcd-servers=${etcdUrl}`,
        `--secure-port=${apiPort}`,
        '--bind-address=127.0.0.1',
        '--advertise-address=127.0.0.1',
        '--endpoint-reconciler-type=none', // it refuses a loopback advertise address otherwise
        `--cert-dir=${certDir}`,
        '--authorization-mode=Node,RBAC',
        `--token-auth-file=${tokenFile}`,
        '--service-account-issuer=https://kubernetes.default.svc',
        `--service-account-key-file=${saPub}`,
        `--service-account-signing-key-file=${saKey}`,
        '--service-cluster-ip-range=10.96.0.0/16',
        '--allow-privileged=true',
      ],
      { logDir },
    );
  const apiserver = startApi();
  services.push(apiserver);
  const server = `https://127.0.0.1:${apiPort}`;
  const caFile = join(certDir, 'apiserver.crt');
  const kubeconfig = join(dir, 'kubeconfig');
  // The serving cert appears before the port opens; /readyz needs the admin token.
  const ca = await waitFor(
    'kube-apiserver serving certificate',
    () => readFile(caFile).catch(() => undefined),
    {
      service: apiserver,
    },
  );
  await writeFile(kubeconfig, kubeconfigYaml(server, ca, token), { mode: 0o600 });
  const request = apiClient(server, ca, token);
  const apiReady = (api: Service) =>
    waitFor(
      'kube-apiserver /readyz',
      async () => ((await request('GET', '/readyz')).status === 200 ? true : undefined),
      { service: api, timeoutMs: 60_000 },
    );
  await apiReady(apiserver);

  // controller-manager, scheduler, kwok
  const common = ['--leader-elect=false', '--bind-address=127.0.0.1', `--kubeconfig=${kubeconfig}`];
  const kcm = startService(
    'kube-controller-manager',
    binary('kube-controller-manager'),
    [
      ...common,
      `--secure-port=${kcmPort}`,
      `--service-account-private-key-file=${saKey}`,
      `--root-ca-file=${caFile}`,
      '--use-service-account-credentials=false',
      ...(opts.controllerManagerArgs ?? []),
    ],
    { logDir },
  );
  const sched = startService(
    'kube-scheduler',
    binary('kube-scheduler'),
    [...common, `--secure-port=${schedPort}`, ...(opts.schedulerArgs ?? [])],
    {
      logDir,
    },
  );
  const kwok = startService(
    'kwok',
    binary('kwok'),
    [
      `--kubeconfig=${kubeconfig}`,
      '-c',
      writeKwokStages(dir),
      '--manage-all-nodes=true',
      `--server-address=127.0.0.1:${kwokPort}`,
    ],
    { logDir },
  );
  services.push(kcm, sched, kwok);

  for (let i = 0; i < (opts.nodes ?? 1); i++) {
    const res = await request('POST', '/api/v1/nodes', fakeNode(`kwok-node-${i}`));
    if (res.status !== 201)
      throw new Error(`creating a kwok node failed: ${res.status} ${JSON.stringify(res.body)}`);
  }
  await waitFor(
    'kwok nodes Ready',
    async () => {
      const res = await request('GET', '/api/v1/nodes');
      const items = (res.body as { items?: NodeLike[] }).items ?? [];
      return items.length > 0 && items.every(isReady) ? true : undefined;
    },
    { service: kwok, timeoutMs: 60_000 },
  );

  const createNamespace = async (name: string) => {
    const res = await request('POST', '/api/v1/namespaces', { metadata: { name } });
    if (res.status !== 201 && res.status !== 409)
      throw new Error(`creating namespace ${name}: ${res.status}`);
    await waitFor(
      `ServiceAccount default in ${name}`,
      async () =>
        (await request('GET', `/api/v1/namespaces/${name}/serviceaccounts/default`)).status === 200
          ? true
          : undefined,
      { service: kcm, timeoutMs: 60_000 },
    );
  };

  // The same Service slots are reused, so stop() still stops whatever runs now.
  const [etcdAt, apiAt] = [services.indexOf(etcd), services.indexOf(apiserver)];
  // An outage, not a shutdown: SIGKILL (a graceful apiserver stop waits ~10 s for open watches).
  const stopApiserver = async () => {
    for (const svc of [services[apiAt], services[etcdAt]]) {
      const stopped = svc?.stop();
      svc?.child.kill('SIGKILL');
      await stopped;
    }
  };
  const startApiserver = async () => {
    const e = startEtcd();
    services[etcdAt] = e;
    await etcdHealthy(e);
    const a = startApi();
    services[apiAt] = a;
    await apiReady(a);
  };

  return {
    server,
    kubeconfig,
    token,
    caFile,
    dir,
    services,
    createNamespace,
    request,
    stopApiserver,
    startApiserver,
    stop,
  };
}

interface NodeLike {
  status?: { conditions?: { type: string; status: string }[] };
}

function isReady(n: NodeLike): boolean {
  return n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

function fakeNode(name: string): unknown {
  const resources = { cpu: '64', memory: '256Gi', pods: '1000' };
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      annotations: { 'kwok.x-k8s.io/node': 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
      labels: { type: 'kwok', 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux' },
    },
    status: { allocatable: resources, capacity: resources },
  };
}

function kubeconfigYaml(server: string, ca: Buffer, token: string): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: local',
    '  cluster:',
    `    server: ${server}`,
    `    certificate-authority-data: ${ca.toString('base64')}`,
    'users:',
    '- name: admin',
    '  user:',
    `    token: ${token}`,
    'contexts:',
    '- name: local',
    '  context: {cluster: local, user: admin}',
    'current-context: local',
    '',
  ].join('\n');
}

/** A minimal admin client for the harness itself (the product has its own in src/kube/client.ts). */
function apiClient(server: string, ca: Buffer, token: string) {
  // Node's fetch has no per-request CA; use https with the self-signed cert as the trust root.
  return async (
    method: string,
    path: string,
    body?: unknown,
    contentType = 'application/json',
  ): Promise<ApiResponse> => {
    const { request } = await import('node:https');
    return new Promise((resolve, reject) => {
      const req = request(
        `${server}${path}`,
        {
          method,
          ca,
          headers: {
            authorization: `Bearer ${token}`,
            'content-type': contentType,
            accept: 'application/json',
          },
        },
        (res) => {
          let data = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => {
            data += d;
          });
          res.on('end', () => {
            let parsed: unknown = data;
            try {
              parsed = JSON.parse(data);
            } catch {}
            resolve({ status: res.statusCode ?? 0, body: parsed });
          });
        },
      );
      req.on('error', reject);
      req.end(body === undefined ? undefined : JSON.stringify(body));
    });
  };
}
