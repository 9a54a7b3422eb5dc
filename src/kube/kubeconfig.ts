// Where the apiserver is and how to authenticate, resolved as kubectl does: $KUBECONFIG (a list,
// merged: the first file to name an entry wins), else ~/.kube/config, else the pod's service
// account. Static credentials (bearer token or token file, client certificate, basic auth) are
// read here; anything else (exec plugins, auth providers, proxies) goes to @kubernetes/client-node,
// imported only then: importing it costs each process ~0.8 s and ~85 MB (measured with
// `/usr/bin/time node -e "await import('@kubernetes/client-node')"`).

import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, isAbsolute, join } from 'node:path';
import { parse } from 'yaml';
import { read } from '../config/variables.ts';
import { type Env, hostEnv } from '../config.ts';

/** TLS material and request headers for one round of requests (re-read now and then). */
export interface Credentials {
  headers: Record<string, string>;
  /** "user:password" for basic auth. */
  basic?: string | undefined;
  tls: {
    ca?: string | Buffer | undefined;
    cert?: string | Buffer | undefined;
    key?: string | Buffer | undefined;
    servername?: string | undefined;
    rejectUnauthorized?: boolean | undefined;
  };
}

export interface Endpoint {
  server: string;
  /** The current context's namespace (the pod's own in a cluster). */
  namespace: string | undefined;
  /** Where the credentials came from, for error messages (never the credentials). */
  source: string;
  credentials(): Promise<Credentials>;
}

/** Service-account files a pod gets (a parameter for tests). */
export const serviceAccountDir = '/var/run/secrets/kubernetes.io/serviceaccount';

type Entry = Record<string, unknown>;
interface Named {
  name: string;
  [k: string]: unknown;
}
interface Merged {
  currentContext: string | undefined;
  clusters: Map<string, { entry: Entry; dir: string }>;
  users: Map<string, { entry: Entry; dir: string }>;
  contexts: Map<string, Entry>;
}

/** Keys of a cluster and a user entry this module handles itself; any other sends us to client-node. */
const staticCluster = new Set([
  'server',
  'certificate-authority',
  'certificate-authority-data',
  'insecure-skip-tls-verify',
  'tls-server-name',
  'extensions',
]);
const staticUser = new Set([
  'token',
  'tokenFile',
  'client-certificate',
  'client-certificate-data',
  'client-key',
  'client-key-data',
  'username',
  'password',
  'extensions',
]);

export function resolveEndpoint(
  opts: { kubeconfig?: string | undefined; env?: Env | undefined; saDir?: string } = {},
): Endpoint {
  const env = opts.env ?? hostEnv();
  const explicit = opts.kubeconfig ?? env.KUBECONFIG;
  const files = explicit
    ? explicit.split(delimiter).filter(Boolean)
    : [join(homedir(), '.kube', 'config')].filter((f) => existsSync(f));
  if (files.length > 0) return fromFiles(files);
  const host = env.KUBERNETES_SERVICE_HOST;
  const saDir = opts.saDir ?? serviceAccountDir;
  if (host && existsSync(join(saDir, 'token')))
    return inCluster(host, read(env, 'KUBERNETES_SERVICE_PORT'), saDir);
  throw new Error(
    'no kubeconfig: set KUBECONFIG, create ~/.kube/config, or run in a pod with a service account',
  );
}

function inCluster(host: string, port: string | undefined, saDir: string): Endpoint {
  const h = host.includes(':') ? `[${host}]` : host;
  const ca = readFileSync(join(saDir, 'ca.crt'));
  const nsFile = join(saDir, 'namespace');
  return {
    server: `https://${h}:${port ?? '443'}`,
    namespace: existsSync(nsFile) ? readFileSync(nsFile, 'utf8').trim() || undefined : undefined,
    source: 'in-cluster service account',
    // Bound tokens rotate: read again at every refresh.
    credentials: async () => ({
      headers: { authorization: `Bearer ${readFileSync(join(saDir, 'token'), 'utf8').trim()}` },
      tls: { ca },
    }),
  };
}

function fromFiles(files: string[]): Endpoint {
  const m = merge(files);
  const source = `kubeconfig ${files.join(delimiter)}`;
  if (!m.currentContext) throw new Error(`${source}: no current-context`);
  const context = m.contexts.get(m.currentContext);
  if (!context) throw new Error(`${source}: context "${m.currentContext}" is not defined`);
  const cluster = m.clusters.get(String(context.cluster ?? ''));
  if (!cluster) throw new Error(`${source}: cluster "${String(context.cluster)}" is not defined`);
  const server = cluster.entry.server;
  if (typeof server !== 'string' || !server) throw new Error(`${source}: cluster has no server`);
  const user = m.users.get(String(context.user ?? '')) ?? { entry: {}, dir: cluster.dir };
  const simple =
    Object.keys(cluster.entry).every((k) => staticCluster.has(k)) &&
    Object.keys(user.entry).every((k) => staticUser.has(k));
  return {
    server: server.replace(/\/$/, ''),
    namespace: typeof context.namespace === 'string' ? context.namespace : undefined,
    source,
    credentials: simple ? async () => staticCredentials(cluster, user) : clientNodeCredentials(files),
  };
}

function merge(files: string[]): Merged {
  const m: Merged = { currentContext: undefined, clusters: new Map(), users: new Map(), contexts: new Map() };
  for (const file of files) {
    if (!existsSync(file)) continue; // kubectl skips missing files of the list too
    mergeFile(m, file);
  }
  return m;
}

function mergeFile(m: Merged, file: string): void {
  const doc = (parse(readFileSync(file, 'utf8')) ?? {}) as Record<string, unknown>;
  const dir = dirname(file);
  m.currentContext ??= (doc['current-context'] as string | undefined) || undefined;
  keepFirst(m.clusters, doc.clusters, (c) => ({ entry: (c.cluster ?? {}) as Entry, dir }));
  keepFirst(m.users, doc.users, (u) => ({ entry: (u.user ?? {}) as Entry, dir }));
  keepFirst(m.contexts, doc.contexts, (c) => (c.context ?? {}) as Entry);
}

/** Adds the named entries of a list not already in `into`: the first file to name one wins. */
function keepFirst<T>(into: Map<string, T>, list: unknown, value: (named: Named) => T): void {
  for (const item of (list ?? []) as Named[]) if (!into.has(item.name)) into.set(item.name, value(item));
}

/** `<field>-data` (base64) or `<field>` (a path, relative to the file that named it). */
function material(e: { entry: Entry; dir: string }, field: string): Buffer | undefined {
  const data = e.entry[`${field}-data`];
  if (typeof data === 'string' && data) return Buffer.from(data, 'base64');
  const path = e.entry[field];
  if (typeof path === 'string' && path) return readFileSync(isAbsolute(path) ? path : join(e.dir, path));
  return undefined;
}

function staticCredentials(
  cluster: { entry: Entry; dir: string },
  user: { entry: Entry; dir: string },
): Credentials {
  const u = user.entry;
  const headers: Record<string, string> = {};
  const tokenFile = typeof u.tokenFile === 'string' && u.tokenFile ? u.tokenFile : undefined;
  const token = tokenFile
    ? readFileSync(isAbsolute(tokenFile) ? tokenFile : join(user.dir, tokenFile), 'utf8').trim()
    : u.token;
  if (typeof token === 'string' && token) headers.authorization = `Bearer ${token}`;
  const basic =
    typeof u.username === 'string' && u.username ? `${u.username}:${String(u.password ?? '')}` : undefined;
  return {
    headers,
    basic,
    tls: {
      ca: material(cluster, 'certificate-authority'),
      cert: material(user, 'client-certificate'),
      key: material(user, 'client-key'),
      servername:
        typeof cluster.entry['tls-server-name'] === 'string' ? cluster.entry['tls-server-name'] : undefined,
      rejectUnauthorized: cluster.entry['insecure-skip-tls-verify'] === true ? false : undefined,
    },
  };
}

/** Exec plugins, auth providers and the rest: client-node's own implementation, loaded on first use. */
function clientNodeCredentials(files: string[]): () => Promise<Credentials> {
  let kc: Promise<import('@kubernetes/client-node').KubeConfig> | undefined;
  return async () => {
    kc ??= import('@kubernetes/client-node').then(({ KubeConfig }) => {
      const k = new KubeConfig();
      // A list can only have come from $KUBECONFIG, which loadFromDefault merges the same way.
      if (files.length === 1) k.loadFromFile(files[0] as string);
      else k.loadFromDefault();
      return k;
    });
    const o: import('node:https').RequestOptions = { headers: {} };
    await (await kc).applyToHTTPSOptions(o);
    (o.agent as import('node:https').Agent | undefined)?.destroy(); // the throw-away agent it made
    return {
      headers: { ...(o.headers as Record<string, string>) },
      basic: o.auth ?? undefined,
      tls: {
        ca: o.ca as Buffer | undefined,
        cert: o.cert as Buffer | undefined,
        key: o.key as Buffer | undefined,
        servername: o.servername,
        rejectUnauthorized: o.rejectUnauthorized,
      },
    };
  };
}
