// What a `node --cpu-prof` profile spent its time on: self time summed by function and by file
// (package), optionally up to a moment, so a bench can say what limits a figure.
// `node --import tsx bench/profile-summary.ts FILE.cpuprofile [TOP]` prints the tables.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

/** The parts of V8's .cpuprofile JSON read here (times in µs of the system's monotonic clock). */
export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface SelfTime {
  name: string;
  ms: number;
  /** Share of the samples' time in the window. */
  share: number;
}

export interface Summary {
  /** Sampled time in the window. */
  totalMs: number;
  /** Time with the main thread idle (waiting on I/O). */
  idleMs: number;
  functions: SelfTime[];
  files: SelfTime[];
}

/**
 * Self time by function and by file among the samples taken between `fromUs` and `untilUs` (the
 * profile's clock, which is `process.hrtime` in µs on Linux: the same in every process).
 */
export function summarise(
  p: CpuProfile,
  o: { top?: number; fromUs?: number; untilUs?: number } = {},
): Summary {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const fns = new Map<string, number>();
  const files = new Map<string, number>();
  let [t, total, idle] = [p.startTime, 0, 0];
  const { fromUs = 0, untilUs = Number.POSITIVE_INFINITY } = o;
  for (let i = 0; i < p.samples.length; i++) {
    t += p.timeDeltas[i] ?? 0;
    if (t > untilUs) break;
    if (t < fromUs) continue;
    const dt = (p.timeDeltas[i + 1] ?? 0) / 1000;
    const frame = byId.get(p.samples[i] as number)?.callFrame;
    if (!frame) continue;
    total += dt;
    if (frame.functionName === '(idle)') {
      idle += dt;
      continue;
    }
    const file = where(frame.url);
    add(
      fns,
      `${frame.functionName || '(anonymous)'} ${file}${frame.url ? `:${frame.lineNumber + 1}` : ''}`,
      dt,
    );
    add(files, file || frame.functionName, dt);
  }
  const busy = total - idle;
  const top = (m: Map<string, number>) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, o.top ?? 15)
      .map(([name, ms]) => ({ name, ms: Math.round(ms), share: Math.round((ms / busy) * 1000) / 1000 }));
  return { totalMs: Math.round(total), idleMs: Math.round(idle), functions: top(fns), files: top(files) };
}

const add = (m: Map<string, number>, k: string, v: number) => m.set(k, (m.get(k) ?? 0) + v);

/** A package name for node_modules, a path from the repo for our own code, `node:x` for Node's. */
function where(url: string): string {
  if (!url) return '';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const parts = url.slice(nm + 'node_modules/'.length).split('/');
    return parts[0]?.startsWith('@') ? `${parts[0]}/${parts[1]}` : (parts[0] as string);
  }
  const own = url.search(/\/(dist|src)\//);
  return own >= 0 ? url.slice(own + 1) : url.replace(/^file:\/\//, '');
}

/** The summary as lines for a log or a note. */
export function formatSummary(s: Summary): string {
  const rows = (xs: SelfTime[]) =>
    xs.map((x) => `  ${String(x.ms).padStart(7)} ms ${pct(x.share)}  ${x.name}`);
  return [
    `sampled ${s.totalMs} ms, ${s.totalMs - s.idleMs} ms busy (${s.idleMs} ms idle: waiting on I/O)`,
    'self time by function:',
    ...rows(s.functions),
    'self time by file / package:',
    ...rows(s.files),
  ].join('\n');
}

const pct = (x: number) => `${(x * 100).toFixed(1).padStart(5)}%`;

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [file, top] = process.argv.slice(2);
  if (!file) {
    process.stderr.write('usage: profile-summary.ts FILE.cpuprofile [TOP]\n');
    process.exit(2);
  }
  const profile = JSON.parse(await readFile(file, 'utf8')) as CpuProfile;
  process.stdout.write(`${formatSummary(summarise(profile, { top: Number(top ?? 15) }))}\n`);
}
