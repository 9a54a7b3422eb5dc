// big repo: a config repo of 100,000 files and 2,000 commits where this cluster's namespace folder
// holds 50 files. Bytes fetched and time to first apply (`sync --once --no-wait`), partial fetch
// (the server allows filters) against the whole tree (the same repo served with filters refused).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { run as runCmd } from '../../testbed/proc.ts';
import { mix } from '../objects.ts';
import {
  type Bench,
  cluster,
  createNamespace,
  type LogLine,
  log,
  median,
  quick,
  type Result,
  round,
  timed,
} from '../setup.ts';

export const name = 'big repo';

const totalFiles = 100_000;
const commits = 2_000;
const ourFiles = 50;
const reps = quick ? 1 : 3;
/** Other clusters' folders: 200 clusters × 10 namespaces × 50 files. */
const otherPath = (i: number) => `cluster-${i % 200}/ns-${Math.floor(i / 200) % 10}/file-${i}.yaml`;

export async function run(b: Bench): Promise<Result[]> {
  const bare = join(b.work, 'big-repo.git');
  const namespaces = ['big-warm'].concat(
    Array.from({ length: reps }, (_, r) => ['p', 'w'].map((m) => `big-${m}-${r}`)).flat(),
  );
  const t0 = performance.now();
  await build(bare, namespaces);
  log(`big repo built in ${round((performance.now() - t0) / 1000)} s`);
  for (const ns of namespaces) await createNamespace(b, ns);
  // Unmeasured: the first apply to this control plane pays for its cold start (about 2 s).
  await firstApply(b, bare, 'big-warm');
  const m: Record<'partial' | 'whole', { bytes: number[]; seconds: number[]; reconcile: number[] }> = {
    partial: { bytes: [], seconds: [], reconcile: [] },
    whole: { bytes: [], seconds: [], reconcile: [] },
  };
  for (let r = 0; r < reps; r++) {
    for (const [mode, ns] of [
      ['partial', `big-p-${r}`],
      ['whole', `big-w-${r}`],
    ] as const) {
      await git(['--git-dir', bare, 'config', 'uploadpack.allowFilter', String(mode === 'partial')]);
      const one = await firstApply(b, bare, ns);
      const filterNotice = one.lines.some((l) => /does not allow filters/.test(l.msg));
      if (filterNotice !== (mode === 'whole'))
        throw new Error(`big repo ${mode}: filter notice ${filterNotice}`);
      m[mode].bytes.push(one.bytes);
      m[mode].seconds.push(one.seconds);
      m[mode].reconcile.push(one.reconcile);
      log(`big repo ${mode}: ${JSON.stringify({ ...one, lines: one.lines.length })}`);
    }
  }
  return results(m);
}

function results(
  m: Record<'partial' | 'whole', { bytes: number[]; seconds: number[]; reconcile: number[] }>,
): Result[] {
  const mib = (x: number) => round(x / 2 ** 20);
  const [pb, wb] = [median(m.partial.bytes), median(m.whole.bytes)];
  const [ps, ws] = [median(m.partial.seconds), median(m.whole.seconds)];
  const note = `${totalFiles.toLocaleString('en')} files, ${commits.toLocaleString('en')} commits, ${ourFiles} in the namespace's folder; file://, median of ${reps}`;
  return [
    {
      measure: 'big repo: fetched, partial',
      value: mib(pb),
      unit: 'MiB',
      ratios: { 'whole/partial': round(wb / pb) },
      note,
    },
    {
      measure: 'big repo: fetched, whole tree',
      value: mib(wb),
      unit: 'MiB',
      note: 'filters refused by the server',
    },
    {
      measure: 'big repo: first apply, partial',
      value: round(ps),
      unit: 's',
      ratios: { 'whole/partial': round(ws / ps) },
      note: `sync --once --no-wait; reconcile ${round(median(m.partial.reconcile))} s`,
    },
    {
      measure: 'big repo: first apply, whole tree',
      value: round(ws),
      unit: 's',
      note: `reconcile ${round(median(m.whole.reconcile))} s`,
    },
  ];
}

/** One `sync --once --no-wait` of `ns` with a fresh cache: its wall time, its cache's object bytes. */
async function firstApply(
  b: Bench,
  bare: string,
  ns: string,
): Promise<{ seconds: number; bytes: number; reconcile: number; lines: LogLine[] }> {
  const workDir = join(b.work, `op-${ns}`);
  let stdout = '';
  const seconds = await timed(b, async () => {
    ({ stdout } = await runCmd(process.execPath, ['dist/cli/index.js', 'sync', '--once', '--no-wait'], {
      env: {
        ...process.env,
        CONFIG_REPO: `file://${bare}`,
        CLUSTER_NAME: cluster,
        MANAGED_NAMESPACES: ns,
        KUBECONFIG: b.cp.kubeconfig,
        GSO_WORK_DIR: workDir,
        LEADER_ELECT: 'false',
        LOG_LEVEL: 'info',
      },
    }));
  });
  const lines = stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as LogLine);
  const from = lines.find((l) => l.msg === 'new commit');
  const to = lines.filter((l) => l.msg === 'applied').pop();
  if (!to) throw new Error(`big repo: ${ns} was not applied:\n${stdout}`);
  const reconcile = from ? (Date.parse(to.time) - Date.parse(from.time)) / 1000 : 0;
  return { seconds, bytes: await bytesIn(join(workDir, 'repo.git', 'objects')), reconcile, lines };
}

async function bytesIn(dir: string): Promise<number> {
  let total = 0;
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true }))
    if (e.isFile()) total += (await stat(join(e.parentPath, e.name))).size;
  return total;
}

const git = (args: string[]) =>
  runCmd('git', args, { env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null' } });

/** The repo through one `git fast-import`: all files in the first commit, then small commits. */
async function build(bare: string, namespaces: readonly string[]): Promise<void> {
  await git(['-c', 'init.defaultBranch=main', 'init', '--quiet', '--bare', bare]);
  const child = spawn('git', ['--git-dir', bare, 'fast-import', '--quiet'], {
    env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null' },
    stdio: ['pipe', 'ignore', 'inherit'],
  });
  const done = new Promise<void>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`git fast-import exited ${code}`)),
    );
  });
  const write = async (s: string) => {
    if (!child.stdin.write(s)) await new Promise((r) => child.stdin.once('drain', r));
  };
  const others = totalFiles - ourFiles * namespaces.length;
  const first: [string, string][] = [];
  for (let i = 0; i < others; i++) first.push([otherPath(i), configMap(i)]);
  for (const ns of namespaces) {
    const objects = mix(ourFiles, ns);
    for (const [i, o] of objects.entries())
      first.push([`${cluster}/${ns}/${String(i).padStart(2, '0')}.yaml`, JSON.stringify(o)]);
  }
  await write(commit(1, 'all clusters', first));
  for (let c = 2; c <= commits; c++) {
    const changed: [string, string][] = [];
    for (let k = 0; k < 10; k++) {
      const i = Math.floor(Math.random() * others);
      changed.push([otherPath(i), configMap(i)]);
    }
    await write(commit(c, `change ${c}`, changed));
  }
  child.stdin.end();
  await done;
}

/** A fast-import commit on main (each one follows the previous). ASCII only: lengths are bytes. */
function commit(n: number, message: string, files: readonly [string, string][]): string {
  const parts = [
    `commit refs/heads/main\ncommitter bench <bench@example.invalid> ${1_700_000_000 + n * 60} +0000\ndata ${message.length}\n${message}\n`,
  ];
  for (const [path, content] of files)
    parts.push(`M 100644 inline ${path}\ndata ${content.length}\n${content}\n`);
  return `${parts.join('')}\n`;
}

/** A ~500-byte ConfigMap, mostly random (it does not compress to nothing). */
function configMap(i: number): string {
  const data = Array.from({ length: 6 }, (_, k) => `  key${k}: ${randomBytes(48).toString('base64')}`);
  return `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-${i}\ndata:\n${data.join('\n')}\n`;
}
