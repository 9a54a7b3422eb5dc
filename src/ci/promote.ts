// CI side: the seed's serial multi-cluster rollout as one command. For each cluster in turn, copy
// all-clusters/NS/ over CLUSTER/NS/, commit, push, and wait for every Deployment of the namespace
// before touching the next cluster.
import { copyFile, mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { type Env, hostEnv } from '../config.ts';
import { parseSet } from '../manifests/load.ts';
import { runGit } from '../source/exec.ts';
import { short } from '../source/sha.ts';

const manifest = /\.(ya?ml|json)$/i;

export interface PromoteOptions {
  repo: string;
  namespace: string;
  clusters: string[];
  push: boolean;
  /**
   * git's environment (the caller's: credential helpers, ssh agent; the CLI passes its own);
   * prompts are always off. Default: the process's (see hostEnv).
   */
  env?: Env;
  /** Waits for one deployment at one sha; resolves to the outcome's state. */
  wait?: (cluster: string, deployment: string, sha: string) => Promise<'deployed' | 'failed' | 'timeout'>;
  log: (line: string) => void;
}

export interface PromoteStep {
  cluster: string;
  sha: string;
  changed: boolean;
  deployments: string[];
}

export async function promote(o: PromoteOptions): Promise<PromoteStep[]> {
  const set = await readSource(o);
  const steps: PromoteStep[] = [];
  for (const cluster of o.clusters) {
    const step = await promoteTo(o, cluster, set);
    steps.push(step);
    if (o.wait) await waitFor(o, step);
  }
  return steps;
}

/** all-clusters/NS/: its manifest files and Deployments; a broken set is refused. */
async function readSource(o: PromoteOptions): Promise<{ files: string[]; deployments: string[] }> {
  const source = join(o.repo, 'all-clusters', o.namespace);
  const files = (await readdir(source, { withFileTypes: true }))
    .filter((e) => e.isFile() && manifest.test(e.name))
    .map((e) => e.name);
  if (files.length === 0) throw new Error(`${source} has no manifests to promote`);
  const texts = await Promise.all(
    files.map(async (f) => ({ path: join(source, f), text: await readFile(join(source, f), 'utf8') })),
  );
  // Refuse to promote a broken set: the operator would reject it anyway, cluster after cluster.
  const set = parseSet(source, o.namespace, texts);
  const deployments = set.objects
    .filter((p) => p.object.kind === 'Deployment')
    .map((p) => p.object.metadata.name);
  return { files, deployments };
}

/** Copies the set into CLUSTER/NS/ (dropping files it no longer has), commits and pushes. */
async function promoteTo(
  o: PromoteOptions,
  cluster: string,
  set: { files: string[]; deployments: string[] },
): Promise<PromoteStep> {
  const source = join(o.repo, 'all-clusters', o.namespace);
  const target = join(o.repo, cluster, o.namespace);
  await mkdir(target, { recursive: true });
  for (const e of await readdir(target, { withFileTypes: true })) {
    if (e.isFile() && manifest.test(e.name) && !set.files.includes(e.name)) await rm(join(target, e.name));
  }
  for (const f of set.files) await copyFile(join(source, f), join(target, f));
  const folder = join(cluster, o.namespace);
  await git(o, ['add', '--all', '--', folder]);
  const changed = (await git(o, ['status', '--porcelain', '--', folder])).trim() !== '';
  if (changed)
    await git(o, ['commit', '--quiet', '-m', `promote ${o.namespace} to ${cluster}`, '--', folder]);
  if (o.push) await git(o, ['push', '--quiet', 'origin', 'HEAD']);
  const sha = (await git(o, ['rev-parse', 'HEAD'])).trim();
  o.log(
    `${cluster}/${o.namespace}: ${changed ? 'committed' : 'unchanged at'} ${short(sha)}${o.push ? ', pushed' : ''}`,
  );
  return { cluster, sha, changed, deployments: set.deployments };
}

/** Every Deployment of the step, in turn; the first not deployed stops the promotion. */
async function waitFor(o: PromoteOptions, step: PromoteStep): Promise<void> {
  for (const d of step.deployments) {
    const state = await (o.wait as NonNullable<PromoteOptions['wait']>)(step.cluster, d, step.sha);
    o.log(`${step.cluster}/${o.namespace}/${d}@${short(step.sha)}: ${state}`);
    if (state !== 'deployed') throw new PromoteError(step.cluster, d, state);
  }
}

export class PromoteError extends Error {
  constructor(
    readonly cluster: string,
    readonly deployment: string,
    readonly state: 'failed' | 'timeout',
  ) {
    super(
      `${cluster}: deployment ${deployment} ${state === 'failed' ? 'failed' : 'timed out'}; later clusters were not touched`,
    );
  }
}

async function git(o: { repo: string; env?: Env | undefined }, args: string[]): Promise<string> {
  const env = { ...(o.env ?? hostEnv()), GIT_TERMINAL_PROMPT: '0' };
  return (await runGit(args, { cwd: o.repo, env })).toString('utf8');
}
