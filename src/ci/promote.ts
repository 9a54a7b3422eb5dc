// CI side: the seed's serial multi-cluster rollout as one command. For each cluster in turn, copy
// all-clusters/NS/ over CLUSTER/NS/, commit, push, and wait for every Deployment of the namespace
// before touching the next cluster.
import { copyFile, mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { parseSet } from '../manifests/load.ts';
import { runGit } from '../source/exec.ts';

const manifest = /\.(ya?ml|json)$/i;

export interface PromoteOptions {
  repo: string;
  namespace: string;
  clusters: string[];
  push: boolean;
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

  const steps: PromoteStep[] = [];
  for (const cluster of o.clusters) {
    const target = join(o.repo, cluster, o.namespace);
    await mkdir(target, { recursive: true });
    for (const e of await readdir(target, { withFileTypes: true })) {
      if (e.isFile() && manifest.test(e.name) && !files.includes(e.name)) await rm(join(target, e.name));
    }
    for (const f of files) await copyFile(join(source, f), join(target, f));
    await git(o.repo, ['add', '--all', '--', join(cluster, o.namespace)]);
    const changed =
      (await git(o.repo, ['status', '--porcelain', '--', join(cluster, o.namespace)])).trim() !== '';
    if (changed)
      await git(o.repo, [
        'commit',
        '--quiet',
        '-m',
        `promote ${o.namespace} to ${cluster}`,
        '--',
        join(cluster, o.namespace),
      ]);
    if (o.push) await git(o.repo, ['push', '--quiet', 'origin', 'HEAD']);
    const sha = (await git(o.repo, ['rev-parse', 'HEAD'])).trim();
    o.log(
      `${cluster}/${o.namespace}: ${changed ? 'committed' : 'unchanged at'} ${sha.slice(0, 7)}${o.push ? ', pushed' : ''}`,
    );
    steps.push({ cluster, sha, changed, deployments });
    if (o.wait) {
      for (const d of deployments) {
        const state = await o.wait(cluster, d, sha);
        o.log(`${cluster}/${o.namespace}/${d}@${sha.slice(0, 7)}: ${state}`);
        if (state !== 'deployed') throw new PromoteError(cluster, d, state);
      }
    }
  }
  return steps;
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

async function git(cwd: string, args: string[]): Promise<string> {
  return (await runGit(args, { cwd, env: { ...process.env, GIT_TERMINAL_PROMPT: '0' } })).toString('utf8');
}
