// `npm run bench -- --save`: the run's results with the machine they were measured on, in a file
// under bench/results/ that is committed and quoted by the README (bench/results.json is scratch).
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { run as exec } from '../testbed/proc.ts';
import type { Bench, Result } from './setup.ts';

export interface Run {
  quick: boolean;
  /** The measures run (`--only`), or undefined for all. */
  only?: string[];
  seconds: number;
  results: Result[];
}

/** Writes bench/results/<date>-<full|quick>[-<only>].json and returns its path. */
export async function saveRun(b: Bench, run: Run): Promise<string> {
  const date = new Date();
  const kind = run.quick ? 'quick' : 'full';
  const suffix = run.only ? `-${run.only.map((n) => n.replace(/\W+/g, '-')).join('_')}` : '';
  const dir = join('bench', 'results');
  const path = join(dir, `${date.toISOString().slice(0, 10)}-${kind}${suffix}.json`);
  await mkdir(dir, { recursive: true });
  const doc = {
    date: date.toISOString(),
    kind,
    only: run.only,
    seconds: run.seconds,
    machine: await machine(b),
    results: run.results,
  };
  await writeFile(path, `${JSON.stringify(doc, null, 2)}\n`);
  // As `npm run lint` wants a tracked file.
  await exec(process.execPath, ['node_modules/@biomejs/biome/bin/biome', 'format', '--write', path]);
  return path;
}

async function machine(b: Bench) {
  const version = (await b.cp.request('GET', '/version')).body as { gitVersion?: string };
  return {
    cpus: cpus().length,
    model: cpus()[0]?.model,
    memGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    kube: version.gitVersion,
  };
}
