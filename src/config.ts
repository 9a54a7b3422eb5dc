// Environment → typed Config. Every problem is one line naming the variable (the CLI exits 2).
// The variables, their defaults and docs are the table in config/variables.ts; this is the one module
// (with the CLI entry, which hands its env down) that may look at process.env.
import { readFileSync } from 'node:fs';
import { ConfigError } from './config/errors.ts';
import { type NotifyConfig, notifyConfig } from './config/notify.ts';
import { type Env, read, type VariableName } from './config/variables.ts';

export type { Env, VariableName } from './config/variables.ts';

export interface Config {
  /** git URL: https://, http://, ssh://, scp-style user@host:path, or file:// */
  configRepo: string;
  /** Branch to follow; undefined = the remote's default branch. */
  configBranch: string | undefined;
  managedNamespaces: string[];
  clusterName: string;
  /** Bucket for completion files; undefined = no S3 notifications. */
  s3Bucket: string | undefined;
  syncIntervalSeconds: number;
  /** Drift is found by watching the applied objects (default), not only by comparing at intervals. */
  driftWatch: boolean;
  /**
   * A healthy, up-to-date namespace is compared with the cluster this often. Undefined: never where
   * the watches hold, every poll where they do not.
   */
  driftIntervalSeconds: number | undefined;
  rolloutTimeoutSeconds: number;
  webhookSecret: string | undefined;
  /** Take over fields owned by other field managers (server-side apply force). */
  forceConflicts: boolean;
  /** Private key and known_hosts for ssh:// and scp-style repos. */
  sshKeyFile: string | undefined;
  sshKnownHostsFile: string | undefined;
  /** Where the operator keeps its git cache. */
  workDir: string;
  /** Objects applied in parallel per namespace. */
  applyConcurrency: number;
  /** Namespaces in the busy part of a pass at once (reading, planning, applying, recording). */
  namespaceConcurrency: number;
  /** Hold a Lease before writing, so replicas never apply at once. */
  leaderElection: { enabled: boolean; namespace: string; durationSeconds: number };
  /** SHARDS above 1: namespaces split over per-shard Leases (in leaderElection's namespace, for its duration). */
  sharding: { shards: number; replicas: number } | undefined;
  /** host:port of the status page, /healthz /readyz /metrics /hooks/git. */
  listen: { host: string; port: number };
  /** Commit statuses, the generic webhook, Slack, and the status page's public URL. */
  notify: NotifyConfig;
}

export { ConfigError } from './config/errors.ts';

/** DNS-1123 label, as Kubernetes requires of namespace names. */
const dnsLabel = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** A git ref name segment we accept (no spaces, no '..', no leading '-'). */
const branchName = /^(?!-)(?!.*\.\.)[A-Za-z0-9._/-]{1,200}$/;
const repoUrl = /^(https?:\/\/|ssh:\/\/|file:\/\/|git:\/\/|[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:)/;

/** pino's levels. */
const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/**
 * The process environment, for what the Operator builds before it can be handed an env (its git
 * source and Kubernetes client). Everything else gets the env the CLI entry passes down.
 */
export function hostEnv(): Env {
  return process.env;
}

/** LOG_LEVEL, checked: an unknown level would fail later in pino, unnamed. */
export function logLevel(env: Env): string {
  const level = read(env, 'LOG_LEVEL') as string;
  if (!logLevels.includes(level))
    throw new ConfigError('LOG_LEVEL', `"${level}" must be one of ${logLevels.join(', ')}`);
  return level;
}

export function loadConfig(env: Env): Config {
  const get = (name: VariableName): string | undefined => read(env, name);
  const required = (name: VariableName, hint: string): string => {
    const v = get(name);
    if (!v) throw new ConfigError(name, `is required (${hint})`);
    return v;
  };

  const configRepo = required('CONFIG_REPO', 'the git URL of the config repo');
  if (!repoUrl.test(configRepo) || configRepo.startsWith('-')) {
    throw new ConfigError('CONFIG_REPO', 'must be an https://, ssh://, file:// or user@host:path git URL');
  }
  const configBranch = get('CONFIG_BRANCH');
  if (configBranch && !branchName.test(configBranch)) {
    throw new ConfigError('CONFIG_BRANCH', `"${configBranch}" is not a valid branch name`);
  }
  const clusterName = required('CLUSTER_NAME', 'the folder of this cluster in the config repo');
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/.test(clusterName)) {
    throw new ConfigError(
      'CLUSTER_NAME',
      `"${clusterName}" must be a single folder name (letters, digits, . _ -)`,
    );
  }

  const managedNamespaces = parseNamespaces(get('MANAGED_NAMESPACES') ?? ownNamespace(env));
  const leaseNamespace = get('LEASE_NAMESPACE');
  if (leaseNamespace && !dnsLabel.test(leaseNamespace))
    throw new ConfigError(
      'LEASE_NAMESPACE',
      `"${leaseNamespace}" is not a valid namespace name (lowercase DNS label)`,
    );
  logLevel(env);

  const syncIntervalSeconds = positiveNumber(env, 'GIT_SYNC_INTERVAL') as number;
  return {
    configRepo,
    configBranch,
    managedNamespaces,
    clusterName,
    s3Bucket: get('S3_BUCKET'),
    syncIntervalSeconds,
    rolloutTimeoutSeconds: positiveNumber(env, 'ROLLOUT_TIMEOUT') as number,
    driftWatch: bool(env, 'DRIFT_WATCH'),
    driftIntervalSeconds: positiveNumber(env, 'DRIFT_INTERVAL'),
    webhookSecret: get('WEBHOOK_SECRET'),
    forceConflicts: bool(env, 'FORCE_CONFLICTS'),
    sshKeyFile: safePath(env, 'GIT_SSH_KEY_FILE'),
    sshKnownHostsFile: safePath(env, 'GIT_SSH_KNOWN_HOSTS'),
    workDir: get('GSO_WORK_DIR') as string,
    applyConcurrency: positiveInteger(env, 'APPLY_CONCURRENCY'),
    namespaceConcurrency: positiveInteger(env, 'NAMESPACE_CONCURRENCY'),
    leaderElection: {
      enabled: bool(env, 'LEADER_ELECT'),
      namespace: leaseNamespace ?? get('POD_NAMESPACE') ?? (managedNamespaces[0] as string),
      durationSeconds: positiveNumber(env, 'LEASE_DURATION') as number,
    },
    sharding: sharding(env),
    listen: listenAddress(get('LISTEN_ADDRESS') as string),
    notify: notifyConfig(get, configRepo),
  };
}

function parseNamespaces(raw: string): string[] {
  const list = [
    ...new Set(
      raw
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    ),
  ];
  if (list.length === 0) throw new ConfigError('MANAGED_NAMESPACES', 'lists no namespace');
  for (const ns of list) {
    if (!dnsLabel.test(ns)) {
      throw new ConfigError(
        'MANAGED_NAMESPACES',
        `"${ns}" is not a valid namespace name (lowercase DNS label)`,
      );
    }
  }
  return list;
}

/** The pod's own namespace: POD_NAMESPACE (downward API) or the mounted service-account file. */
function ownNamespace(env: Env): string {
  const pod = read(env, 'POD_NAMESPACE');
  if (pod) return pod;
  try {
    return readFileSync('/var/run/secrets/kubernetes.io/serviceaccount/namespace', 'utf8').trim();
  } catch {
    throw new ConfigError('MANAGED_NAMESPACES', 'is required outside a pod (a comma list of namespaces)');
  }
}

/** Node timers overflow (and then fire after 1 ms) beyond 2^31-1 ms, so seconds stay below that. */
const maxSeconds = Math.floor(0x7fffffff / 1000);

/** Seconds; undefined when neither set nor given a default in the table. */
function positiveNumber(env: Env, name: VariableName): number | undefined {
  const raw = read(env, name);
  if (!raw) return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0 || n > maxSeconds)
    throw new ConfigError(name, `"${raw}" must be a positive number of seconds, at most ${maxSeconds}`);
  return n;
}

/** A count (e.g. workers): a fraction below 1 would mean no worker at all. */
function positiveInteger(env: Env, name: VariableName): number {
  const raw = read(env, name) as string;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n <= 0) throw new ConfigError(name, `"${raw}" must be a positive integer`);
  return n;
}

/** SHARDS above 1: the shard count and the replicas sharing them; undefined: one leader does all. */
function sharding(env: Env): { shards: number; replicas: number } | undefined {
  const shards = positiveInteger(env, 'SHARDS');
  const replicas = read(env, 'SHARD_REPLICAS') ? positiveInteger(env, 'SHARD_REPLICAS') : shards;
  if (shards === 1) return undefined;
  // The shard Leases' rounds are whole thirds of it.
  if (!Number.isInteger(positiveNumber(env, 'LEASE_DURATION')))
    throw new ConfigError('LEASE_DURATION', 'must be a whole number of seconds when SHARDS is above 1');
  return { shards, replicas };
}

function bool(env: Env, name: VariableName): boolean {
  const raw = read(env, name)?.toLowerCase() ?? '';
  if (['1', 'true', 'yes'].includes(raw)) return true;
  if (['0', 'false', 'no'].includes(raw)) return false;
  throw new ConfigError(name, `"${raw}" must be true or false`);
}

/** A file path that may be placed inside git's ssh command line: no quotes or shell metacharacters. */
function safePath(env: Env, name: VariableName): string | undefined {
  const raw = read(env, name);
  if (!raw) return undefined;
  if (!/^[A-Za-z0-9._/@+-]+$/.test(raw))
    throw new ConfigError(name, 'must be a plain file path (letters, digits, . _ / @ + -)');
  return raw;
}

function listenAddress(raw: string): { host: string; port: number } {
  const m = /^(.*):(\d{1,5})$/.exec(raw);
  const port = Number(m?.[2]);
  if (!m || port > 65535)
    throw new ConfigError('LISTEN_ADDRESS', `"${raw}" must be host:port (e.g. 0.0.0.0:8080)`);
  return { host: m[1] || '0.0.0.0', port };
}
