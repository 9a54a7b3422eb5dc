// Locates the Go-built test binaries (building them on first use) and honours KUBEBUILDER_ASSETS.
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

export type Component = 'kubernetes' | 'etcd' | 'kwok' | 'minio' | 'mc' | 'gitea' | 'flux-bench';

/** Binary name → component that builds it. */
const owner = {
  'kube-apiserver': 'kubernetes',
  'kube-controller-manager': 'kubernetes',
  'kube-scheduler': 'kubernetes',
  etcd: 'etcd',
  kwok: 'kwok',
  minio: 'minio',
  mc: 'mc',
  gitea: 'gitea',
} as const satisfies Record<string, Component>;
export type BinaryName = keyof typeof owner;

/** The pinned versions, parsed from versions.sh (the single source shared with build.sh). */
export function versions(): Record<Component, string> {
  const text = readFileSync(join(here, 'versions.sh'), 'utf8');
  const get = (name: string): string => {
    const m = new RegExp(`^${name}=(\\S+)$`, 'm').exec(text);
    if (!m?.[1]) throw new Error(`testbed/versions.sh: ${name} is not set`);
    return m[1];
  };
  return {
    kubernetes: get('KUBERNETES_VERSION'),
    etcd: get('ETCD_VERSION'),
    kwok: get('KWOK_VERSION'),
    minio: get('MINIO_VERSION'),
    mc: get('MC_VERSION'),
    gitea: get('GITEA_VERSION'),
    'flux-bench': get('FLUX_SSA_VERSION'),
  };
}

export function cacheRoot(): string {
  return process.env.GSO_CACHE ?? join(homedir(), '.cache', 'git-sync-operator');
}

/** Folder of one built component (holds bin/; kwok also stages.yaml, gitea also static/). */
export function componentDir(c: Component): string {
  return join(cacheRoot(), `${c}-${versions()[c]}`);
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Path of a binary. KUBEBUILDER_ASSETS wins when it holds the binary (envtest users); otherwise
 * the version-keyed cache, built by build.sh on first use with its progress shown.
 */
export function binary(name: BinaryName): string {
  const assets = process.env.KUBEBUILDER_ASSETS;
  if (assets && isExecutable(join(assets, name))) return join(assets, name);
  const c = owner[name];
  const dir = componentDir(c);
  if (!existsSync(join(dir, '.complete'))) build([c]);
  const path = join(dir, 'bin', name);
  if (!isExecutable(path)) throw new Error(`${path} is missing after building ${c}; remove ${dir} and retry`);
  return path;
}

/** Builds components with testbed/build.sh, streaming its progress to stderr. */
export function build(components: readonly Component[]): void {
  process.stderr.write(`building ${components.join(', ')} from Go modules into ${cacheRoot()} (once)\n`);
  const res = spawnSync('bash', [join(here, 'build.sh'), ...components], { stdio: ['ignore', 2, 2] });
  if (res.error) throw new Error(`cannot run testbed/build.sh: ${res.error.message}`);
  if (res.status !== 0)
    throw new Error(`testbed/build.sh ${components.join(' ')} failed (exit ${res.status})`);
}

/** kwok's stage definitions (node initialize/heartbeat, pod ready/complete/delete). */
export function kwokStages(): string {
  binary('kwok');
  return join(componentDir('kwok'), 'stages.yaml');
}
