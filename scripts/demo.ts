// `npm run demo`: the whole product on a laptop. Two local clusters (control planes with kwok
// nodes), a config repo shaped like the seed's, a local S3 server and one operator per cluster;
// then this script acts as CI: commits a new image to all-clusters/, promotes it cluster by
// cluster, waits through S3, and prints a timeline. Ctrl-C stops everything it started.
// `--keep` leaves it all running afterwards and prints how to look at it, until Ctrl-C.
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { promote } from '../src/ci/promote.ts';
import { waitForDeploy } from '../src/ci/wait.ts';
import { s3Client } from '../src/notify/s3-client.ts';
import { short } from '../src/source/sha.ts';
import type { Version } from '../src/version/types.ts';
import { type ControlPlane, startControlPlane } from '../testbed/controlplane.ts';
import { operatorEnv } from '../testbed/env.ts';
import { createConfigRepo } from '../testbed/git.ts';
import { freePort, removeDir, run, tempDir } from '../testbed/proc.ts';
import { type S3Fixture, startS3 } from '../testbed/s3.ts';
import { appFiles } from '../testbed/seed.ts';

const ns = 'bedrock-demo';
const clusters = ['iowa-a', 'frankfurt'] as const;
const t0 = performance.now();
const stamp = () => `[${((performance.now() - t0) / 1000).toFixed(1).padStart(5)}s]`;
const say = (line: string) => process.stdout.write(`${stamp()} ${line}\n`);
const cleanups: (() => Promise<void>)[] = [];
let stopping = false;

async function shutdown(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    for (const c of cleanups.reverse()) await c().catch(() => {});
  }
  process.exit(code);
}
/** Ctrl-C (SIGINT to the whole process group) or SIGTERM: stop everything, saying so. */
function onSignal(code: number): void {
  if (!stopping) say('stopping the operators, S3, git and the clusters');
  void shutdown(code);
}
process.on('SIGINT', () => onSignal(130));
process.on('SIGTERM', () => onSignal(143));

/** `--keep`: leave the clusters, S3 and operators running after the promotion, until Ctrl-C. */
function keepAsked(): boolean {
  try {
    return (
      parseArgs({ args: process.argv.slice(2), options: { keep: { type: 'boolean' } } }).values.keep === true
    );
  } catch (err) {
    const why = (err as Error).message.split('. ')[0] ?? '';
    process.stderr.write(
      `demo: ${why.charAt(0).toLowerCase()}${why.slice(1)} (the demo takes only --keep)\n`,
    );
    process.exit(2);
  }
}
const keep = keepAsked();

async function main(): Promise<void> {
  say('starting two local clusters, an S3 server and a git repo (binaries are built on first use)');
  const work = await tempDir('demo');
  cleanups.push(() => removeDir(work));
  const cps: Record<string, ControlPlane> = {};
  for (const c of clusters) {
    cps[c] = await startControlPlane();
    cleanups.push(() => (cps[c] as ControlPlane).stop());
    await (cps[c] as ControlPlane).createNamespace(ns);
  }
  const s3 = await startS3({ bucket: 'deploy-status' });
  cleanups.push(() => s3.stop());
  const v1 = { image: 'mozmeao/bedrock:v1', replicas: 3 };
  const repo = await createConfigRepo({
    'README.md': '# www-config (demo)\n',
    ...appFiles(`all-clusters/${ns}`, 'bedrock', v1),
    ...appFiles(`iowa-a/${ns}`, 'bedrock', v1),
    ...appFiles(`frankfurt/${ns}`, 'bedrock', v1),
  });
  cleanups.push(() => repo.stop());
  say(`S3 ${s3.endpoint} (bucket ${s3.bucket}); config repo ${repo.fileUrl}`);

  // One operator per cluster, as a real `git-sync-operator run` process with a PutObject-only key.
  const kept: Kept[] = [];
  // Both at once: an operator whose apiserver got the terminal's SIGINT too may need the whole grace.
  cleanups.push(async () => void (await Promise.all(kept.map((k) => stopChild(k.child)))));
  for (const c of clusters) {
    const cp = cps[c] as ControlPlane;
    const log = join(work, `operator-${c}.log`);
    // A known port: --keep prints each operator's status page.
    const page = `http://127.0.0.1:${await freePort()}/`;
    const child = spawn(process.execPath, ['bin/git-sync-operator.js', 'run'], {
      env: {
        ...process.env,
        ...operatorEnv({ repo, s3, cp, cluster: c, namespaces: [ns] }),
        LISTEN_ADDRESS: new URL(page).host,
        STATUS_PAGE_URL: page,
        GSO_WORK_DIR: join(work, `op-${c}`),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out = createWriteStream(log);
    child.stdout.pipe(out);
    child.stderr.pipe(out);
    kept.push({ cluster: c, kubeconfig: cp.kubeconfig, page, log, child });
    say(`operator for ${c} started (logs: ${log})`);
  }

  const ci = s3Client({
    AWS_ACCESS_KEY_ID: s3.admin.accessKeyId,
    AWS_SECRET_ACCESS_KEY: s3.admin.secretAccessKey,
    AWS_REGION: s3.region,
    AWS_ENDPOINT_URL_S3: s3.endpoint,
  });
  const waitFile = (cluster: string, sha: string) =>
    waitForDeploy(
      ci,
      { bucket: s3.bucket, cluster, namespace: ns, deployment: 'bedrock', sha },
      { timeoutMs: 180_000, intervalMs: 200 },
    );

  const initial = await repo.head();
  for (const c of clusters) {
    const r = await waitFile(c, initial);
    if (r.state !== 'deployed') throw new Error(`initial sync of ${c}: ${r.state}`);
    say(`${c}/${ns} is live at ${short(initial)} (S3 file ${r.key})`);
  }

  // CI: a developer's change lands in all-clusters/, then is promoted cluster by cluster.
  const clone = join(work, 'ci-clone');
  await run('git', ['clone', '--quiet', repo.fileUrl, clone]);
  const deploy = join(clone, 'all-clusters', ns, 'deploy.yaml');
  await writeFile(
    deploy,
    (await readFile(deploy, 'utf8')).replace('mozmeao/bedrock:v1', 'mozmeao/bedrock:v2'),
  );
  // CI's git identity (promote commits with it too).
  Object.assign(process.env, {
    GIT_AUTHOR_NAME: 'ci',
    GIT_AUTHOR_EMAIL: 'ci@example.invalid',
    GIT_COMMITTER_NAME: 'ci',
    GIT_COMMITTER_EMAIL: 'ci@example.invalid',
  });
  await run('git', ['-C', clone, 'commit', '--quiet', '-am', 'bedrock v2 to all-clusters']);
  say('CI: committed image mozmeao/bedrock:v2 to all-clusters/; promoting to iowa-a, then frankfurt');

  const timeline: Entry[] = [];
  await promote({
    repo: clone,
    namespace: ns,
    clusters: [...clusters],
    push: true,
    log: (line) => say(`promote: ${line}`),
    wait: async (cluster, _deployment, sha) => {
      const entry: Entry = { cluster, sha, pushed: performance.now() };
      timeline.push(entry);
      const cp = cps[cluster] as ControlPlane;
      const watchVersion = (async () => {
        while (entry.deployed === undefined && !stopping) {
          const res = await cp.request(
            'GET',
            `/apis/versions.mozilla.org/v1/namespaces/${ns}/versions/${ns}`,
          );
          const v = res.body as Version;
          if (v.applied === short(sha) && entry.applied === undefined) {
            entry.applied = performance.now();
            say(`  ${cluster}: applied ${short(sha)}`);
          }
          if (v.deployed === short(sha)) {
            entry.deployed = performance.now();
            say(`  ${cluster}: all pods ready, deployed ${short(sha)}`);
          }
          await sleep(50);
        }
      })();
      const r = await waitFile(cluster, sha);
      entry.s3 = performance.now();
      await watchVersion;
      say(`  ${cluster}: CI saw s3://${s3.bucket}/${r.key}: ${r.state}`);
      return r.state;
    },
  });

  const secs = (a?: number, b?: number) =>
    a !== undefined && b !== undefined ? `${((b - a) / 1000).toFixed(2)} s` : '—';
  process.stdout.write(
    '\ntimeline (from push)\ncluster     sha      applied   healthy   S3 file seen by CI\n',
  );
  for (const e of timeline) {
    process.stdout.write(
      `${e.cluster.padEnd(11)} ${short(e.sha)}  ${secs(e.pushed, e.applied).padEnd(9)} ${secs(e.pushed, e.deployed).padEnd(9)} ${secs(e.pushed, e.s3)}\n`,
    );
  }
  say('demo finished: both clusters run mozmeao/bedrock:v2, promoted serially through S3');
  if (keep) await keepRunning(kept, s3, repo.fileUrl);
}

/** What --keep prints of each cluster. */
interface Kept {
  cluster: string;
  kubeconfig: string;
  page: string;
  log: string;
  child: ChildProcess;
}

/** Prints how to look at what runs, then waits for Ctrl-C (SIGINT/SIGTERM: shutdown stops it all). */
async function keepRunning(kept: readonly Kept[], s3: S3Fixture, repoUrl: string): Promise<never> {
  const col = (label: string) => `  ${label.padEnd(11)}`;
  const more = ' '.repeat(13);
  const lines = ['', 'still running (--keep); in another shell, from this folder:'];
  for (const k of kept)
    lines.push(
      `${col(k.cluster)}kubectl --kubeconfig ${k.kubeconfig} get versions -A`,
      `${more}status page ${k.page}`,
      `${more}operator log ${k.log}`,
    );
  // MinIO's root user of this run: a throw-away test key, fine to print.
  const env = [
    `AWS_ENDPOINT_URL_S3=${s3.endpoint}`,
    `AWS_REGION=${s3.region}`,
    `AWS_ACCESS_KEY_ID=${s3.admin.accessKeyId}`,
    `AWS_SECRET_ACCESS_KEY=${s3.admin.secretAccessKey}`,
  ];
  lines.push(
    `${col('S3')}what is live where (MinIO's test admin key; any key with s3:ListBucket + s3:GetObject will do):`,
    `${more}${env.join(' ')} \\`,
    `${more}  npx node bin/git-sync-operator.js status --bucket ${s3.bucket} --output matrix`,
    `${col('git')}git clone ${repoUrl}   (push to it: the operators poll every second)`,
    '',
    'Ctrl-C to stop',
    '',
  );
  process.stdout.write(lines.join('\n'));
  for (const k of kept)
    k.child.once('exit', (code, signal) => {
      if (!stopping) say(`operator for ${k.cluster} exited (${signal ?? `code ${code}`}); see ${k.log}`);
    });
  // Held open by the children's pipes; ends only through shutdown() (process.exit).
  return new Promise<never>(() => {});
}

interface Entry {
  cluster: string;
  sha: string;
  pushed: number;
  applied?: number;
  deployed?: number;
  s3?: number;
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  child.kill('SIGTERM');
  await Promise.race([new Promise((r) => child.once('exit', r)), sleep(10_000)]);
  if (child.exitCode === null) child.kill('SIGKILL');
}

main().then(
  () => shutdown(0),
  (err: unknown) => {
    process.stderr.write(`demo failed: ${(err as Error).message}\n`);
    return shutdown(1);
  },
);
