// `npm run bench [-- --quick]`: every figure measured in one run, on one fresh local control plane
// (etcd without fsync), side by side: git-sync-operator, kubectl apply (client- and server-side),
// Flux's apply engine (fluxcd/pkg/ssa) and raw server-side-apply PATCHes (the floor).
// `-- --only NAME[,NAME]` runs some measures (a later one may need what an earlier one applied).
// `-- --save` also writes the results with the machine to bench/results/ (committed, quoted by the
// README); bench/results.json is always the latest run's scratch output.
import { writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { removeDir, tempDir } from '../testbed/proc.ts';
import * as bigRepo from './measures/big-repo.ts';
import * as coldApply from './measures/cold-apply.ts';
import * as drift from './measures/drift.ts';
import * as idleMemory from './measures/idle-memory.ts';
import * as latency from './measures/latency.ts';
import * as namespaces from './measures/namespaces.ts';
import * as prune from './measures/prune.ts';
import * as resync from './measures/resync.ts';
import * as scale from './measures/scale.ts';
import { saveRun } from './save.ts';
import { type Bench, log, type Measure, quick, type Result, secondsSinceStart, startBench } from './setup.ts';

/** In the order they run: resync re-applies what cold apply applied; namespaces has its own control plane. */
const measures: Measure[] = [
  coldApply,
  resync,
  idleMemory,
  drift,
  latency,
  scale,
  prune,
  namespaces,
  bigRepo,
];

const only = process.argv.includes('--only')
  ? (process.argv[process.argv.indexOf('--only') + 1] ?? '').split(',')
  : undefined;

const started: Partial<Bench> = {};
let work: string | undefined;

async function main(): Promise<void> {
  work = await tempDir('bench');
  const b = await startBench(work, (s) => Object.assign(started, s));
  const results: Result[] = [];
  for (const m of measures) {
    if (only && !only.includes(m.name)) continue;
    results.push(...(await m.run(b)));
    log(`${m.name} done`);
  }
  await writeFile(
    'bench/results.json',
    `${JSON.stringify({ date: new Date().toISOString(), quick, seconds: secondsSinceStart(), machine: { cpus: cpus().length, memGiB: Math.round(totalmem() / 2 ** 30) }, results }, null, 2)}\n`,
  );
  if (process.argv.includes('--save'))
    log(`saved ${await saveRun(b, { quick, only, seconds: secondsSinceStart(), results })}`);
  printTable(results);
}

function printTable(results: Result[]): void {
  const w = Math.max(...results.map((r) => r.measure.length));
  process.stdout.write(`\n${'measure'.padEnd(w)}  value       ratios / note\n`);
  for (const r of results) {
    const ratios =
      r.ratios && Object.keys(r.ratios).length
        ? Object.entries(r.ratios)
            .map(([k, v]) => `${k} ${v}×`)
            .join(', ')
        : '';
    process.stdout.write(
      `${r.measure.padEnd(w)}  ${`${r.value} ${r.unit}`.padEnd(11)} ${[ratios, r.note].filter(Boolean).join('; ')}\n`,
    );
  }
}

// Ctrl-C still stops the control plane and operators this run started.
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => process.exit(130));

try {
  await main();
} catch (err) {
  process.stderr.write(`bench failed: ${(err as Error).stack}\n`);
  process.exitCode = 1;
} finally {
  await started.cp?.stop();
  await started.repo?.stop();
  if (work) await removeDir(work);
}
